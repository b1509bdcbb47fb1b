"""``python -m ehrfeat`` runs the command line."""

from __future__ import annotations

from ehrfeat.cli.main import main

main()
