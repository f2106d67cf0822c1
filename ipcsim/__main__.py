"""``python -m ipcsim`` runs the command line."""

from ipcsim.cli import main

main()
