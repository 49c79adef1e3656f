"""`python -m metatrace check URL`: check the trace handshake of a deployed page."""

import sys

from .checker.cli import main

if __name__ == "__main__":
    sys.exit(main())
