"""Amplifier module provider-anthropic (placeholder until built)."""

__amplifier_module_type__ = "provider"
