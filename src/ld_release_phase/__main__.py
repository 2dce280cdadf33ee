"""``python -m ld_release_phase``: the command, as ``ld-release-phase`` runs it."""

import sys

from ld_release_phase import hold_signals

hold_signals()  # before the imports that take most of start-up (see hold_signals)

from ld_release_phase.cli import main  # noqa: E402

sys.exit(main())
