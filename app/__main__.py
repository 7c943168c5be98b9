"""``python -m app`` is the ``huella`` command."""

from app.cli import main

main()
