"""The pure logic on its own, so a failure points at the rule that broke."""

from __future__ import annotations

from typing import Any

import pytest

from ld_release_phase.failures import ExitCode, Failure
from ld_release_phase.phases import render
from ld_release_phase.phases.inputs import WaitFor
from ld_release_phase.phases.models import Release, parse_release
from ld_release_phase.phases.release import resolve_phase
from ld_release_phase.phases.waiting import wait_for_phase
from ld_release_phase.plumbing.retry import DeadlinePassed

from harness import FakeClock


def release_of(*phases: dict[str, Any]) -> Release:
    return parse_release({"name": "P", "phases": list(phases)})


def phase(phase_id: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"_id": phase_id, "_name": name, **fields}


# -- which phase a step names ------------------------------------------------------------


def test_an_id_wins_over_a_name() -> None:
    release = release_of(phase("QA", "Testing"), phase("p2", "QA"))

    assert resolve_phase(release, "QA").id == "QA"


def test_an_exact_name_wins_over_next_and_over_case() -> None:
    release = release_of(phase("p1", "next", status="completed", complete=True), phase("p2", "Next"))

    assert resolve_phase(release, "next").id == "p1"
    assert resolve_phase(release, "NEXT").id == "p2"  # no exact match: 'next' is not the keyword here


def test_next_is_the_first_phase_neither_running_nor_done() -> None:
    release = release_of(
        phase("p1", "A", status="completed", complete=True),
        phase("p2", "B", status="paused", started=True),
        phase("p3", "C", status="not-started"),
    )

    assert resolve_phase(release, "next").id == "p2"  # a paused phase has not started


def test_a_name_in_another_case_is_found_only_when_it_is_unique() -> None:
    release = release_of(phase("p1", "qa"), phase("p2", "QA "), phase("p3", "Qa"))

    with pytest.raises(Failure) as caught:
        resolve_phase(release, "QA")

    assert caught.value.exit_code is ExitCode.BAD_INPUT
    assert "ids p1, p3" in str(caught.value.message)


def test_an_unknown_phase_lists_what_exists() -> None:
    with pytest.raises(Failure) as caught:
        resolve_phase(release_of(phase("p1", "A"), phase("p2", "B")), "C")

    assert caught.value.exit_code is ExitCode.NOT_FOUND
    assert "'A', 'B'" in str(caught.value.message)


# -- waiting --------------------------------------------------------------------------------


def test_a_wait_polls_each_interval_and_ends_when_the_goal_is_reached() -> None:
    clock = FakeClock()
    answers = iter(
        [
            release_of(phase("p1", "A", status="active", started=True)),
            release_of(phase("p1", "A", status="completed", complete=True, started=True)),
        ]
    )
    lines: list[str] = []

    result = wait_for_phase(
        release_of(phase("p1", "A", status="active", started=True)),
        "p1",
        WaitFor.COMPLETE,
        fetch=lambda until: next(answers),
        timeout=60,
        interval=10,
        clock=clock,
        tell=lambda event: lines.extend(render.lines(event)),
    )

    assert (result.polls, result.seconds, clock.sleeps) == (2, 20.0, [10, 10])
    assert lines[-1] == "Phase 'A': active → completed after 20s."


def test_a_wait_hands_its_deadline_to_every_poll_and_ends_by_it() -> None:
    clock = FakeClock()
    deadlines: list[float] = []

    def fetch(until: float) -> Release:
        deadlines.append(until)
        raise DeadlinePassed

    with pytest.raises(Failure) as caught:
        wait_for_phase(
            release_of(phase("p1", "A", status="ready-to-start")),
            "p1",
            WaitFor.STARTED,
            fetch=fetch,
            timeout=30,
            interval=10,
            clock=clock,
            tell=lambda event: None,
        )

    assert deadlines == [30.0]
    assert caught.value.exit_code is ExitCode.NOT_REACHED
    assert clock.now <= 30.0
