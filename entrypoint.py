#!/usr/local/bin/python
"""Container entry point: run the action and exit with its code."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from ld_release_phase.cli import main

if __name__ == "__main__":
    sys.exit(main())
