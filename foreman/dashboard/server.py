"""Serving the dashboard: bind the port first (a busy port is one clear error), then run uvicorn,
in the caller's event loop (``foreman dashboard``) or in a process of its own beside a fleet
(``foreman run``, ``demo.py``), so rendering pages never delays the fleet.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import multiprocessing as mp
import os
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from foreman.dashboard.app import DashboardSettings, create_app
from foreman.dashboard.token import control_token
from foreman.runtime.plans import PLANS_DIR

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765  #: as amplifier-swarm's dashboard (seed 004)
SHUTDOWN_GRACE = 1.0  # seconds open streams get at shutdown before they are cut
STARTUP_TIMEOUT = 30.0  # seconds to wait for the dashboard's process to start serving
STARTUP_POLL = 0.02  # seconds between looks at whether it serves
ORPHAN_POLL = 1.0  # seconds between the dashboard process's looks at whether its parent still lives


class DashboardError(Exception):
    """The dashboard cannot start (busy port, unknown host); the message says what to do."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port).

    Raises:
        DashboardError: the port is taken, or the address cannot be used.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: without it a keep-alive client waits ~40 ms (Nagle + delayed ACK) per page
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DashboardError(f"port {port} on {host} is already in use (another dashboard?)") from exc
        raise DashboardError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


@dataclass
class Dashboard:
    """A bound, not yet serving dashboard: ``url`` (with the token) is known before it serves."""

    sock: socket.socket
    settings: DashboardSettings
    host: str

    @property
    def url(self) -> str:
        """``http://host:port/?token=...``: the address to open (the token enables the controls)."""
        port = self.sock.getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}/?token={self.settings.token}"

    def server(self) -> uvicorn.Server:
        """A uvicorn server for the app (no access log: the fleet's live view owns the terminal)."""
        config = uvicorn.Config(create_app(self.settings), log_level="warning", access_log=False,
                                timeout_graceful_shutdown=SHUTDOWN_GRACE, lifespan="on")
        return uvicorn.Server(config)

    async def serve(self) -> None:
        """Serve in the running event loop until the server is told to exit (Ctrl-C)."""
        await self.server().serve(sockets=[self.sock])


def open_dashboard(db: str, workspace: Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                   plans_dir: Path = PLANS_DIR) -> Dashboard:
    """Bind ``host:port`` for the dashboard of the database at ``db`` (its token is created beside it if missing).

    Read-only pages are open on a loopback ``host`` and need the token on any other (issue 10).

    Raises:
        DashboardError: the port is taken or the address cannot be used.
    """
    settings = DashboardSettings(db=db, token=control_token(db), workspace=workspace, plans_dir=plans_dir,
                                 open_reads=is_loopback(host))
    return Dashboard(bind(host, port), settings, host)


@contextlib.contextmanager
def serving_in_process(dashboard: Dashboard) -> Iterator[Dashboard]:
    """Serve ``dashboard`` from a child process (``spawn``) while the block runs.

    Its own process, not a thread: rendering pages never takes the fleet's GIL (a thread cost the
    fleet benchmark about 13% of its efficiency). The child ignores Ctrl-C (the fleet's graceful
    stop keeps its dashboard), is terminated when the block ends, and exits by itself if its parent
    dies (an emergency stop's ``os._exit``).

    Raises:
        DashboardError: the server did not start within :data:`STARTUP_TIMEOUT` seconds.
    """
    context = mp.get_context("spawn")
    ready = context.Event()
    child = context.Process(target=_child_main, args=(dashboard, ready, os.getpid()), name="foreman-dashboard",
                            daemon=True)
    child.start()
    try:
        if not ready.wait(STARTUP_TIMEOUT):
            raise DashboardError("the dashboard did not start (see the log above)")
        yield dashboard
    finally:
        child.terminate()
        child.join(SHUTDOWN_GRACE + 5)
        dashboard.sock.close()


def _child_main(dashboard: Dashboard, ready, parent: int) -> None:
    """Entry point of the dashboard's process: serve until terminated or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve_until_orphaned(dashboard.server(), dashboard.sock, ready, parent))


async def _serve_until_orphaned(server: uvicorn.Server, sock: socket.socket, ready, parent: int) -> None:
    server.capture_signals = contextlib.nullcontext  # keep SIGINT ignored and SIGTERM fatal (uvicorn would catch both)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not serving.done():
        await asyncio.sleep(STARTUP_POLL)
    ready.set()
    while not serving.done():
        if os.getppid() != parent:
            server.should_exit = True
        await asyncio.wait([serving], timeout=ORPHAN_POLL)
    await serving
