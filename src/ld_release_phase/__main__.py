"""``python -m ld_release_phase``: the command, as ``ld-release-phase`` runs it."""

import sys

from ld_release_phase.cli import main

sys.exit(main())
