"""The live web dashboard (issue 10): watch and steer a fleet from a browser.

``foreman dashboard`` serves it on its own; ``foreman run`` and ``demo.py`` start it beside the
fleet (``--dashboard-port``, ``--no-dashboard``). It reads the same database as the fleet, so it
shows workers in one process, in ``--processes`` and in other shells alike. See docs/dashboard.md.
"""

from foreman.dashboard.app import ACTOR, TOKEN_HEADER, DashboardSettings, create_app
from foreman.dashboard.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    Dashboard,
    DashboardError,
    is_loopback,
    open_dashboard,
    serving_in_process,
)
from foreman.dashboard.token import control_token, token_path

__all__ = [
    "ACTOR",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "TOKEN_HEADER",
    "Dashboard",
    "DashboardError",
    "DashboardSettings",
    "control_token",
    "create_app",
    "is_loopback",
    "open_dashboard",
    "serving_in_process",
    "token_path",
]
