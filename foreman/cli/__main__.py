"""``python -m foreman.cli``: the same as the ``foreman`` console script."""

from foreman.cli import main

main()
