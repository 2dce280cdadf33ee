"""Speaking LaunchDarkly's live language: the default step starts a phase on the live service.

The ``live`` stand-in behaves as the live service was recorded behaving: it accepts only
``{"status": "active"}`` and answers anything else with its exact 400. The ``spec`` stand-in
follows the API specification (PascalCase, ``Started``). The default path must work on both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from expect import assert_clean_failure, assert_clean_success
from harness import TOKEN, action_defaults, inputs_for, run_entrypoint
from standin import ONLY_ACTIVE, Fault, StandIn

WIRE = {"live": "active", "spec": "Started"}
REFUSED = {"code": "invalid_request", "message": ONLY_ACTIVE, "id": "req-1"}


def default_step(standin: StandIn, **overrides: str) -> dict[str, str]:
    """A README step (token, project, flag, phase) with ``action.yml``'s defaults filled in."""
    return action_defaults() | inputs_for(standin.url, **overrides)


def test_the_live_stand_in_refuses_every_status_but_active_word_for_word(live_standin: StandIn) -> None:
    url = f"{live_standin.url}/api/v2/projects/demo/flags/new-checkout/release/phases/"
    phase_id = live_standin.phase_id("Testing")
    headers = {"Authorization": TOKEN, "LD-API-Version": "beta"}

    for status in ("Started", "Complete", "Paused", "NotStarted", "ReadyToStart", "complete", "Active"):
        answer = requests.put(url + phase_id, json={"status": status}, headers=headers, timeout=10)
        assert answer.status_code == 400
        assert answer.json()["message"] == "Phase status can only be manually updated to `Active`."
    assert requests.put(url + phase_id, json={"status": "active"}, headers=headers, timeout=10).ok


def test_a_new_live_release_reads_as_recorded(live_standin: StandIn) -> None:
    served = live_standin.served(live_standin.release())
    first, *later = served["phases"]

    assert served["_version"] == 0
    assert [phase["status"] for phase in served["phases"]] == ["ready-to-start", "not-started", "not-started"]
    assert len(first["_id"]) == 36 and first["_id"].count("-") == 4  # a UUID
    assert "_audiences" in first and "_creationDate" in first
    assert all("_audiences" not in phase and "_creationDate" not in phase for phase in later)
    assert first["_audiences"][0]["configuration"]["releaseStrategy"] in ("", "immediate-rollout")


def test_the_default_step_starts_a_phase_on_the_live_service(live_standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(default_step(live_standin, phase="Testing"), tmp_path)

    assert_clean_success(run)
    assert [(r.method, r.json()) for r in live_standin.writes] == [("PUT", {"status": "active"})]
    assert (run.outputs["status"], run.outputs["started"], run.outputs["complete"]) == (
        "active",
        "true",
        "false",
    )
    assert run.outputs["changed"] == "true"
    assert "Sending status 'active' (the release speaks LaunchDarkly's live spelling)." in run.log_lines
    assert run.annotations("notice")[0].message == "Phase 'Testing': ready-to-start → active."
    # The live service readies the phase that follows.
    release = json.loads(run.outputs["release"])
    assert [phase["status"] for phase in release["phases"]] == ["active", "ready-to-start", "not-started"]


def test_a_re_run_of_the_default_step_writes_nothing(any_standin: StandIn, tmp_path: Path) -> None:
    first = run_entrypoint(default_step(any_standin), tmp_path / "first")
    second = run_entrypoint(default_step(any_standin), tmp_path / "second")

    assert_clean_success(first)
    assert_clean_success(second)
    assert len(any_standin.writes) == 1
    assert (second.outputs["changed"], second.outputs["started"]) == ("false", "true")
    assert second.outputs["status"] == WIRE[any_standin.dialect]


@pytest.mark.parametrize("spelling", ["Started", "started", "start", "active", "Active", "ACTIVE"])
def test_every_spelling_of_start_goes_out_in_the_release_s_dialect(
    any_standin: StandIn, tmp_path: Path, spelling: str
) -> None:
    run = run_entrypoint(default_step(any_standin, phase="QA", status=spelling), tmp_path)

    assert_clean_success(run)
    assert [r.json() for r in any_standin.writes] == [{"status": WIRE[any_standin.dialect]}]
    assert run.outputs["started"] == "true"


def test_next_starts_the_following_phase_and_completes_the_one_before(
    any_standin: StandIn, tmp_path: Path
) -> None:
    first = run_entrypoint(default_step(any_standin, phase="next"), tmp_path / "1")
    second = run_entrypoint(default_step(any_standin, phase="next"), tmp_path / "2")

    assert_clean_success(first)
    assert_clean_success(second)
    assert (first.outputs["phase-name"], second.outputs["phase-name"]) == ("Testing", "QA")
    release = json.loads(second.outputs["release"])
    testing, qa, _ = release["phases"]
    assert (testing["complete"], qa["started"], qa["complete"]) == (True, True, False)
    assert [r.json()["status"] for r in any_standin.writes] == [WIRE[any_standin.dialect]] * 2


@pytest.mark.parametrize("status", ["Complete", "completed", "Paused", "NotStarted", "ready-to-start"])
def test_a_status_launchdarkly_refuses_is_one_clear_error_before_any_call(
    live_standin: StandIn, tmp_path: Path, status: str
) -> None:
    run = run_entrypoint(default_step(live_standin, status=status), tmp_path)

    assert run.returncode == 2
    assert "Traceback" not in run.everything()
    assert run.error.properties["title"] == "Invalid input 'status'"
    assert "LaunchDarkly completes a phase when the next one starts: start the next phase (phase: next)" in (
        run.error.message
    )
    assert live_standin.requests == []
    assert run.outputs == {}


def test_when_launchdarkly_refuses_the_spec_spelling_the_live_one_is_sent_once(
    standin: StandIn, tmp_path: Path
) -> None:
    # The release reads in the spec's spelling, but the service takes only "active".
    standin.fail_next(Fault(400, json.dumps(REFUSED).encode(), method="PUT"))

    run = run_entrypoint(default_step(standin), tmp_path)

    assert_clean_success(run)
    assert [r.json() for r in standin.writes] == [{"status": "Started"}, {"status": "active"}]
    assert (
        f"LaunchDarkly refused status 'Started' ({ONLY_ACTIVE}); sending 'active' instead." in run.log_lines
    )
    assert "LaunchDarkly took status 'active'." in run.log_lines
    assert run.outputs["started"] == "true"


def test_the_other_spelling_is_tried_only_once(standin: StandIn, tmp_path: Path) -> None:
    standin.fail_next(*[Fault(400, json.dumps(REFUSED).encode(), method="PUT") for _ in range(3)])

    run = run_entrypoint(default_step(standin), tmp_path)

    assert run.returncode == 5
    assert len(standin.writes) == 2
    assert (
        "HTTP 400 invalid_request: Phase status can only be manually updated to `Active`."
        in run.error.message
    )


def test_no_other_400_is_retried(standin: StandIn, tmp_path: Path) -> None:
    other = {"code": "invalid_request", "message": "Phase status can only be manually updated", "id": "r"}
    standin.fail_next(Fault(400, json.dumps(other).encode(), method="PUT"))

    run = run_entrypoint(default_step(standin), tmp_path)

    assert run.returncode == 5
    assert len(standin.writes) == 1


def test_starting_a_paused_phase_resumes_it(any_standin: StandIn, tmp_path: Path) -> None:
    any_standin.set_phase("Testing", "Started")
    any_standin.set_phase("Testing", "Paused")

    run = run_entrypoint(default_step(any_standin), tmp_path)

    assert_clean_success(run)
    assert [r.json() for r in any_standin.writes] == [{"status": WIRE[any_standin.dialect]}]
    assert (run.outputs["started"], run.outputs["changed"]) == ("true", "true")


def test_audiences_of_a_phase_not_yet_reached_can_be_given_only_by_id(
    live_standin: StandIn, tmp_path: Path
) -> None:
    production = live_standin.phase("Production")
    audience_id = production["_audiences"][0]["_id"]  # the service knows it, but does not list it yet

    by_environment = run_entrypoint(
        default_step(live_standin, phase="Production", audiences='[{"environmentKey": "prod-eu"}]'),
        tmp_path / "a",
    )
    by_id = run_entrypoint(
        default_step(live_standin, phase="Production", audiences=json.dumps([{"audienceId": audience_id}])),
        tmp_path / "b",
    )

    assert by_environment.returncode == 2
    assert "without its audiences" in by_environment.error.message
    assert_clean_success(by_id)
    assert [r.json() for r in live_standin.writes] == [
        {"status": "active", "audiences": [{"audienceId": audience_id}]}
    ]


def test_a_refused_start_of_a_legacy_pipelines_release_says_what_kind_of_pipeline_it_is(
    live_standin: StandIn, tmp_path: Path
) -> None:
    # The spec: releases of a legacy pipeline take a PATCH, not the phase PUT. What the live
    # service answers the PUT is not recorded; the stand-in refuses it with a 400 of its own.
    live_standin.mark_legacy()

    run = run_entrypoint(default_step(live_standin), tmp_path)

    assert_clean_failure(run, 5, "A legacy release pipeline", "'standard-pipeline' is a legacy pipeline")
    assert "PATCH" in run.error.message
    reads = [r.path for r in live_standin.requests if r.method == "GET"]
    assert reads[-1] == "/api/v2/projects/demo/release-pipelines/standard-pipeline"  # read only after the 400


def test_a_400_on_a_current_pipeline_is_not_blamed_on_its_kind(live_standin: StandIn, tmp_path: Path) -> None:
    other = {"code": "invalid_request", "message": "something else", "id": "r"}
    live_standin.fail_next(Fault(400, json.dumps(other).encode(), method="PUT"))

    run = run_entrypoint(default_step(live_standin), tmp_path)

    assert_clean_failure(run, 5, "something else")
    assert "legacy" not in run.error.message
