"""Size of the tool schemas each mount plan puts in front of the model.

    python bench/plan_schemas.py

For every plan in mount_plans/, opens a real session (scripted provider, nothing is called),
serialises each mounted tool as {name, description, input_schema} JSON and prints characters,
an estimate at 4 characters per token, and the exact token count under the embedded model's
tokenizer when the [local] extra is installed.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from foreman.issues import open_store
from foreman.issues.identity import WorkerIdentity
from foreman.runtime.plans import load_plans
from foreman.runtime.sessions import open_session
from foreman.testing import ScriptedProvider


async def tool_schemas(plan, workspace: Path) -> list[str]:
    """The JSON text of each tool the plan mounts."""
    store = open_store(workspace / "schemas.db", create=True)
    session = await open_session(plan, workspace=workspace, store=store, provider=ScriptedProvider([]),
                                 identity=WorkerIdentity(name="probe", role=plan.fleet.role))
    try:
        tools = session.coordinator.get("tools") or {}
        return [json.dumps({"name": t.name, "description": t.description, "input_schema": t.input_schema})
                for t in tools.values()]
    finally:
        await session.cleanup()


def exact_counter():
    """A function counting tokens with the embedded model's tokenizer, or None without llama-cpp-python."""
    try:
        from amplifier_foreman_modules.provider_llamacpp.assembly import default_cache_dir
        from llama_cpp import Llama
    except ImportError:
        return None
    model = next(iter(sorted(default_cache_dir().glob("*1.5b*.gguf"))), None)
    if model is None:
        return None
    vocab = Llama(model_path=str(model), vocab_only=True, verbose=False)
    return lambda text: len(vocab.tokenize(text.encode(), add_bos=False))


def main() -> None:
    count = exact_counter()
    print(f"{'plan':<16} {'tools':>5} {'chars':>6} {'~tokens (/4)':>12} {'Qwen tokens':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for plan in load_plans():
            schemas = asyncio.run(tool_schemas(plan, Path(tmp)))
            chars = sum(len(s) for s in schemas)
            exact = str(sum(count(s) for s in schemas)) if count else "n/a"
            print(f"{plan.name:<16} {len(schemas):>5} {chars:>6} {chars / 4:>12.0f} {exact:>11}")


if __name__ == "__main__":
    main()
