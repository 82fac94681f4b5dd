"""`python -m carbuy.cli …`: the `carbuy` command, for child processes started without the console script."""

from carbuy.cli.main import main

main()
