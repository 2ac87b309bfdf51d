"""Amplifier module tool-filesystem (placeholder until built)."""

__amplifier_module_type__ = "tool"
