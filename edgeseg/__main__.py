"""``python -m edgeseg`` is the ``edgeseg`` command (and what ``torchrun -m edgeseg`` runs)."""

from .cli import console_main

raise SystemExit(console_main())
