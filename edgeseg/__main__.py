"""``python -m edgeseg`` is the ``edgeseg`` command (and what ``torchrun -m edgeseg`` runs)."""

from .cli import main

raise SystemExit(main())
