"""The status model: a phase's state, how each dialect spells it, and what a request may ask."""

from __future__ import annotations

import pytest

from ld_release_phase.failures import Failure
from ld_release_phase.phases.inputs import parse_inputs
from ld_release_phase.phases.models import Dialect, PhaseState, Release, ReleasePhase, parse_release
from ld_release_phase.phases.release import already_in, request_body

from harness import TOKEN
from standin import demo_release

BASE = {"access-token": TOKEN, "project": "demo", "flag": "new-checkout", "phase": "QA"}


@pytest.mark.parametrize(
    ("spelling", "state"),
    [
        ("active", PhaseState.STARTED),
        ("Started", PhaseState.STARTED),
        ("completed", PhaseState.COMPLETE),
        ("Complete", PhaseState.COMPLETE),
        ("not-started", PhaseState.NOT_STARTED),
        ("ready_to_start", PhaseState.READY_TO_START),
        ("PAUSED", PhaseState.PAUSED),
        ("mystery", None),
        (None, None),
    ],
)
def test_every_spelling_of_either_dialect_reads_as_one_state(spelling: str | None, state: PhaseState) -> None:
    assert PhaseState.read(spelling) is state


def test_each_state_has_one_spelling_per_dialect() -> None:
    assert [state.spelling(Dialect.LIVE) for state in PhaseState] == [
        "not-started",
        "ready-to-start",
        "active",
        "paused",
        "completed",
    ]
    assert [state.spelling(Dialect.SPEC) for state in PhaseState] == [
        "NotStarted",
        "ReadyToStart",
        "Started",
        "Paused",
        "Complete",
    ]


@pytest.mark.parametrize(
    ("fields", "started", "complete", "reported"),
    [
        ({}, False, False, "not-started"),
        ({"started": True}, True, False, "active"),
        ({"status": "active"}, True, False, "active"),
        ({"status": "Started", "started": True}, True, False, "Started"),
        ({"status": "ready-to-start", "started": False}, False, False, "ready-to-start"),
        ({"status": "weird-new-state", "started": True}, True, False, "weird-new-state"),
        ({"complete": True}, True, True, "completed"),
        ({"status": "Complete", "complete": True, "started": True}, True, True, "Complete"),
        # A paused phase did start once and says so; it is not running.
        ({"status": "paused", "started": True}, False, False, "paused"),
        ({"status": "Paused", "started": True}, False, False, "Paused"),
    ],
)
def test_phase_state_is_read_from_whatever_the_api_sent(
    fields: dict[str, object], started: bool, complete: bool, reported: str
) -> None:
    phase = ReleasePhase.model_validate({"_id": "p"} | fields)

    assert (phase.is_started, phase.is_complete, phase.reported_status) == (started, complete, reported)
    assert not (phase.is_complete and not phase.is_started)


def _release(*statuses: str | None) -> Release:
    phases = [{"_id": str(i)} | ({"status": s} if s else {}) for i, s in enumerate(statuses)]
    return parse_release({"phases": phases})


@pytest.mark.parametrize(
    ("statuses", "dialect"),
    [
        (("ready-to-start", "not-started"), Dialect.LIVE),
        (("completed", "active", "ready-to-start"), Dialect.LIVE),
        ((None, None), Dialect.LIVE),
        (("NotStarted", "NotStarted"), Dialect.SPEC),
        (("Complete", "Started", None), Dialect.SPEC),
        (("Started", "not-started"), Dialect.LIVE),  # mixed: the live service wins
        (("weird",), Dialect.LIVE),
    ],
)
def test_a_release_speaks_the_spec_only_when_written_in_it(
    statuses: tuple[str | None, ...], dialect: Dialect
) -> None:
    assert _release(*statuses).dialect is dialect


def test_the_demo_releases_speak_their_modes() -> None:
    assert parse_release(demo_release("live")).dialect is Dialect.LIVE
    assert parse_release(demo_release("spec")).dialect is Dialect.SPEC


@pytest.mark.parametrize(
    "spelling", ["", "active", "Active", "started", "Started", "start", "START", " s-t-a-r-t "]
)
def test_every_way_of_asking_to_start_means_start(spelling: str) -> None:
    assert parse_inputs(BASE | {"status": spelling}).status is PhaseState.STARTED


@pytest.mark.parametrize(
    "spelling", ["Complete", "completed", "Paused", "pause d", "NotStarted", "not-started", "ReadyToStart"]
)
def test_statuses_launchdarkly_refuses_are_refused_before_any_call(spelling: str) -> None:
    with pytest.raises(Failure) as caught:
        parse_inputs(BASE | {"status": spelling})

    message = str(caught.value.message)
    assert message.startswith("'status' ")
    assert "only lets a phase be started by hand (status: active)" in message
    assert (
        "LaunchDarkly completes a phase when the next one starts: start the next phase (phase: next)"
        in message
    )
    assert str(caught.value.hint) == "Nothing was sent to LaunchDarkly."


def test_an_unknown_status_names_the_one_that_works() -> None:
    with pytest.raises(Failure) as caught:
        parse_inputs(BASE | {"status": "strated"})

    assert 'must be active (also spelt started or start); got "strated"' in str(caught.value.message)


@pytest.mark.parametrize(
    ("fields", "already"),
    [
        ({"status": "ready-to-start"}, False),
        ({"status": "not-started"}, False),
        ({"status": "active", "started": True}, True),
        ({"status": "completed", "complete": True, "started": True}, True),
        ({"status": "paused", "started": True}, False),
        ({"status": "Started", "started": True}, True),
    ],
)
def test_a_start_is_needed_unless_the_phase_runs_or_is_done(fields: dict[str, object], already: bool) -> None:
    phase = ReleasePhase.model_validate({"_id": "p"} | fields)

    assert already_in(phase, PhaseState.STARTED) is already


def test_the_body_carries_the_spelling_it_is_given() -> None:
    phase = ReleasePhase.model_validate({"_id": "p", "_audiences": [{"_id": "a1", "name": "A"}]})
    audiences = parse_inputs(
        BASE | {"audiences": '[{"audienceName": "a", "notifyTeamKeys": ["t"]}]'}
    ).audiences

    assert request_body("active", phase, None) == {"status": "active"}
    assert request_body("Started", phase, audiences) == {
        "status": "Started",
        "audiences": [{"audienceId": "a1", "notifyTeamKeys": ["t"]}],
    }


def test_a_phase_sent_without_audiences_takes_an_id_unchecked_but_not_a_name() -> None:
    phase = ReleasePhase.model_validate({"_id": "p", "_name": "QA"})
    by_id = parse_inputs(BASE | {"audiences": '[{"audienceId": "a9"}]'}).audiences
    by_name = parse_inputs(BASE | {"audiences": '[{"audienceName": "QA"}]'}).audiences

    assert request_body("active", phase, by_id) == {"status": "active", "audiences": [{"audienceId": "a9"}]}
    with pytest.raises(Failure) as caught:
        request_body("active", phase, by_name)
    assert "without its audiences" in str(caught.value.message)
    assert "audienceId" in str(caught.value.hint)
