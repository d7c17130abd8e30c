"""``python -m descend ...`` runs the command line exactly like ``descend ...``."""

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
