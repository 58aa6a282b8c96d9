"""`python -m vidfuse` runs the command line."""

from vidfuse.cli import main

main()
