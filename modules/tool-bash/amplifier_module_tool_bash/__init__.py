"""Amplifier module tool-bash (placeholder until built)."""

__amplifier_module_type__ = "tool"
