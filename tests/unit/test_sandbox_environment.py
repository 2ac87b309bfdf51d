"""foreman.sandbox's environment rule: which variables tool processes never see, and redaction."""

import pytest

from foreman.sandbox import redact, secret_values, tool_environment

BASE = {
    "PATH": "/usr/bin",
    "ANTHROPIC_API_KEY": "sk-ant-0123456789",
    "OPENAI_API_KEY": "sk-openai-0123456789",
    "GITHUB_TOKEN": "ghp_0123456789",
    "aws_secret": "lowercase-secret-1",
    "DB_PASSWORD": "hunter2-hunter2",
    "SHORT_KEY": "abc",
    "KEYBOARD": "us",
    "TOKENIZERS_PARALLELISM": "false",
}


def test_provider_keys_and_secret_suffixes_are_removed_whatever_the_case():
    assert tool_environment(BASE) == {"PATH": "/usr/bin", "KEYBOARD": "us", "TOKENIZERS_PARALLELISM": "false"}


def test_allowed_names_are_kept():
    kept = tool_environment(BASE, allow=["GITHUB_TOKEN"])
    assert kept["GITHUB_TOKEN"] == "ghp_0123456789"
    assert "OPENAI_API_KEY" not in kept


def test_the_default_base_is_os_environ(monkeypatch):
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "t0k3n-value")
    monkeypatch.setenv("HARMLESS", "1")
    environment = tool_environment()
    assert "SOME_SERVICE_TOKEN" not in environment and environment["HARMLESS"] == "1"
    assert "t0k3n-value" in secret_values()


def test_secret_values_skip_short_values_and_come_longest_first():
    values = secret_values(BASE)
    assert "abc" not in values
    assert set(values) == {"sk-ant-0123456789", "sk-openai-0123456789", "ghp_0123456789", "lowercase-secret-1",
                           "hunter2-hunter2"}
    assert [len(v) for v in values] == sorted((len(v) for v in values), reverse=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key=sk-ant-0123456789 ok", "key=[redacted] ok"),
        ("sk-ant-0123456789sk-ant-0123456789", "[redacted][redacted]"),
        ("nothing here", "nothing here"),
    ],
)
def test_redact_replaces_every_occurrence(text, expected):
    assert redact(text, secret_values(BASE)) == expected


def test_a_longer_secret_containing_a_shorter_one_is_redacted_whole():
    secrets = secret_values({"A_KEY": "secret-value", "B_KEY": "prefix-secret-value"})
    assert redact("x=prefix-secret-value", secrets) == "x=[redacted]"
