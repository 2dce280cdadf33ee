"""Time, as the client and the wait see it: injected, so tests can run hours of waiting at once."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def sleep(self, seconds: float) -> None: ...
    def time(self) -> float: ...
    def monotonic(self) -> float: ...


class SystemClock:
    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()
