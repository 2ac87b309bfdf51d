"""Amplifier module provider-llamacpp (placeholder until built)."""

__amplifier_module_type__ = "provider"
