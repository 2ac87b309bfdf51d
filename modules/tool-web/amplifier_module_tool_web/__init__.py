"""Amplifier module tool-web (placeholder until built)."""

__amplifier_module_type__ = "tool"
