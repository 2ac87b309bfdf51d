"""A TEST DOUBLE of Microsoft's Amplifier modules: the fleet's suite runs on it as well as on ours (issue 9).

Each module here behaves like its upstream namesake where the fleet could notice: argument names,
result shapes and the events it emits (facts and their sources: docs/modules/*.md). It is not a
port: no @mentions, no safety profiles, no streaming. What each one copies:

- ``upstream-double-loop-streaming`` (``loop.py``, after microsoft/amplifier-module-loop-streaming):
  ignores any ``system_prompt`` config; emits ``provider:request`` but no ``provider:response``;
  ``tool:pre``/``tool:post`` carry ``tool_input`` (not ``arguments``); a hook's ``deny`` becomes the
  tool's result text; results reach the model as ``ToolResult.get_serialized_output()``.
- ``upstream-double-tool-filesystem`` (``files.py``, after microsoft/amplifier-module-tool-filesystem):
  ``read_file``/``write_file``/``edit_file`` taking ``file_path`` (relative to ``working_dir``),
  unconfined reads, and ``denied_write_paths`` resolved against the PROCESS's directory, as upstream.
- ``upstream-double-tool-bash`` (``bash.py``, after microsoft/amplifier-module-tool-bash): ``command``,
  ``timeout``, ``run_in_background``; ``{"stdout", "stderr", "returncode"}``; no confinement.
- ``upstream-double-provider-anthropic`` (``provider.py``): the rehearsal's scripted FAKE LLM for the
  plan's ``role``, emitting ``llm:response`` with the contract's ``usage`` keys as
  microsoft/amplifier-module-provider-anthropic does.

:func:`double_plans` writes copies of a folder of mount plans that use these modules instead of ours.
"""

from .plans import DOUBLE_MODULES, double_plans

__all__ = ["DOUBLE_MODULES", "double_plans"]
