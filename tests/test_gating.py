"""Gating a deploy: waiting, dry runs, idempotent re-runs, the step summary, conveniences."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ld_release_phase import __version__
from ld_release_phase.phases.inputs import parse_inputs
from ld_release_phase.plumbing.api import DEADLINE_GRACE

from expect import assert_clean
from harness import TOKEN, FakeClock, inputs_for, run_entrypoint, run_in_process
from standin import Fault, StandIn


def test_dry_run_reads_and_validates_but_writes_nothing(standin: StandIn, tmp_path: Path) -> None:
    audiences = '[{"environmentKey": "qa", "notifyTeamKeys": ["qa-team"]}]'

    run = run_entrypoint(inputs_for(standin.url, phase="QA", audiences=audiences, dry_run="true"), tmp_path)

    assert run.returncode == 0, run.stdout
    assert [r.method for r in standin.requests] == ["GET"]
    assert (
        f"Dry run: would send PUT {standin.url}/api/v2/projects/demo/flags/new-checkout/release/phases/"
        in ("\n".join(run.log_lines))
    )
    body_lines = run.log_lines[run.log_lines.index("{") :]
    assert json.loads("\n".join(body_lines[: body_lines.index("}") + 1])) == {
        "status": "Started",
        "audiences": [{"audienceId": "aud-qa", "notifyTeamKeys": ["qa-team"]}],
    }
    assert run.outputs["changed"] == "false"
    assert (run.outputs["status"], run.outputs["started"]) == ("NotStarted", "false")
    assert (
        "with headers Authorization: ***, LD-API-Version: beta, Accept: application/json, "
        f"User-Agent: ld-release-phase/{__version__}"
    ) in "\n".join(run.log_lines)
    assert TOKEN not in run.everything()
    assert "dry run, nothing was changed" in run.annotations("notice")[0].message


def test_dry_run_still_refuses_bad_audiences(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(
        inputs_for(standin.url, phase="QA", audiences='[{"audienceName": "Nope"}]', dry_run="true"), tmp_path
    )

    assert run.returncode == 2
    assert "audienceName 'Nope' is not an audience of phase 'QA'" in run.error.message


def test_a_second_identical_run_writes_nothing(standin: StandIn, tmp_path: Path) -> None:
    first = run_entrypoint(inputs_for(standin.url, phase="QA"), tmp_path / "first")
    second = run_entrypoint(inputs_for(standin.url, phase="QA"), tmp_path / "second")

    assert (first.returncode, second.returncode) == (0, 0)
    assert len(standin.writes) == 1
    assert first.outputs["changed"] == "true"
    assert second.outputs["changed"] == "false"
    assert second.outputs["started"] == "true"
    assert "already Started; nothing to change" in second.annotations("notice")[0].message


def test_starting_a_phase_that_already_completed_is_a_no_op(live_standin: StandIn, tmp_path: Path) -> None:
    live_standin.set_phase("Testing", "Complete")

    run = run_entrypoint(inputs_for(live_standin.url, phase="Testing", status="active"), tmp_path)

    assert run.returncode == 0
    assert live_standin.writes == []
    assert (run.outputs["changed"], run.outputs["complete"], run.outputs["status"]) == (
        "false",
        "true",
        "completed",
    )


def test_wait_for_started_returns_at_once_when_met(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()

    run = run_in_process(inputs_for(standin.url, wait_for="started"), tmp_path, clock, standin=standin)

    assert run.returncode == 0
    assert clock.sleeps == []
    assert [r.method for r in standin.requests] == ["GET", "PUT"]
    # The notice says what the step did, once; nothing about a wait that never happened.
    assert [n.message for n in run.annotations("notice")] == ["Phase 'Testing': NotStarted → Started."]
    assert not any("already" in line or "Waiting" in line for line in run.log_lines)


def test_wait_for_complete_polls_until_the_phase_completes(live_standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()

    # The first read is the action's own; the phase completes before the third poll's.
    live_standin.on_read(4, lambda: live_standin.set_phase("Testing", "Complete"))

    run = run_in_process(
        inputs_for(live_standin.url, wait_for="complete", poll_interval="20s"),
        tmp_path,
        clock,
        standin=live_standin,
    )

    assert run.returncode == 0, run.stdout
    assert clock.sleeps == [20.0, 20.0, 20.0]
    assert (run.outputs["complete"], run.outputs["status"], run.outputs["changed"]) == (
        "true",
        "completed",
        "true",
    )
    changes = [line for line in run.log_lines if line.startswith("Phase 'Testing': active →")]
    assert changes == ["Phase 'Testing': active → completed after 1m."]  # one line per change, not per poll
    assert "Waited 1m (3 polls) for the phase to be complete." in run.summary
    # The wait says who can complete the phase: not LaunchDarkly on its own.
    waiting = next(line for line in run.log_lines if line.startswith("Waiting up to"))
    assert "LaunchDarkly completes a phase when the next phase starts" in waiting


def test_wait_that_never_completes_fails_near_its_timeout_having_polled(
    standin: StandIn, tmp_path: Path
) -> None:
    clock = FakeClock()

    run = run_in_process(
        inputs_for(standin.url, wait_for="complete", wait_timeout="1m", poll_interval="15s"),
        tmp_path,
        clock,
        standin=standin,
    )

    assert run.returncode == 6
    assert sum(clock.sleeps) == 60.0
    # Polls every 15s, the last one at the deadline itself.
    assert len([r for r in standin.requests if r.method == "GET"]) == 1 + 4
    assert run.error.properties["title"] == "Timed out waiting for the phase"
    assert "was not complete after 1m (4 polls); its last status was Started" in run.error.message
    assert run.outputs == {}


def test_poll_interval_longer_than_the_remaining_time_is_cut_to_the_deadline(
    standin: StandIn, tmp_path: Path
) -> None:
    clock = FakeClock()

    run = run_in_process(
        inputs_for(standin.url, wait_for="complete", wait_timeout="50", poll_interval="30"),
        tmp_path,
        clock,
        standin=standin,
    )

    assert run.returncode == 6
    assert clock.sleeps == [30.0, 20.0]


@pytest.mark.parametrize(
    ("change", "title"),
    [
        (lambda s: s.cancel(), "Release canceled"),
        (lambda s: s.set_phase("Testing", "Paused"), "Phase paused"),
    ],
)
def test_cancel_or_pause_during_the_wait_fails_fast(
    standin: StandIn, tmp_path: Path, change: object, title: str
) -> None:
    clock = FakeClock()

    standin.on_read(2, lambda: change(standin))  # type: ignore[operator]

    run = run_in_process(
        inputs_for(standin.url, wait_for="complete", wait_timeout="1h"), tmp_path, clock, standin=standin
    )

    assert run.returncode == 6
    assert run.error.properties["title"] == title
    assert clock.sleeps == [15.0]


def test_a_canceled_release_is_refused_before_any_write(standin: StandIn, tmp_path: Path) -> None:
    standin.cancel(at=1700000000000)

    run = run_entrypoint(inputs_for(standin.url), tmp_path)

    assert run.returncode == 6
    assert "was canceled" in run.error.message
    assert standin.writes == []


def test_polling_rides_out_rate_limits(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()

    # The action's own read comes first; the first poll after it is rate limited, and the phase
    # has completed by the retried poll (scripted answers are not counted as reads).
    standin.on_read(1, lambda: standin.fail_next(Fault(429, headers={"Retry-After": "5"}, method="GET")))
    standin.on_read(2, lambda: standin.set_phase("Testing", "Complete"))

    run = run_in_process(inputs_for(standin.url, wait_for="complete"), tmp_path, clock, standin=standin)

    assert run.returncode == 0, run.stdout
    assert clock.sleeps[0] == 15.0  # the poll interval
    assert 5.0 <= clock.sleeps[1] <= 6.0  # then the rate-limit wait, honoured
    assert run.outputs["complete"] == "true"


def test_next_phase_outputs_chain_to_the_following_step(standin: StandIn, tmp_path: Path) -> None:
    first = run_entrypoint(inputs_for(standin.url, phase="next"), tmp_path / "1")
    second = run_entrypoint(inputs_for(standin.url, phase=first.outputs["next-phase-id"]), tmp_path / "2")

    assert first.outputs["phase-name"] == "Testing"
    assert second.outputs["phase-name"] == "QA"
    assert second.outputs["next-phase-name"] == "Production"


def test_step_summary_shows_every_phase_the_target_and_the_change(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(standin.url, phase="QA", wait_for="started"), tmp_path)

    rows = [line for line in run.summary.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [row.split("|")[2].strip() for row in rows] == ["Testing", "QA", "Production"]
    assert [row.split("|")[1].strip() for row in rows] == ["", "➡️", ""]
    assert "Production EU (prod-eu): ready-to-start, Production US (prod-us): ready-to-start" in rows[2]
    assert "Phase 'QA': NotStarted → Started." in run.summary
    assert "already" not in run.summary
    assert TOKEN not in run.summary


@pytest.mark.parametrize(
    ("entry", "sent_id"),
    [
        ({"audienceName": "Production US"}, "aud-prod-us"),
        ({"audienceName": "production eu"}, "aud-prod-eu"),
        ({"environmentKey": "prod-eu"}, "aud-prod-eu"),
        ({"audienceId": "aud-prod-us"}, "aud-prod-us"),
    ],
)
def test_audiences_named_by_name_or_environment_send_the_id(
    standin: StandIn, tmp_path: Path, entry: dict[str, str], sent_id: str
) -> None:
    entry_with_config = entry | {"notifyMemberIds": ["m-1"]}

    run = run_entrypoint(
        inputs_for(standin.url, phase="Production", audiences=json.dumps([entry_with_config])), tmp_path
    )

    assert run.returncode == 0, run.stdout
    assert standin.writes[0].json()["audiences"] == [{"audienceId": sent_id, "notifyMemberIds": ["m-1"]}]


def test_ambiguous_environment_key_lists_what_exists(standin: StandIn, tmp_path: Path) -> None:
    standin.set_audience_environment("Production", 1, "prod-eu")

    run = run_entrypoint(
        inputs_for(standin.url, phase="Production", audiences='[{"environmentKey": "prod-eu"}]'), tmp_path
    )

    assert run.returncode == 2
    assert "matches more than one audience" in run.error.message
    assert "Production EU (id aud-prod-eu, environment prod-eu)" in run.error.message
    assert standin.writes == []


def test_an_entry_must_name_exactly_one_audience(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(
        inputs_for(
            standin.url, audiences='[{"audienceId": "a", "audienceName": "b"}, {"notifyTeamKeys": []}]'
        ),
        tmp_path,
    )

    assert run.returncode == 2
    assert "audiences[0]: each entry needs exactly one of" in run.error.message
    assert "(got audienceId and audienceName)" in run.error.message
    assert "audiences[1]: each entry needs exactly one of" in run.error.message


@pytest.mark.parametrize(
    ("given", "resolved"),
    [
        ("commercial", "https://app.launchdarkly.com"),
        ("federal", "https://app.launchdarkly.us"),
        ("EU", "https://app.eu.launchdarkly.com"),
        ("", "https://app.launchdarkly.com"),
        ("https://relay.example.com/", "https://relay.example.com"),
        ("http://localhost:8765", "http://localhost:8765"),
        ("http://[::1]:8765", "http://[::1]:8765"),
        ("http://127.0.0.2", "http://127.0.0.2"),
    ],
)
def test_base_uri_presets_and_loopback_http(given: str, resolved: str) -> None:
    inputs = parse_inputs(
        {"access-token": TOKEN, "project": "p", "flag": "f", "phase": "x", "base-uri": given}
    )

    assert inputs.base_uri == resolved


def test_dry_run_does_not_wait(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()

    run = run_in_process(
        inputs_for(standin.url, wait_for="complete", dry_run="true"), tmp_path, clock, standin=standin
    )

    assert run.returncode == 0
    assert clock.sleeps == []
    assert "Dry run: not waiting for the phase to be complete." in run.log_lines


def _paused(standin: StandIn, name: str = "Testing") -> None:
    standin.set_phase(name, "Started")
    standin.set_phase(name, "Paused")
    assert standin.phase(name)["started"] is True  # it did start once


def test_a_paused_phase_reads_as_not_started(any_standin: StandIn, tmp_path: Path) -> None:
    _paused(any_standin)

    run = run_entrypoint(inputs_for(any_standin.url, dry_run="true"), tmp_path)

    assert_clean(run, 0)
    assert (run.outputs["started"], run.outputs["complete"]) == ("false", "false")
    assert run.outputs["status"] in ("paused", "Paused")
    assert "Pipeline 'Standard release pipeline': [⏸ Testing]" in "\n".join(run.log_lines)


def test_waiting_for_started_on_a_phase_that_stays_paused_fails_with_exit_6(
    standin: StandIn, tmp_path: Path
) -> None:
    _paused(standin)
    standin.keep_the_next_put()  # LaunchDarkly answers, but keeps it paused

    run = run_entrypoint(inputs_for(standin.url, wait_for="started"), tmp_path)

    assert_clean(run, 6)
    assert run.error.properties["title"] == "Phase paused"
    assert len(standin.writes) == 1
    assert run.outputs == {}


def test_a_poll_whose_retries_run_out_is_an_api_failure_not_a_timeout(
    standin: StandIn, tmp_path: Path
) -> None:
    clock = FakeClock()

    standin.on_read(1, lambda: standin.fail_next(Fault(500, method="GET")))

    # One poll at 1s, 0.2s before the deadline: its only attempt fails, and no retry is allowed.
    run = run_in_process(
        inputs_for(
            standin.url, wait_for="complete", wait_timeout="1.2s", poll_interval="1s", max_retries="0"
        ),
        tmp_path,
        clock,
    )

    assert run.returncode == 5
    assert "failed after 1 attempt: HTTP 500" in run.error.message


def _accepted_but_not_yet_started(standin: StandIn, start_on_get: int) -> None:
    """LaunchDarkly takes the PUT but still shows the phase ready; it starts at a later read."""
    standin.keep_the_next_put()
    standin.on_read(start_on_get, lambda: standin.start_phase("Testing"))


@pytest.mark.parametrize(("interval", "timeout"), [("1s", "1s"), ("1h", "3s"), ("30s", "20s")])
def test_a_wait_reads_the_release_at_its_deadline_whatever_the_interval(
    live_standin: StandIn, tmp_path: Path, interval: str, timeout: str
) -> None:
    _accepted_but_not_yet_started(live_standin, start_on_get=2)
    clock = FakeClock()

    run = run_in_process(
        inputs_for(live_standin.url, wait_for="started", poll_interval=interval, wait_timeout=timeout),
        tmp_path,
        clock,
        standin=live_standin,
    )

    assert_clean(run, 0)
    assert clock.sleeps == [float(timeout.removesuffix("s"))]  # one read, at the deadline
    assert (run.outputs["started"], run.outputs["status"]) == ("true", "active")
    assert (
        "Waited" in run.annotations("notice")[0].message
        and "(1 poll)" in run.annotations("notice")[0].message
    )


def test_a_wait_that_times_out_has_read_the_release_at_least_once(
    live_standin: StandIn, tmp_path: Path
) -> None:
    _accepted_but_not_yet_started(live_standin, start_on_get=99)
    clock = FakeClock()

    run = run_in_process(
        inputs_for(live_standin.url, wait_for="started", poll_interval="1h", wait_timeout="3s"),
        tmp_path,
        clock,
        standin=live_standin,
    )

    assert_clean(run, 6)
    assert "(1 poll); its last status was ready-to-start" in run.error.message
    assert [r.method for r in live_standin.requests] == ["GET", "PUT", "GET"]


@pytest.mark.parametrize(
    ("retry_after", "timeout", "interval"),
    [("20", "3s", "1s"), ("600", "5m", "1m")],
    ids=["past the wait", "past the wait and the call's own budget"],
)
def test_a_rate_limited_poll_cannot_carry_a_wait_past_its_timeout(
    standin: StandIn, tmp_path: Path, retry_after: str, timeout: str, interval: str
) -> None:
    clock = FakeClock()

    standin.on_read(
        1, lambda: standin.fail_next(Fault(429, headers={"Retry-After": retry_after}, method="GET"))
    )

    run = run_in_process(
        inputs_for(standin.url, wait_for="complete", wait_timeout=timeout, poll_interval=interval),
        tmp_path,
        clock,
        standin=standin,
    )

    assert_clean(run, 6)  # the wait ends: not a failed call (exit 5)
    assert run.error.properties["title"] == "Timed out waiting for the phase"
    assert sum(clock.sleeps) <= float(timeout[:-1]) * (60 if timeout.endswith("m") else 1)


def test_a_poll_that_never_answers_ends_the_wait_at_its_deadline_not_a_request_timeout_later(
    live_standin: StandIn, tmp_path: Path
) -> None:
    live_standin.keep_the_next_put()  # the phase stays ready-to-start: the step has to wait
    # The first poll gets no answer for a minute; request-timeout is 30s.
    live_standin.on_read(1, lambda: live_standin.fail_next(Fault(200, delay=60, method="GET")))

    started = time.monotonic()
    run = run_entrypoint(
        inputs_for(live_standin.url, wait_for="started", wait_timeout="3s", poll_interval="1s"), tmp_path
    )
    took = time.monotonic() - started

    assert_clean(run, 6)
    assert run.error.properties["title"] == "Timed out waiting for the phase"
    # The wait (3s) and the stated grace for its last read, plus the process's own start.
    assert took < 3 + DEADLINE_GRACE + 3.0, f"the step took {took:.1f}s"


def test_a_canceled_release_is_reported_as_canceled_before_the_phase_is_looked_up(
    live_standin: StandIn, tmp_path: Path
) -> None:
    live_standin.advance_to("Production")
    live_standin.start_phase("Production")
    live_standin.set_phase("Production", "Complete")
    live_standin.cancel(at=1_700_000_000_000)

    run = run_entrypoint(inputs_for(live_standin.url, phase="next"), tmp_path)

    assert_clean(run, 6)
    assert run.error.properties["title"] == "Release canceled"
    assert live_standin.writes == []


def test_while_waiting_the_log_says_each_change_and_progress_at_most_once_a_minute(
    live_standin: StandIn, tmp_path: Path
) -> None:
    clock = FakeClock()

    quiet = run_in_process(
        inputs_for(live_standin.url, wait_for="complete", wait_timeout="5m", poll_interval="15s"),
        tmp_path / "a",
        clock,
        standin=live_standin,
    )
    reads = len([r for r in live_standin.requests if r.method == "GET"])
    live_standin.add_release("demo", "new-checkout")
    debug = run_in_process(
        inputs_for(live_standin.url, wait_for="complete", wait_timeout="1m", poll_interval="15s"),
        tmp_path / "b",
        FakeClock(),
        {"RUNNER_DEBUG": "1"},
        standin=live_standin,
    )

    assert quiet.returncode == 6
    progress = [line for line in quiet.log_lines if line.startswith("Phase 'Testing' is still")]
    assert progress == [f"Phase 'Testing' is still active after {m}m of 5m." for m in (1, 2, 3, 4, 5)]
    # 20 polls, but only the step's own two calls are shown as calls.
    assert reads == 1 + 20
    assert len(quiet.annotations("group")) == 2
    assert len(debug.annotations("group")) == 2 + 4  # with debug logging, each poll too


def test_an_approval_audience_is_reported_as_launchdarkly_sends_it_and_started_means_only_active(
    live_standin: StandIn, tmp_path: Path
) -> None:
    live_standin.start_phase("Testing")
    qa = live_standin.phase("QA")
    assert qa["_audiences"][0]["configuration"]["requireApproval"] is True

    run = run_in_process(
        inputs_for(live_standin.url, phase="QA", wait_for="started"),
        tmp_path,
        FakeClock(),
        standin=live_standin,
    )

    assert_clean(run, 0)
    # The phase is active at once and the audience stays ready-to-start, as recorded: the
    # action reports both as they are and claims nothing about an approval.
    assert (run.outputs["status"], run.outputs["started"]) == ("active", "true")
    assert json.loads(run.outputs["audiences"]) == [
        {"id": qa["_audiences"][0]["_id"], "name": "QA", "environment": "qa", "status": "ready-to-start"}
    ]
    assert "Audiences of phase 'QA', as LaunchDarkly reports them: QA (qa): ready-to-start." in run.log_lines
    assert "QA (qa): ready-to-start" in run.summary
    assert "approv" not in run.annotations("notice")[0].message
