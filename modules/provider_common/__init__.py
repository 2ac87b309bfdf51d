"""Code provider-anthropic and provider-openai share: settings, retries, error translation (issue 9, item 4).

Not a module (no ``mount``, no entry point): a helper package each provider imports, so that neither
provider imports the other's internals. ``sdk_provider.SdkProvider`` is the common base class;
``settings.ProviderSettings`` reads config keys; ``resilient.resilient_call`` wraps one API call with
``wire_errors`` (translation to ``amplifier_core.llm_errors``) and ``retries`` (backoff, ``provider:retry``).
"""
