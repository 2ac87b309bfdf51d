"""The embedded model the tests can count on: the 0.5B of the ``[local-small]`` extra, which CI installs.

The plans' default (the 1.5B of ``[local]``) may be absent on a fresh machine, so a test that
validates or runs the shipped plans' embedded provider selects this one through the plans'
``${FOREMAN_LOCAL_MODEL}`` variable.
"""

SMALL_MODEL = "qwen2.5-coder-0.5b-instruct"
