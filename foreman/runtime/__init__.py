"""The session runtime both roles share (issue 9, item 5): the layer between the issue database and the roles.

Mount plans (``plans``), sessions started from them (``sessions``, ``provider_gate``, ``module_cache``),
budgets, task files, the run recorder, the lease keeper, git workspaces and the fleet state keys
(``fleet_state``). Imports ``foreman.issues`` and ``foreman.sandbox``, never a role (``foreman.planner``,
``foreman.monitor``, ``workers``) nor the fleet or CLI; ``pyproject.toml``'s import-linter contracts say so.
"""
