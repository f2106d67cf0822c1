"""``python -m ipcsim`` runs the command line."""

from ipcsim.cli.main import main

main()
