"""When to try a call again, how long to wait first, and the loop that does it.

An answer is final, or one of three kinds worth another try: rate limited (wait at least what
the server asked, from ``Retry-After`` or ``X-Ratelimit-Reset``), a conflict (back off), or
uncertain (a 5xx or no answer at all: the call may have taken effect, so a call that is not safe
to repeat looks before it repeats). Every wait is bounded three ways: the attempts allowed, a
waiting budget per call, and the caller's own deadline.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any, NamedTuple

from .clock import Clock
from .transport import Answer

# Rate-limit headers in ASCII digits only: str.isdigit() and float() also take other scripts'
# digits and superscripts (int("²") then fails), and float() takes "1_0", "inf" and "1e3" too.
_SECONDS = re.compile(r"-?[0-9]{1,16}(?:\.[0-9]{1,9})?")
_EPOCH_MILLIS = re.compile(r"[0-9]{1,16}")


class RetryKind(Enum):
    RATE_LIMITED = "rate-limited"
    BACK_OFF = "back off"
    UNCERTAIN = "uncertain"


def classify(status: int | None) -> RetryKind | None:
    """How an answer with ``status`` (None: no answer at all) is retried; None when it is final."""
    if status is None or 500 <= status < 600:
        return RetryKind.UNCERTAIN
    return {409: RetryKind.BACK_OFF, 429: RetryKind.RATE_LIMITED}.get(status)


class RetryPolicy(NamedTuple):
    """How hard to try. ``max_retries`` counts retries, so a call makes up to that many + 1.

    ``timeout`` bounds each attempt in all (connecting, the headers and the whole body), not
    only each read from the socket: a server that trickles its answer cannot hold a step.
    """

    max_retries: int
    timeout: float
    backoff_base: float = 0.5
    backoff_cap: float = 16.0
    rate_limit_default_wait: float = 10.0
    total_wait_cap: float = 180.0
    jitter: Callable[[float, float], float] = random.uniform


class Attempt(NamedTuple):
    """What one try ended with: an answer, or the words for why there was none."""

    answer: Answer | None
    failure: str = ""

    @property
    def status(self) -> int | None:
        return self.answer.status if self.answer is not None else None


class Rechecked:
    """What a look after an uncertain failure or a conflict found: nothing is left to send."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


class Retrying:
    """A retry about to happen, for someone else to word: what failed, why, how long the wait
    before the next try is, and which try that will be."""

    __slots__ = ("attempt", "attempts", "reason", "wait", "what")

    def __init__(self, what: str, reason: str, wait: float, attempt: int, attempts: int):
        self.what = what
        self.reason = reason
        self.wait = wait
        self.attempt = attempt  # the try about to be made, from 2
        self.attempts = attempts


class DeadlinePassed(Exception):
    """A call could not be completed, retries included, before its caller's deadline."""


class RetriesUsedUp(Exception):
    """The attempts or the waiting budget ran out; ``last`` is the final attempt."""

    def __init__(self, last: Attempt, reason: str, attempts: int):
        super().__init__(reason)
        self.last = last
        self.reason = reason
        self.attempts = attempts


def rate_limit_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` or ``X-Ratelimit-Reset``.

    Only ASCII digits count as a number; anything else that is not an HTTP date (NaN, other
    scripts' digits, hundreds of digits) is "no advice", and the default wait applies. A very
    long wait is left to the per-call waiting budget to refuse.
    """
    retry_after = (headers.get("Retry-After") or "").strip()
    if _SECONDS.fullmatch(retry_after):
        return max(0.0, float(retry_after))
    if retry_after:
        try:
            return max(0.0, parsedate_to_datetime(retry_after).timestamp() - now)
        except (TypeError, ValueError, OverflowError, IndexError):
            pass
    reset = (headers.get("X-Ratelimit-Reset") or "").strip()
    if _EPOCH_MILLIS.fullmatch(reset):
        # Epoch milliseconds; a time in the past (clock skew) means "now".
        return max(0.0, int(reset) / 1000.0 - now)
    return None


def wait_before_retry(
    policy: RetryPolicy, kind: RetryKind, attempt: Attempt, number: int, now: float
) -> float:
    """Seconds to wait after try ``number`` (from 1) ended as ``attempt``."""
    if kind is RetryKind.RATE_LIMITED and attempt.answer is not None:
        told = rate_limit_wait(attempt.answer.headers, now)
        floor = policy.rate_limit_default_wait if told is None else told
        # At least what the server asked for; jitter on top so parallel jobs spread out.
        return floor + policy.jitter(0.0, min(1.0, 0.1 * floor + 0.25))
    ceiling = min(policy.backoff_cap, policy.backoff_base * 2 ** (number - 1))
    return policy.jitter(ceiling / 2, ceiling)


class Retrier:
    """Tries a call until its answer is final, and reports each retry as a :class:`Retrying`."""

    def __init__(self, policy: RetryPolicy, clock: Clock, report: Callable[[Retrying], None]):
        self.policy = policy
        self._clock = clock
        self._report = report

    def run(
        self,
        try_once: Callable[[int], Attempt],
        *,
        what: str,
        describe: Callable[[Attempt], str],
        until: float | None = None,
        recheck: Callable[[], Any] | None = None,
    ) -> Attempt | Rechecked:
        """The final attempt, or what ``recheck`` found.

        ``try_once(number)`` makes try ``number``. ``until`` is the caller's deadline on the
        clock's monotonic time: a retry whose wait would end after it raises DeadlinePassed,
        whatever the call's own waiting budget says. ``recheck`` is asked, before a call is
        repeated after an uncertain failure or a conflict, whether there is anything left to do
        (the call took effect after all, or someone else did the same); what it returns (if not
        None) ends the call. Raises RetriesUsedUp when the attempts or the waiting budget run out.
        """
        policy, clock = self.policy, self._clock
        budget_end = clock.monotonic() + policy.total_wait_cap
        attempts = policy.max_retries + 1
        for number in range(1, attempts + 1):
            attempt = try_once(number)
            kind = classify(attempt.status)
            if kind is None:
                return attempt
            reason = describe(attempt)
            if number == attempts:
                break  # retries used up: the call failed, whatever deadline the caller had
            wait = wait_before_retry(policy, kind, attempt, number, clock.time())
            now = clock.monotonic()
            if until is not None and now + wait >= until:
                raise DeadlinePassed(f"{what}: {reason}")
            if now + wait > budget_end:
                break
            self._report(Retrying(what, reason, wait, number + 1, attempts))
            clock.sleep(wait)
            if kind is not RetryKind.RATE_LIMITED and recheck is not None:
                found = recheck()
                if found is not None:
                    return Rechecked(found)
        raise RetriesUsedUp(attempt, reason, number)
