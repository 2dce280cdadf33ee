"""The retry unit on its own: which answers are tried again, how long it waits, and how it ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ld_release_phase.plumbing.retry import (
    Attempt,
    DeadlinePassed,
    Rechecked,
    Retrier,
    RetriesUsedUp,
    Retrying,
    RetryKind,
    RetryPolicy,
    classify,
    rate_limit_wait,
    wait_before_retry,
)
from ld_release_phase.plumbing.transport import Answer

from harness import FakeClock


def answer(status: int, **headers: str) -> Attempt:
    return Attempt(Answer(status, headers, b""))


NO_ANSWER = Attempt(None, "connection failed (reset)")
# Jitter at its top: waits are exactly the ceiling, so they can be asserted.
POLICY = RetryPolicy(max_retries=3, timeout=5.0, jitter=lambda low, high: high)


def retrier(said: list[Retrying], policy: RetryPolicy = POLICY) -> tuple[Retrier, FakeClock]:
    clock = FakeClock()
    return Retrier(policy, clock, said.append), clock


def tries(*attempts: Attempt) -> tuple[list[int], Callable[[int], Attempt]]:
    """A try_once that answers each of ``attempts`` in turn, and the try numbers it was asked for."""
    asked: list[int] = []
    queue: Iterator[Attempt] = iter(attempts)

    def try_once(number: int) -> Attempt:
        asked.append(number)
        return next(queue)

    return asked, try_once


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (None, RetryKind.UNCERTAIN),
        (409, RetryKind.BACK_OFF),
        (429, RetryKind.RATE_LIMITED),
        (500, RetryKind.UNCERTAIN),
        (503, RetryKind.UNCERTAIN),
        (599, RetryKind.UNCERTAIN),
        (200, None),
        (400, None),
        (401, None),
        (404, None),
        (302, None),
        (600, None),
    ],
)
def test_which_answers_are_retried_and_how(status: int | None, kind: RetryKind | None) -> None:
    assert classify(status) == kind


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "NaN"}, None),
        ({"X-Ratelimit-Reset": "1700000010000"}, 10.0),
        ({"X-Ratelimit-Reset": "1699999990000"}, 0.0),
        ({"X-Ratelimit-Reset": "9" * 40}, None),
        ({"X-Ratelimit-Reset": "\u00b2"}, None),
        ({"X-Ratelimit-Reset": "\u0661\u0667"}, None),
        ({"Retry-After": "\u0661\u0662"}, None),
        ({"Retry-After": "1_2"}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": " 7 "}, 7.0),
        ({}, None),
    ],
)
def test_how_long_launchdarkly_asked_to_wait(headers: dict[str, str], seconds: float | None) -> None:
    assert rate_limit_wait(headers, now=1_700_000_000.0) == seconds


def test_backoff_doubles_from_half_a_second_up_to_its_cap() -> None:
    waits = [wait_before_retry(POLICY, RetryKind.UNCERTAIN, NO_ANSWER, number, 0.0) for number in range(1, 9)]

    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 16.0, 16.0]


def test_a_rate_limit_waits_at_least_what_was_asked_plus_a_little_jitter() -> None:
    wait = wait_before_retry(POLICY, RetryKind.RATE_LIMITED, answer(429, **{"Retry-After": "7"}), 1, 0.0)

    assert wait == 7.0 + 0.95


def test_a_call_is_tried_again_until_its_answer_is_final() -> None:
    said: list[Retrying] = []
    unit, clock = retrier(said)
    final = answer(200)
    asked, try_once = tries(answer(503), NO_ANSWER, final)

    ended = unit.run(try_once, what="GET /x", describe=lambda attempt: f"HTTP {attempt.status}")

    assert ended is final
    assert asked == [1, 2, 3]
    assert clock.sleeps == [0.5, 1.0]
    # Reported as values (what, why, the wait, which try is next) for a surface to word.
    assert [(r.what, r.reason, r.wait, r.attempt, r.attempts) for r in said] == [
        ("GET /x", "HTTP 503", 0.5, 2, 4),
        ("GET /x", "HTTP None", 1.0, 3, 4),
    ]


def test_a_final_answer_is_never_tried_again() -> None:
    unit, clock = retrier([])
    refused = answer(400)
    asked, try_once = tries(refused)

    assert unit.run(try_once, what="PUT /x", describe=str) is refused
    assert (asked, clock.sleeps) == ([1], [])


def test_when_the_attempts_run_out_the_last_failure_is_raised() -> None:
    unit, _ = retrier([], POLICY._replace(max_retries=1))
    last = answer(503)
    _, try_once = tries(answer(502), last)

    with pytest.raises(RetriesUsedUp) as caught:
        unit.run(try_once, what="GET /x", describe=lambda attempt: f"HTTP {attempt.status}")

    assert (caught.value.last, caught.value.reason, caught.value.attempts) == (last, "HTTP 503", 2)


def test_a_wait_past_the_budget_is_not_started() -> None:
    unit, clock = retrier([], POLICY._replace(total_wait_cap=60.0))
    _, try_once = tries(answer(429, **{"Retry-After": "120"}))

    with pytest.raises(RetriesUsedUp):
        unit.run(try_once, what="GET /x", describe=str)
    assert clock.sleeps == []


def test_a_wait_past_the_callers_deadline_raises_deadline_passed() -> None:
    unit, clock = retrier([])
    _, try_once = tries(answer(429, **{"Retry-After": "20"}))

    with pytest.raises(DeadlinePassed):
        unit.run(try_once, what="GET /x", describe=str, until=10.0)
    assert clock.sleeps == []


def test_after_an_uncertain_failure_a_recheck_can_end_the_call() -> None:
    unit, _ = retrier([])
    asked, try_once = tries(NO_ANSWER, answer(200))
    looks: list[str] = []

    def recheck() -> str:
        looks.append("looked")
        return "it took effect"

    ended = unit.run(try_once, what="PUT /x", describe=str, recheck=recheck)

    assert isinstance(ended, Rechecked) and ended.value == "it took effect"
    assert (asked, looks) == ([1], ["looked"])


def test_a_recheck_that_finds_nothing_lets_the_call_be_tried_again() -> None:
    unit, _ = retrier([])
    final = answer(200)
    asked, try_once = tries(answer(500), final)

    ended = unit.run(try_once, what="PUT /x", describe=str, recheck=lambda: None)

    assert (ended, asked) == (final, [1, 2])
