"""``python -m ssenb``: the same as the ``ssenb`` command."""

from .cli import main

raise SystemExit(main())
