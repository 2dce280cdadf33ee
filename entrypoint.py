#!/usr/local/bin/python
"""Container entry point: run the action and exit with its code."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "src"))

# Before the imports that take most of start-up: a stop signal from here on ends the step in
# its own words (one annotation, exit 130 or 143), never a traceback.
from ld_release_phase import hold_signals

hold_signals()

from ld_release_phase.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
