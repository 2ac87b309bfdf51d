"""Amplifier module context-simple (placeholder until built)."""

__amplifier_module_type__ = "context"
