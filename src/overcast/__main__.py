"""``python -m overcast`` runs the CLI."""

from overcast.cli.main import main

main()
