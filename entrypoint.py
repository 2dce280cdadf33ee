#!/usr/local/bin/python
"""Container entry point: run the action and exit with its code."""

import os
import sys
from pathlib import Path

# The action uses no pydantic plugins: their discovery scans every installed package's
# metadata, so it is skipped.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from ld_release_phase.cli import main

if __name__ == "__main__":
    sys.exit(main())
