"""Amplifier module tool-issue (placeholder until built)."""

__amplifier_module_type__ = "tool"
