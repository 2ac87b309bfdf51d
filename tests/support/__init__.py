"""Loopback test servers that speak LLM wire protocols (never the network)."""
