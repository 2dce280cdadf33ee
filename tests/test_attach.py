"""Putting a flag on its release pipeline from CI, when it has none yet (``release-pipeline``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from expect import assert_clean_failure, assert_clean_success
from harness import TOKEN, FakeClock, inputs_for, run_entrypoint, run_in_process
from standin import DEMO_PIPELINE, Fault, StandIn

NEW_FLAG = "brand-new-flag"
WIRE = {"live": "active", "spec": "Started"}


@pytest.fixture
def new_flag(any_standin: StandIn) -> StandIn:
    """A flag with no release yet, and the project's standard pipeline to put it on."""
    any_standin.add_flag("demo", NEW_FLAG)
    any_standin.add_pipeline("demo")
    return any_standin


def attach_inputs(standin: StandIn, **overrides: str) -> dict[str, str]:
    return inputs_for(standin.url, flag=NEW_FLAG, phase="next", release_pipeline=DEMO_PIPELINE) | {
        name.replace("_", "-"): value for name, value in overrides.items()
    }


def attaches(standin: StandIn) -> list[dict[str, object]]:
    return [r.json() for r in standin.writes if r.path.endswith("/release")]


def phase_puts(standin: StandIn) -> list[dict[str, object]]:
    return [r.json() for r in standin.writes if "/phases/" in r.path]


def test_a_flag_without_a_release_is_put_on_the_pipeline_and_its_first_phase_started(
    new_flag: StandIn, tmp_path: Path
) -> None:
    run = run_entrypoint(attach_inputs(new_flag), tmp_path)

    assert_clean_success(run)
    assert attaches(new_flag) == [{"releasePipelineKey": DEMO_PIPELINE}]
    assert phase_puts(new_flag) == [{"status": WIRE[new_flag.dialect]}]
    assert [r.method for r in new_flag.requests] == ["GET", "PUT", "PUT"]
    assert new_flag.requests[1].path == f"/api/v2/projects/demo/flags/{NEW_FLAG}/release"
    assert (run.outputs["release-created"], run.outputs["changed"], run.outputs["started"]) == ("true",) * 3
    assert run.outputs["phase-name"] == "Testing"
    assert run.outputs["release-pipeline-key"] == DEMO_PIPELINE
    assert f"Flag '{NEW_FLAG}' has no release yet: putting it on release pipeline '{DEMO_PIPELINE}'." in (
        run.log_lines
    )
    assert run.annotations("notice")[0].message.startswith(
        f"Put the flag on release pipeline '{DEMO_PIPELINE}'. "
    )
    assert f"Put the flag on release pipeline '{DEMO_PIPELINE}'" in run.summary


def test_a_re_run_attaches_nothing(new_flag: StandIn, tmp_path: Path) -> None:
    first = run_entrypoint(attach_inputs(new_flag, phase="Testing"), tmp_path / "1")
    second = run_entrypoint(attach_inputs(new_flag, phase="Testing"), tmp_path / "2")

    assert_clean_success(first)
    assert_clean_success(second)
    assert len(attaches(new_flag)) == 1
    assert len(phase_puts(new_flag)) == 1
    assert (second.outputs["release-created"], second.outputs["changed"]) == ("false", "false")


def test_a_flag_on_another_pipeline_is_never_moved(any_standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(any_standin.url, release_pipeline="other-pipeline"), tmp_path)

    assert run.returncode == 2
    assert run.error.properties["title"] == "Invalid input 'release-pipeline'"
    assert f"already on release pipeline '{DEMO_PIPELINE}', not 'other-pipeline'" in run.error.message
    assert any_standin.writes == []
    assert run.outputs == {}


def test_a_flag_already_on_the_same_pipeline_is_left_as_it_is(any_standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(any_standin.url, release_pipeline=DEMO_PIPELINE), tmp_path)

    assert_clean_success(run)
    assert attaches(any_standin) == []
    assert run.outputs["release-created"] == "false"


def test_the_release_variation_is_passed_through(new_flag: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(attach_inputs(new_flag, release_variation="variation-false"), tmp_path)

    assert_clean_success(run)
    assert attaches(new_flag) == [
        {"releasePipelineKey": DEMO_PIPELINE, "releaseVariationId": "variation-false"}
    ]
    assert json.loads(run.outputs["release"])["_releaseVariationId"] == "variation-false"


def test_a_release_variation_without_a_pipeline_is_an_input_error(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(standin.url, release_variation="variation-false"), tmp_path)

    assert run.returncode == 2
    assert run.error.properties["title"] == "Invalid input 'release-variation'"
    assert standin.requests == []


def test_an_unknown_pipeline_is_not_found(new_flag: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(attach_inputs(new_flag, release_pipeline="no-such-pipeline"), tmp_path)

    assert run.returncode == 4
    assert "no release pipeline 'no-such-pipeline'" in run.error.message
    assert "HTTP 404" in run.error.message
    assert phase_puts(new_flag) == []


def test_a_dry_run_shows_the_attach_and_sends_nothing(new_flag: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(attach_inputs(new_flag, dry_run="true"), tmp_path)

    assert_clean_success(run)
    assert new_flag.writes == []
    log = "\n".join(run.log_lines)
    assert f"Dry run: would send PUT {new_flag.url}/api/v2/projects/demo/flags/{NEW_FLAG}/release" in log
    assert '"releasePipelineKey": "standard-pipeline"' in log
    assert (run.outputs["release-created"], run.outputs["changed"], run.outputs["started"]) == ("false",) * 3
    assert run.outputs["phase-id"] == ""
    assert (run.outputs["release"], run.outputs["audiences"]) == ("null", "null")  # still JSON
    assert json.loads(run.outputs["release"]) is None
    assert "nothing was changed" in run.annotations("notice")[0].message


def test_without_release_pipeline_a_flag_without_a_release_is_not_found(
    new_flag: StandIn, tmp_path: Path
) -> None:
    run = run_entrypoint(attach_inputs(new_flag, release_pipeline=""), tmp_path)

    assert run.returncode == 4
    assert "set 'release-pipeline'" in run.error.message
    assert new_flag.writes == []


def test_an_attach_that_landed_before_the_connection_dropped_is_not_repeated(
    new_flag: StandIn, tmp_path: Path
) -> None:
    new_flag.fail_next(Fault(drop=True, applied=True, method="PUT"))

    run = run_in_process(attach_inputs(new_flag), tmp_path, FakeClock(), standin=new_flag)

    assert_clean_success(run)
    assert len(attaches(new_flag)) == 1  # read again, found the release, did not repeat
    assert [r.method for r in new_flag.requests] == ["GET", "PUT", "GET", "PUT"]
    assert run.outputs["release-created"] == "true"


def test_an_attach_that_did_not_land_is_repeated_after_reading_again(
    new_flag: StandIn, tmp_path: Path
) -> None:
    new_flag.fail_next(Fault(drop=True, method="PUT"))

    run = run_in_process(attach_inputs(new_flag), tmp_path, FakeClock(), standin=new_flag)

    assert_clean_success(run)
    assert [r.method for r in new_flag.requests] == ["GET", "PUT", "GET", "PUT", "PUT"]
    assert len(attaches(new_flag)) == 2
    assert run.outputs["release-created"] == "true"


def test_the_stand_in_refuses_to_attach_a_flag_that_has_a_release(any_standin: StandIn) -> None:
    import requests

    any_standin.add_pipeline("demo")
    answer = requests.put(
        f"{any_standin.url}/api/v2/projects/demo/flags/new-checkout/release",
        json={"releasePipelineKey": DEMO_PIPELINE},
        headers={"Authorization": TOKEN, "LD-API-Version": "beta"},
        timeout=10,
    )

    assert answer.status_code == 400


@pytest.mark.parametrize(
    "fault", [Fault(drop=True, method="PUT"), Fault(409, method="PUT")], ids=["drop", "409"]
)
def test_a_release_on_another_pipeline_found_after_a_failed_attach_is_refused_without_a_write(
    new_flag: StandIn, tmp_path: Path, fault: Fault
) -> None:
    new_flag.fail_next(fault)
    new_flag.add_pipeline("demo", "other-pipe")
    # Another job puts the flag on another pipeline while this step's attach is in flight.
    new_flag.on_read(2, lambda: new_flag.move_to_pipeline("other-pipe", flag=NEW_FLAG))

    run = run_in_process(attach_inputs(new_flag), tmp_path, FakeClock(), standin=new_flag)

    assert_clean_failure(run, 2, "Invalid input 'release-pipeline'", "'other-pipe', not 'standard-pipeline'")
    assert [r.method for r in new_flag.requests] == ["GET", "PUT", "GET"]  # read again, not repeated
    assert phase_puts(new_flag) == []


def test_a_conflict_on_the_attach_is_read_again_before_anything_is_repeated(
    new_flag: StandIn, tmp_path: Path
) -> None:
    new_flag.fail_next(Fault(409, method="PUT", applied=True))

    run = run_in_process(attach_inputs(new_flag), tmp_path, FakeClock(), standin=new_flag)

    assert_clean_success(run)
    assert len(attaches(new_flag)) == 1  # the conflict's read found the release: no second attach
    assert [r.method for r in new_flag.requests] == ["GET", "PUT", "GET", "PUT"]
