"""One ``execute()`` call: the agent loop from the user's prompt to a final answer.

Event order for a turn with one tool round::

    execution:start, prompt:submit,
    provider:request, provider:response, tool:pre/tool:post (per call, concurrently),
    provider:request, provider:response,
    prompt:complete, orchestrator:complete, execution:end

``orchestrator:complete`` and ``execution:end`` are emitted whatever the outcome,
including errors (status ``"error"``); ``prompt:complete`` only when the turn ended
without an exception.
"""

import json
from typing import Any, NamedTuple

from amplifier_core.events import (
    EXECUTION_END,
    EXECUTION_START,
    ORCHESTRATOR_COMPLETE,
    PROMPT_COMPLETE,
    PROMPT_SUBMIT,
    PROVIDER_REQUEST,
)
from amplifier_core.message_models import ChatRequest
from amplifier_core.models import ContextInjection, HookResult, ToolResult

from .config import LoopConfig
from .emitter import HookEmitter
from .hook_results import HookResultHandler
from .messages import (
    assistant_message,
    final_text_message,
    response_text,
    to_request_messages,
    tool_message,
    tool_specs,
    with_injections,
)
from .provider_call import ProviderCaller, Reply, select_provider
from .tool_runner import ToolRunner

ORCHESTRATOR_NAME = "loop-streaming"
CANCELLED_ANSWER = "Cancelled before a final answer."
WRAP_UP_REMINDER = (
    "You have used every model call allowed for this turn, so no more tools can run. "
    "Reply now with your final answer: what you did, what you found, and what remains to be done."
)


REPEATED_RESULT = "Not run: exactly the same call as your previous step, whose result is above."
REPEATED_ANSWER = "Stopped: the model kept repeating the same tool call."


class Outcome(NamedTuple):
    """How a turn ended: ``status`` is one of success, max_iterations, repeated, cancelled, denied, error."""

    status: str
    text: str


class _Stopped(Exception):
    """Ends the turn early with ``outcome`` (a hook denied, or an immediate cancellation)."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome.status)
        self.outcome = outcome


class Turn:
    """State of one ``execute()`` call; see ``StreamingOrchestrator.execute`` for the arguments."""

    def __init__(
        self,
        config: LoopConfig,
        context: Any,
        providers: dict[str, Any],
        tools: dict[str, Any],
        hooks: Any,
        coordinator: Any | None,
    ):
        self._config = config
        self._context = context
        self._providers = providers
        self._hooks = HookEmitter(hooks, coordinator)
        self._cancellation = getattr(coordinator, "cancellation", None)
        self._handler = HookResultHandler(coordinator)
        self._runner = ToolRunner(tools, self._hooks, self._handler, self._cancellation)
        self._tool_specs = tool_specs(tools)
        self._caller: ProviderCaller | None = None
        self._last_calls: list[tuple[str, str]] = []
        self._repeats = 0
        self.iterations = 0

    async def run(self, prompt: str) -> str:
        """Run the loop for ``prompt`` and return the final answer text.

        Raises:
            NoProviderError: no provider is mounted.
            Exception: a provider's error (after ``provider:error``), or the context's.
        """
        await self._hooks.emit(EXECUTION_START, {"prompt": prompt})
        outcome = Outcome("error", "")
        try:
            outcome = await self._run(prompt)
            completed = {"prompt": prompt, "response": outcome.text, "status": outcome.status}
            await self._hooks.emit(PROMPT_COMPLETE, completed)
            return outcome.text
        finally:
            await self._hooks.emit(
                ORCHESTRATOR_COMPLETE,
                {"orchestrator": ORCHESTRATOR_NAME, "turn_count": self.iterations, "status": outcome.status},
            )
            await self._hooks.emit(EXECUTION_END, {"response": outcome.text, "status": outcome.status})

    async def _run(self, prompt: str) -> Outcome:
        name, provider = select_provider(self._providers)
        self._caller = ProviderCaller(name, provider, self._hooks, self._cancellation)
        self._handler.start_turn()
        await self._ensure_system_prompt()
        submitted = await self._ask_hooks(PROMPT_SUBMIT, {"prompt": prompt})
        if submitted.action == "deny":
            return Outcome("denied", f"Prompt denied: {submitted.reason or 'no reason given'}")
        await self._context.add_message({"role": "user", "content": prompt})
        try:
            return await self._loop()
        except _Stopped as stopped:
            return stopped.outcome

    async def _loop(self) -> Outcome:
        while not self._cancelled():
            if self._config.limited and self.iterations >= self._config.max_iterations:
                return await self._wrap_up()
            reply = await self._model_turn()
            await self._context.add_message(assistant_message(reply.response, reply.calls))
            if not reply.calls:
                return Outcome("success", response_text(reply.response))
            if self._repeating(reply.calls):
                for call in reply.calls:
                    await self._context.add_message(tool_message(call, ToolResult(success=False, output=REPEATED_RESULT)))
                return Outcome("repeated", REPEATED_ANSWER)
            results = await self._runner.run(reply.calls)
            for call, result in zip(reply.calls, results):
                await self._context.add_message(tool_message(call, result))
            await self._handler.release()
        return Outcome("cancelled", CANCELLED_ANSWER)

    def _repeating(self, calls: list[Any]) -> bool:
        """True once the same calls (names and arguments) came more than ``max_repeated_calls`` times in a row."""
        signature = [(call.name, json.dumps(call.arguments, sort_keys=True, default=str)) for call in calls]
        self._repeats = self._repeats + 1 if signature == self._last_calls else 0
        self._last_calls = signature
        limit = self._config.max_repeated_calls
        return limit > 0 and self._repeats >= limit

    async def _wrap_up(self) -> Outcome:
        """One last call asking for a final answer with ``tool_choice="none"``; tool calls in it are dropped.

        The tools are still listed: some providers (Anthropic) reject a request whose
        history holds tool calls but which defines no tools.
        """
        reply = await self._model_turn(wrap_up=True)
        text = response_text(reply.response) or (
            f"Stopped after {self._config.max_iterations} model calls (max_iterations) without a final answer."
        )
        await self._context.add_message(final_text_message(text))
        return Outcome("max_iterations", text)

    async def _model_turn(self, wrap_up: bool = False) -> Reply:
        """One provider call; a ``wrap_up`` call adds WRAP_UP_REMINDER (not stored) and ``tool_choice="none"``."""
        self.iterations += 1
        announced = {"provider": self._caller.name, "iteration": self.iterations}
        requested = await self._ask_hooks(PROVIDER_REQUEST, announced)
        if requested.action == "deny":
            raise _Stopped(Outcome("denied", f"Provider request denied: {requested.reason or 'no reason given'}"))
        stored = await self._context.get_messages_for_request(provider=self._caller.provider)
        reminders = [ContextInjection(content=WRAP_UP_REMINDER, role="user")] if wrap_up else []
        messages = with_injections(stored, self._handler.take_ephemeral() + reminders)
        tool_choice = "none" if wrap_up else None
        request = ChatRequest(messages=to_request_messages(messages), tools=self._tool_specs, tool_choice=tool_choice)
        reply = await self._caller.call(request, self.iterations)
        if reply is None:
            raise _Stopped(Outcome("cancelled", CANCELLED_ANSWER))
        return reply

    async def _ask_hooks(self, event: str, data: dict[str, Any]) -> HookResult:
        """Emit ``event`` and apply the merged hook result at once (see hook_results.py)."""
        return await self._handler.apply(await self._hooks.emit(event, data), event, ORCHESTRATOR_NAME)

    async def _ensure_system_prompt(self) -> None:
        """Put the configured system prompt first unless the context already has a system message."""
        if self._config.system_prompt is None:
            return
        messages = await self._context.get_messages()
        if not any(message.get("role") == "system" for message in messages):
            await self._context.set_messages([{"role": "system", "content": self._config.system_prompt}, *messages])

    def _cancelled(self) -> bool:
        return self._cancellation is not None and self._cancellation.is_cancelled
