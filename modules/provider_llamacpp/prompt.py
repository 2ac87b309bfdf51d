"""Render template messages into the model's prompt text with its chat template.

The template is the GGUF's ``tokenizer.chat_template`` (Qwen2.5's renders the
tools into the system message and tool calls/results in ``<tool_call>`` /
``<tool_response>`` tags); a GGUF without one gets ``CHATML_TEMPLATE``, which
renders the same information as plain ChatML text. Rendering follows Hugging
Face transformers: a sandboxed Jinja2 environment with ``trim_blocks``,
``lstrip_blocks``, loop controls and a ``tojson`` that keeps non-ASCII and
``<``/``>`` as they are, and ``add_generation_prompt=True``.
Needs jinja2, which llama-cpp-python depends on.
"""

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

CHATML_TEMPLATE = """\
{%- set tool_text %}
{%- for tool in tools or [] %}
{{- '\\n' + (tool | tojson) }}
{%- endfor %}
{%- endset %}
{%- if tools and (not messages or messages[0].role != 'system') %}
{{- '<|im_start|>system\\n# Tools' + tool_text + '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
{%- if message.role == 'tool' %}
{{- '<|im_start|>user\\n<tool_response>\\n' + message.content + '\\n</tool_response><|im_end|>\\n' }}
{%- else %}
{{- '<|im_start|>' + message.role + '\\n' + message.content }}
{%- if loop.first and message.role == 'system' and tools %}
{{- '\\n\\n# Tools' + tool_text }}
{%- endif %}
{%- for call in message.tool_calls or [] %}
{{- '\\n<tool_call>\\n{"name": ' + (call.function.name | tojson) + ', "arguments": ' + (call.function.arguments | tojson) + '}\\n</tool_call>' }}
{%- endfor %}
{{- '<|im_end|>\\n' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
{{- '<|im_start|>assistant\\n' }}
{%- endif %}"""


def render_prompt(
    template: str | None,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    *,
    bos_token: str = "",
    eos_token: str = "",
) -> str:
    """The prompt text for ``messages`` and ``tools``, ending where the assistant's reply starts.

    Raises:
        jinja2.TemplateError: the template is invalid or calls ``raise_exception``.
    """
    compiled = _compile(template or CHATML_TEMPLATE)
    return compiled.render(
        messages=messages,
        tools=tools or None,
        add_generation_prompt=True,
        bos_token=bos_token,
        eos_token=eos_token,
        raise_exception=_raise_exception,
        strftime_now=lambda fmt: datetime.now().strftime(fmt),
    )


@lru_cache(maxsize=8)
def _compile(template: str) -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = _tojson
    return env.from_string(template)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, separators: Any = None, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _raise_exception(message: str) -> None:
    from jinja2.exceptions import TemplateError

    raise TemplateError(message)
