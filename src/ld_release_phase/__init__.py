"""Start a LaunchDarkly release-pipeline phase from a GitHub Actions step, and report its state."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__version__ = "1.1.0.dev0"  # unreleased: see CHANGELOG.md
ACTION_NAME = "ld-release-phase"

# The action uses no pydantic plugins, and their discovery scans every installed package's
# metadata on pydantic's import, so it is skipped (unless the environment says otherwise).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# The signals a run ends on, cleanly: Ctrl-C or a canceled job, and `docker stop` or a runner
# stopping the container.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Cancelled(KeyboardInterrupt):
    """The run was told to stop by ``signum``. ``write`` names a write it cut short, whose
    outcome is therefore unknown (it may have reached LaunchDarkly)."""

    def __init__(self, signum: int = signal.SIGINT, write: str = ""):
        super().__init__(signum)
        self.signum = signum
        self.write = write

    @classmethod
    def of(cls, interrupt: KeyboardInterrupt, *, write: str = "") -> Cancelled:
        """Any interrupt as a Cancelled (a bare KeyboardInterrupt is Python's own SIGINT)."""
        if isinstance(interrupt, Cancelled):
            return cls(interrupt.signum, write or interrupt.write)
        return cls(signal.SIGINT, write)


class _Signals:
    """A stop signal is held while no run could report it (start-up: importing, reading the
    inputs) and raised as :class:`Cancelled` where the run is while one can; after that, and
    after the first, it is held and ignored: the run is already ending."""

    held: int | None = None
    raising = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _Signals.raising:
        _Signals.raising = False  # one cancel per run: a second signal cannot cut its report short
        raise Cancelled(signum)
    if _Signals.held is None:
        _Signals.held = signum


def hold_signals() -> None:
    """From now on a stop signal ends the run cleanly (see :func:`cancellable`).

    Each of the process's entries calls this first, before the imports that take most of
    start-up, so that a signal then ends in the run's own words rather than a traceback. A
    program that only imports the package keeps its own handlers. As PID 1 in a container, a
    signal with no handler is ignored by the kernel: this is also what lets ``docker stop`` end
    the step.
    """
    for signum in STOP_SIGNALS:
        try:
            signal.signal(signum, _on_signal)
        except ValueError:  # not the main thread: signals are not this code's to take
            return


@contextmanager
def cancellable() -> Iterator[None]:
    """The work a stop signal interrupts, raising :class:`Cancelled` where it is; a signal held
    since start-up is raised at once."""
    held, _Signals.held = _Signals.held, None
    if held is not None:
        raise Cancelled(held)
    _Signals.raising = True
    try:
        yield
    finally:
        _Signals.raising = False


# The console script imports the entry's module, and so this package, before anything else.
if os.path.basename(getattr(sys, "argv", [""])[0] or "") == ACTION_NAME:
    hold_signals()
