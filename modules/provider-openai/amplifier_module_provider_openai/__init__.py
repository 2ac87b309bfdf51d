"""Amplifier module provider-openai (placeholder until built)."""

__amplifier_module_type__ = "provider"
