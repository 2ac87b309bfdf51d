"""Amplifier module loop-streaming (placeholder until built)."""

__amplifier_module_type__ = "orchestrator"
