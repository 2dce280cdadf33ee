"""The environment-release action: start, re-run, stop, read and wait, against the stand-in.

Everything here relies on LaunchDarkly's published specification of environment releases
(``launchdarkly-api`` 25.0.1): no recording of the live service exists. Every body the action
sends and every answer the stand-in serves is checked against the generated models
(``conftest.assert_matches_launchdarkly``, through ``oracle_releases``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ld_release_phase.environment_releases.inputs import INPUT_NAMES, REQUIRED_INPUTS, ReleaseInputs
from ld_release_phase.environment_releases.render import OUTPUT_NAMES

from conftest import assert_matches_launchdarkly
from expect import assert_clean, assert_clean_failure, assert_clean_success
from harness import ROOT, TOKEN, ActionRun, FakeClock, release_inputs_for, run_entrypoint, run_in_process
from standin import Fault, StandIn
from standin_releases import BETA_RULE, new_rule_phase, steps

ACTION = ROOT / "environment-release" / "action.yml"
ARGS = ["environment-release"]
RULE = BETA_RULE
STEPS = "- {allocation: 10%, duration: 1h}\n- {allocation: 50%, duration: 1h}"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """The stand-in with a boolean flag (on in production, serving false), and a rule "Beta users"."""
    server = StandIn(token=TOKEN)
    server.environments.add_flag_with_rule()
    server.start()
    try:
        yield server
    finally:
        server.stop()
    assert_matches_launchdarkly(server)


def start_on_the_rule(**more: str) -> dict[str, str]:
    return {"target_variation": "Available", "rule": RULE, "steps": STEPS} | more


def run(standin: StandIn, tmp: Path, clock: FakeClock | None = None, /, **given: str) -> ActionRun:
    """The action in this process, the stand-in answering in memory."""
    return run_in_process(
        release_inputs_for(standin.url, **given), tmp, clock or FakeClock(), standin=standin, args=ARGS
    )


def posts(standin: StandIn) -> list[Any]:
    return [r.json() for r in standin.requests if r.method == "POST"]


def puts(standin: StandIn) -> list[Any]:
    return [r.json() for r in standin.requests if r.method == "PUT"]


def variation(standin: StandIn, name: str) -> str:
    flag = standin.environments.flag()
    return str(next(v["_id"] for v in flag["variations"] if v["name"] == name))


# -- the action's declared interface ----------------------------------------------------------


def test_action_yml_declares_exactly_the_inputs_and_outputs_the_code_uses() -> None:
    action = yaml.safe_load(ACTION.read_text())

    assert tuple(action["inputs"]) == INPUT_NAMES
    assert {name for name, spec in action["inputs"].items() if spec.get("required")} == set(REQUIRED_INPUTS)
    assert tuple(action["outputs"]) == OUTPUT_NAMES
    # The same image as the phase action, told which action runs by its arguments.
    assert action["runs"] == {"using": "docker", "image": "../Dockerfile", "args": ["environment-release"]}
    for name, field in ReleaseInputs.model_fields.items():
        declared = action["inputs"][field.alias or name]
        assert " ".join(declared["description"].split()) == field.description, name
        if not declared.get("required"):
            assert str(declared.get("default", "")) == field.default, name


# -- start ----------------------------------------------------------------------------------


def test_a_start_on_an_existing_rule_sends_one_post_and_reports_the_release(
    standin: StandIn, tmp_path: Path
) -> None:
    run_ = run(standin, tmp_path, **start_on_the_rule())

    assert_clean_success(run_)
    rule_id = standin.environments.flag()["environments"]["production"]["rules"][0]["_id"]
    assert posts(standin) == [
        {
            "originalVariationId": variation(standin, "Unavailable"),  # what the rule serves today
            "targetVariationId": variation(standin, "Available"),
            "randomizationUnit": "user",
            "phases": [{"ruleId": rule_id, "steps": steps(10_000, 50_000)}],
        }
    ]
    outputs = run_.outputs
    assert (outputs["status"], outputs["kind"], outputs["changed"]) == ("in_progress", "progressive", "true")
    assert (outputs["phase-index"], outputs["step-index"], outputs["allocation"]) == ("0", "0", "10")
    assert json.loads(outputs["release"])["id"] == outputs["release-id"]
    assert f"Started release {outputs['release-id']}" in run_.annotations("notice")[0].message


def test_new_rule_phases_with_metrics_make_a_guarded_release(standin: StandIn, tmp_path: Path) -> None:
    phases = (
        "- description: Employees\n"
        "  clauses:\n"
        "    - {contextKind: user, attribute: kind, op: in, values: [user]}\n"
        "    - {contextKind: user, attribute: email, op: endsWith, values: ['@example.com']}\n"
        "- description: Everyone\n"
        "  clauses: [{contextKind: user, attribute: kind, op: in, values: [user]}]\n"
    )
    run_ = run(
        standin,
        tmp_path,
        target_variation="true",  # by value, as the flag shows it
        phases=phases,
        steps="[{allocation: 5%, duration: 30m}, {allocation: 25%, duration: 2h}]",
        metrics="[{metricKey: checkout-errors, autoRollback: true}]",
        advancement_mode="manual",
    )

    assert_clean_success(run_)
    sent = posts(standin)[0]
    assert sent["advancementMode"] == "manual"
    assert sent["metrics"] == [{"metricKey": "checkout-errors", "autoRollback": True}]
    assert [phase["description"] for phase in sent["phases"]] == ["Employees", "Everyone"]
    assert sent["phases"][1]["steps"] == [
        {"allocation": 5_000, "durationMillis": 1_800_000},
        {"allocation": 25_000, "durationMillis": 7_200_000},
    ]
    assert run_.outputs["kind"] == "guarded"


def test_the_summary_shows_phases_steps_variations_and_metrics(standin: StandIn, tmp_path: Path) -> None:
    phases = (
        "- description: Everyone\n  clauses: [{contextKind: user, attribute: kind, op: in, values: [user]}]"
    )
    run_ = run(
        standin,
        tmp_path,
        target_variation="Available",
        phases=phases,
        steps="[{allocation: 5%, duration: 30m}, {allocation: 25%, duration: 2h}]",
        metrics="[latency]",
    )

    assert_clean_success(run_)
    summary = run_.summary
    assert "from Unavailable (false) to Available (true)" in summary
    assert "| 1. Everyone | in\\_progress | ▶ 1 of 2 (30m) | 5% |" in summary
    assert "|  |  | 2 of 2 (2h) | 25% | - | - |" in summary
    assert "| latency | pauses | ok |" in summary


def test_a_re_run_finds_its_own_release_running_and_sends_nothing(standin: StandIn, tmp_path: Path) -> None:
    first = run(standin, tmp_path / "first", **start_on_the_rule())
    second = run(standin, tmp_path / "second", **start_on_the_rule())

    assert_clean_success(second)
    assert len(posts(standin)) == 1
    assert (first.outputs["changed"], second.outputs["changed"]) == ("true", "false")
    assert second.outputs["release-id"] == first.outputs["release-id"]
    assert "already running; nothing was started" in second.annotations("notice")[0].message


def test_another_running_release_is_one_error_naming_it_and_how_to_stop_it(
    standin: StandIn, tmp_path: Path
) -> None:
    other = standin.environments.start_release(
        target="Available", original="Unavailable", phases=[new_rule_phase("Someone else's", 20_000)]
    )
    standin.environments.hold(other["id"])

    run_ = run(standin, tmp_path, **start_on_the_rule())

    assert_clean_failure(run_, 2, "Another release is running", other["id"])
    assert f"operation: stop with release-id: {other['id']}" in run_.error.message
    assert posts(standin) == []


@pytest.mark.parametrize(
    "fault",
    [Fault(drop=True, applied=True, method="POST"), Fault(503, applied=True, method="POST")],
    ids=["dropped after it landed", "5xx after it landed"],
)
def test_a_start_whose_answer_is_lost_is_read_back_not_sent_again(
    standin: StandIn, tmp_path: Path, fault: Fault
) -> None:
    standin.fail_next(fault)

    run_ = run(standin, tmp_path, **start_on_the_rule())

    assert_clean_success(run_)
    assert len(posts(standin)) == 1  # never two POSTs in one step
    assert run_.outputs["changed"] == "true"
    assert any("read the releases instead: release" in line for line in run_.log_lines)


def test_a_lost_start_whose_release_ended_by_the_read_back_is_still_this_steps(
    standin: StandIn, tmp_path: Path
) -> None:
    standin.fail_next(Fault(drop=True, applied=True, method="POST"))
    one_step = "[{allocation: 50%, duration: 1s}]"  # the read back moves it past its only step

    run_ = run(standin, tmp_path, **start_on_the_rule(steps=one_step))

    assert_clean_success(run_)
    assert len(posts(standin)) == 1
    assert (run_.outputs["status"], run_.outputs["changed"]) == ("completed", "true")


def test_a_start_lost_before_it_landed_is_one_error_and_one_post(standin: StandIn, tmp_path: Path) -> None:
    standin.fail_next(Fault(drop=True, method="POST"))

    run_ = run(standin, tmp_path, **start_on_the_rule())

    assert_clean_failure(run_, 5, "may not have reached LaunchDarkly")
    assert len(posts(standin)) == 1
    assert "Run the step again" in run_.error.message


def test_release_already_active_is_read_back_as_this_steps_own_start(
    standin: StandIn, tmp_path: Path
) -> None:
    # A start that landed, answered 409 release_already_active (as a retried start would be).
    conflict = json.dumps({"code": "release_already_active", "message": "A release is active", "id": "r"})
    standin.fail_next(Fault(409, conflict.encode(), applied=True, method="POST"))

    run_ = run(standin, tmp_path, **start_on_the_rule())

    assert_clean_success(run_)
    assert len(posts(standin)) == 1
    assert run_.outputs["status"] == "in_progress"


def test_a_rate_limited_start_is_tried_again_since_nothing_was_started(
    standin: StandIn, tmp_path: Path
) -> None:
    standin.fail_next(Fault(429, headers={"Retry-After": "1"}, method="POST"))

    run_ = run(standin, tmp_path, **start_on_the_rule())

    assert_clean_success(run_)
    assert [r.status for r in standin.requests if r.method == "POST"] == [429, 201]


# -- refusals, in the action's own words ------------------------------------------------------


def test_a_flag_that_is_off_is_refused_before_the_start(standin: StandIn, tmp_path: Path) -> None:
    standin.environments.set_on(False)

    run_ = run(standin, tmp_path, **start_on_the_rule())

    assert_clean_failure(run_, 2, "Flag is off", "Turn the flag on in 'production'")
    assert posts(standin) == []


def test_launchdarklys_409_for_a_flag_turned_off_meanwhile_says_to_turn_it_on(
    standin: StandIn, tmp_path: Path
) -> None:
    off = json.dumps({"code": "conflict", "message": "flag is off in the environment", "id": "r"}).encode()
    standin.fail_next(Fault(409, off, method="POST"))

    run_ = run(standin, tmp_path, **start_on_the_rule())

    assert_clean_failure(run_, 2, "Flag is off", "flag is off in the environment")
    assert len(posts(standin)) == 1


def test_an_environment_that_requires_approvals_says_what_to_do(standin: StandIn, tmp_path: Path) -> None:
    standin.environments.require_approvals(environment="production")

    run_ = run(standin, tmp_path, **start_on_the_rule())

    assert_clean_failure(run_, 3, "requires approvals", "bypassRequiredApproval")


def test_failing_health_checks_are_listed_with_the_input_that_bypasses_them(
    standin: StandIn, tmp_path: Path
) -> None:
    standin.environments.fail_health_checks(
        ("flag_evaluations_with_context", None, "no recent evaluations for user contexts"),
        ("metric_events_any", "latency", "no events"),
    )
    phases = "- clauses: [{contextKind: user, attribute: kind, op: in, values: [user]}]"
    given = {"target_variation": "Available", "phases": phases, "steps": "[{allocation: 5%, duration: 1h}]"}

    refused = run(standin, tmp_path / "a", **given, metrics="[latency]")

    assert_clean_failure(refused, 5, "health checks")
    message = refused.error.message
    assert "flag_evaluations_with_context: no recent evaluations for user contexts" in message
    assert "metric_events_any (latency): no events" in message
    assert "bypass-health-checks: flag_evaluations_with_context metric_events_any" in message

    standin.environments.fail_health_checks(("flag_evaluations_any", None, "no evaluations"))
    bypassed = run(standin, tmp_path / "b", **given, bypass_health_checks="flag_evaluations_any")
    assert_clean_success(bypassed)
    assert posts(standin)[-1]["bypassHealthChecks"] == ["flag_evaluations_any"]


def test_release_plans_not_yet_available_are_explained(standin: StandIn, tmp_path: Path) -> None:
    standin.environments.add_plan(
        "standard", environment="production", phases=[new_rule_phase("Plan", 10_000)]
    )
    standin.environments.set_plans_available(False)

    run_ = run(standin, tmp_path, target_variation="Available", release_plan="standard")

    assert_clean_failure(run_, 5, "Release plans are not available", "HTTP 422")


def test_a_release_plan_starts_with_only_its_key(standin: StandIn, tmp_path: Path) -> None:
    standin.environments.add_plan(
        "standard", environment="production", phases=[new_rule_phase("Plan", 10_000)]
    )

    run_ = run(standin, tmp_path, target_variation="Available", release_plan="standard", comment="deploy 42")

    assert_clean_success(run_)
    assert posts(standin) == [
        {
            "originalVariationId": variation(standin, "Unavailable"),
            "targetVariationId": variation(standin, "Available"),
            "releasePlanKey": "standard",
            "comment": "deploy 42",
        }
    ]


# -- validation before any call -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "needles"),
    [
        (
            {"steps": "[{allocation: 50%, duration: 1h}, {allocation: 10%, duration: 1h}]"},
            ["above the one before"],
        ),
        ({"steps": "[{allocation: 150%, duration: 1h}]"}, ["from 0.001% to 100%"]),
        (
            {"steps": "[{allocation: 60%, duration: 1h}]", "metrics": "[latency]"},
            ["at most 50%", "control group"],
        ),
        ({"steps": '[{"allocation": "10%", "duraton": "1h"}]'}, ["duraton: is not a field", "'duration'"]),
        (
            {"steps": "- allocation: 10%\n  duration: 1h\n  durationMillis: 5"},
            ["durationMillis: is not a field"],
        ),
        ({"release_plan": "standard"}, ["rule, phases or release-plan"]),
        ({"rule": "", "steps": STEPS}, ["'rule' is needed"]),
        (
            {"resolution": "roll_back_all_phases_and_remove_pending_phases"},
            ["only used with operation: stop"],
        ),
        (
            {"rule": "", "phases": "- clauses: [{attribute: email, op: endsWith, values: ['@x.com']}]"},
            ['"contextKind": "user", "attribute": "kind", "op": "in", "values": ["user"]'],
        ),
        ({"operation": "strat"}, ["Did you mean 'start'?"]),
    ],
    ids=[
        "falling",
        "over 100",
        "guarded over 50",
        "unknown field, JSON",
        "unknown field, YAML",
        "plan and rule",
        "nothing to run on",
        "a stop's input",
        "no kind clause",
        "operation typo",
    ],
)
def test_bad_inputs_are_refused_before_any_call(
    standin: StandIn, tmp_path: Path, given: dict[str, str], needles: list[str]
) -> None:
    run_ = run(standin, tmp_path, **(start_on_the_rule() | given))

    assert_clean_failure(run_, 2, *needles)
    assert standin.requests == []


def test_a_resolution_typo_gets_the_one_meant(standin: StandIn, tmp_path: Path) -> None:
    run_ = run(standin, tmp_path, operation="stop", resolution="roll_forward_all_phase")

    assert_clean_failure(run_, 2, "Did you mean 'roll_forward_all_phases'?")
    assert standin.requests == []


@pytest.mark.parametrize(
    ("given", "code", "needles"),
    [
        (
            {"target_variation": "Availabel"},
            2,
            ["no variation with id, name or value 'Availabel'", "'Available'"],
        ),
        ({"rule": "Beta user"}, 4, ["no rule with id or description 'Beta user'", "'Beta users'"]),
        ({"original_variation": "Available"}, 2, ["from variation Available (true) to itself"]),
    ],
    ids=["variation", "rule", "same variation"],
)
def test_what_does_not_fit_the_flag_is_refused_before_any_write(
    standin: StandIn, tmp_path: Path, given: dict[str, str], code: int, needles: list[str]
) -> None:
    run_ = run(standin, tmp_path, **(start_on_the_rule() | given))

    assert_clean_failure(run_, code, *needles)
    assert [r.method for r in standin.requests] == ["GET"]  # the flag, and nothing written


def test_an_original_served_by_a_percentage_rollout_must_be_named(standin: StandIn, tmp_path: Path) -> None:
    standin.environments.set_fallthrough_rollout([50_000, 50_000])
    phases = "- clauses: [{contextKind: user, attribute: kind, op: in, values: [user]}]"
    given = {"target_variation": "Available", "phases": phases, "steps": "[{allocation: 5%, duration: 1h}]"}

    unnamed = run(standin, tmp_path / "a", **given)
    named = run(standin, tmp_path / "b", **given, original_variation="Unavailable")

    assert_clean_failure(unnamed, 2, "percentage rollout")
    assert_clean_success(named)
    assert len(posts(standin)) == 1


def test_an_existing_rule_without_the_kind_clause_is_refused_showing_the_clause(
    standin: StandIn, tmp_path: Path
) -> None:
    standin.environments.add_rule(
        description="By email", clauses=[{"attribute": "email", "op": "endsWith", "values": ["@x.com"]}]
    )

    run_ = run(standin, tmp_path, **start_on_the_rule(rule="By email"))

    assert_clean_failure(
        run_, 2, '{"contextKind": "user", "attribute": "kind", "op": "in", "values": ["user"]}'
    )
    assert posts(standin) == []


# -- waiting ------------------------------------------------------------------------------------


def test_wait_for_completed_polls_until_the_release_completes(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()

    run_ = run(standin, tmp_path, clock, **start_on_the_rule(wait_for="completed", poll_interval="1m"))

    assert_clean_success(run_)
    assert run_.outputs["status"] == "completed"
    assert run_.outputs["status-reason"] == "completed_automatic"
    assert run_.outputs["allocation"] == "100"  # a completed phase serves the target to all of it
    assert "Waited" in run_.annotations("notice")[0].message
    # Each poll's move is said: the step and its allocation.
    assert any("step 2 of 2 at 50%" in line for line in run_.log_lines)


def test_a_reverted_release_fails_the_wait_naming_the_reason(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()
    phases = "- clauses: [{contextKind: user, attribute: kind, op: in, values: [user]}]"
    given = {
        "target_variation": "Available",
        "phases": phases,
        "steps": "[{allocation: 5%, duration: 1h}, {allocation: 10%, duration: 1h}]",
        "metrics": "[{metricKey: latency, autoRollback: true}]",
        "wait_for": "completed",
    }
    started: list[str] = []

    def regress_it() -> None:
        started.append(standin.environments.releases()[0]["id"])
        standin.environments.regress(started[0], "latency")

    standin.on_read(2, regress_it)  # the release list is read 1; the first poll finds it regressed

    run_ = run(standin, tmp_path, clock, **given)

    assert_clean_failure(run_, 6, "Release reverted", "a metric regressed and the release rolled back")


@pytest.mark.parametrize(
    ("setup", "needles"),
    [
        ("manual", ["only a person can advance it", "no API can"]),
        ("regression", ["a metric regressed", "paused"]),
    ],
)
def test_a_release_waiting_for_a_person_fails_the_wait_at_once_saying_why(
    standin: StandIn, tmp_path: Path, setup: str, needles: list[str]
) -> None:
    clock = FakeClock()
    kind = "- clauses: [{contextKind: user, attribute: kind, op: in, values: [user]}]\n"
    given = {
        "target_variation": "Available",
        "steps": "[{allocation: 5%, duration: 1h}]",
        "wait_for": "completed",
    }
    if setup == "manual":
        given |= {
            "phases": kind + "  description: One\n" + kind + "  description: Two",
            "advancement_mode": "manual",
        }
    else:
        given |= {"phases": kind, "metrics": "[{metricKey: latency, autoRollback: false}]"}

        def regress() -> None:
            standin.environments.regress(standin.environments.releases()[0]["id"], "latency")

        standin.on_read(2, regress)

    run_ = run(standin, tmp_path, clock, **given)

    assert_clean_failure(run_, 6, "waiting for a person", *needles)
    assert clock.now < 60 * 60  # at once, not at the wait's deadline


def test_a_wait_that_outlasts_its_timeout_fails_having_read_at_the_deadline(
    standin: StandIn, tmp_path: Path
) -> None:
    clock = FakeClock()
    standin.on_read(2, lambda: standin.environments.hold(standin.environments.releases()[0]["id"]))

    run_ = run(
        standin,
        tmp_path,
        clock,
        **start_on_the_rule(wait_for="completed", wait_timeout="5m", poll_interval="2m"),
    )

    assert_clean_failure(run_, 6, "had not completed after 5m")
    assert clock.sleeps == [120.0, 120.0, 60.0]


def test_progress_is_said_at_most_once_a_minute_while_nothing_moves(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()
    standin.on_read(2, lambda: standin.environments.hold(standin.environments.releases()[0]["id"]))

    run_ = run(
        standin,
        tmp_path,
        clock,
        **start_on_the_rule(wait_for="completed", wait_timeout="10m", poll_interval="10s"),
    )

    said = [line for line in run_.log_lines if line.startswith("After ")]
    assert 8 <= len(said) <= 11  # about one a minute over ten minutes, not one per poll (60)
    assert all("phase 1 of 1, step 1 of 2 at 10%" in line for line in said)


# -- stop and status --------------------------------------------------------------------------


def test_a_stop_sends_one_put_with_the_resolution(standin: StandIn, tmp_path: Path) -> None:
    release = standin.environments.start_release(
        target="Available", original="Unavailable", phases=[new_rule_phase("Canary", 10_000, 50_000)]
    )

    run_ = run(
        standin,
        tmp_path,
        operation="stop",
        resolution="roll-back-all-phases-and-remove-pending-phases",
        comment="smoke test failed",
    )

    assert_clean_success(run_)
    assert puts(standin) == [
        {"resolution": "roll_back_all_phases_and_remove_pending_phases", "comment": "smoke test failed"}
    ]
    assert (run_.outputs["release-id"], run_.outputs["status"], run_.outputs["changed"]) == (
        release["id"],
        "reverted",
        "true",
    )


def test_stopping_a_release_that_already_ended_changes_nothing_and_succeeds(
    standin: StandIn, tmp_path: Path
) -> None:
    release = standin.environments.start_release(
        target="Available", original="Unavailable", phases=[new_rule_phase("Canary", 10_000)]
    )
    standin.environments.discard(release["id"])

    run_ = run(
        standin, tmp_path, operation="stop", resolution="roll_forward_all_phases", release_id=release["id"]
    )

    assert_clean_success(run_)
    assert puts(standin) == []
    assert (run_.outputs["status"], run_.outputs["changed"]) == ("reverted", "false")


def test_a_current_phase_resolution_between_phases_is_explained_before_any_call(
    standin: StandIn, tmp_path: Path
) -> None:
    standin.environments.start_release(
        target="Available",
        original="Unavailable",
        phases=[new_rule_phase("One", 10_000), new_rule_phase("Two", 10_000)],
        advancement_mode="manual",
    )
    # Reading moves a release on: its first phase ends, and a manual release then waits.
    status = [run(standin, tmp_path / f"read-{n}", operation="status").outputs["status"] for n in range(3)]
    assert status[-1] == "waiting", status
    standin.requests.clear()

    run_ = run(
        standin, tmp_path, operation="stop", resolution="roll_back_current_phase_and_remove_pending_phases"
    )

    assert_clean_failure(run_, 2, "between phases", "roll_back_all_phases_and_remove_pending_phases")
    assert puts(standin) == []


def test_status_reads_and_writes_nothing(standin: StandIn, tmp_path: Path) -> None:
    release = standin.environments.start_release(
        target="Available", original="Unavailable", phases=[new_rule_phase("Canary", 10_000, 50_000)]
    )

    run_ = run(standin, tmp_path, operation="status")

    assert_clean_success(run_)
    assert [r.method for r in standin.requests] == ["GET", "GET"]
    assert (run_.outputs["release-id"], run_.outputs["changed"]) == (release["id"], "false")


def test_a_dry_run_shows_the_start_and_sends_nothing(standin: StandIn, tmp_path: Path) -> None:
    run_ = run(standin, tmp_path, **start_on_the_rule(dry_run="true"))

    assert_clean_success(run_)
    assert posts(standin) == []
    assert any(line.startswith("Dry run: would send POST ") for line in run_.log_lines)
    assert (run_.outputs["release"], run_.outputs["changed"]) == ("null", "false")


# -- as the runner runs it ------------------------------------------------------------------------


def test_the_entrypoint_runs_the_second_action_from_its_args_as_the_runner_does(
    standin: StandIn, tmp_path: Path
) -> None:
    run_ = run_entrypoint(release_inputs_for(standin.url, **start_on_the_rule()), tmp_path, args=ARGS)

    assert_clean(run_, 0)
    assert run_.outputs["status"] == "in_progress"
    assert TOKEN not in run_.everything()
    assert run_.commands[0].name == "add-mask"


def test_the_command_has_the_operations_as_a_subcommand(standin: StandIn, tmp_path: Path) -> None:
    flags = [
        "--project",
        "demo",
        "--flag",
        "new-checkout",
        "--environment",
        "production",
        "--base-uri",
        standin.url,
    ]

    run_ = run_entrypoint(
        {}, tmp_path, {"LD_ACCESS_TOKEN": TOKEN}, args=[*ARGS, *flags, "--operation", "status"]
    )

    assert run_.returncode == 4, run_.stderr  # no release yet
    assert json.loads(run_.stdout.splitlines()[-1])["exit-code"] == 4
    assert "No environment release" in run_.stderr


# -- the example workflow, job by job, on the flag a newcomer has -----------------------------------

EXAMPLE = ROOT / "examples" / "environment-release.yml"


def _example_steps() -> list[tuple[str, dict[str, Any]]]:
    """The example's environment-release steps, in the order its jobs run, with their job."""
    workflow = yaml.safe_load(EXAMPLE.read_text())
    return [
        (job, step)
        for job, spec in workflow["jobs"].items()
        for step in spec["steps"]
        if "/environment-release@" in str(step.get("uses", ""))
    ]


def _as_the_runner_passes(
    step: dict[str, Any], url: str, outputs: dict[str, dict[str, str]]
) -> dict[str, str]:
    """A step's ``with:`` as the runner passes it: expressions filled in, action.yml's defaults."""
    workflow = yaml.safe_load(EXAMPLE.read_text())
    known = {f"env.{name}": value for name, value in workflow["env"].items()}
    known["secrets.LD_ACCESS_TOKEN"] = TOKEN
    known |= {
        f"needs.{job}.outputs.{name}": value
        for job, written in outputs.items()
        for name, value in written.items()
    }
    given = {}
    for name, value in step["with"].items():
        text = str(value)
        for expression, filled in known.items():
            text = text.replace("${{ " + expression + " }}", filled)
        assert "${{" not in text, text
        given[name] = text
    defaults = {
        name: str(spec.get("default", ""))
        for name, spec in yaml.safe_load(ACTION.read_text())["inputs"].items()
    }
    return defaults | given | {"base-uri": url}


@pytest.mark.parametrize("smoke_test_passes", [True, False], ids=["the check passes", "the check fails"])
def test_the_example_workflow_works_as_its_jobs_run(
    standin: StandIn, tmp_path: Path, smoke_test_passes: bool
) -> None:
    # The flag as the example names it: on in production, serving false, with its rule.
    standin.environments.add_flag_with_rule(project="my-project")
    clock = FakeClock()
    outputs: dict[str, dict[str, str]] = {}
    ran: list[tuple[str, int]] = []
    for index, (job, step) in enumerate(_example_steps()):
        if job == "verify" and smoke_test_passes:
            continue  # the roll-back step runs only when the smoke test failed
        if job == "finish" and not smoke_test_passes:
            break  # a failed verify job: the jobs that need it are skipped
        run_ = run_in_process(
            _as_the_runner_passes(step, standin.url, {"release": outputs.get("release", {})}),
            tmp_path / str(index),
            clock,
            standin=standin,
            args=ARGS,
        )
        ran.append((job, run_.returncode))
        outputs.setdefault(job, run_.outputs)

    if smoke_test_passes:
        # The release completes, so the job after it (announce) runs.
        assert ran == [("release", 0), ("finish", 0)]
        assert outputs["finish"]["status"] == "completed"
    else:
        # Rolled back while rolling out; the job failed, so finish and announce are skipped.
        assert ran == [("release", 0), ("verify", 0)]
        assert outputs["verify"]["status"] == "reverted"
    assert len(posts(standin)) == 1


def test_the_readme_shows_the_example_workflow_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text()

    assert EXAMPLE.read_text().split("name:", 1)[1] in readme


def test_the_readme_documents_every_input_and_output_of_the_second_action() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Environment releases: the second action", 1)[1].split("\n## ", 1)[0]
    action = yaml.safe_load(ACTION.read_text())

    for name in [*action["inputs"], *action["outputs"]]:
        assert f"| `{name}` |" in section, name
    assert "has not yet been\nchecked against a live LaunchDarkly account" in section


# -- every input problem gets its own words, before any call -------------------------------------


@pytest.mark.parametrize(
    ("given", "needles"),
    [
        ({"access_token": "sdk-0123456789"}, ["looks like an SDK or mobile key"]),
        ({"access_token": "Bearer api-0123"}, ["without 'Bearer '"]),
        ({"access_token": "api-01 23"}, ["whitespace"]),
        ({"access_token": "api-ünïcode"}, ["characters a LaunchDarkly token never has"]),
        ({"project": "my project"}, ["must be a LaunchDarkly key"]),
        ({"max_retries": "eleven"}, ["whole number from 0 to 10"]),
        ({"dry_run": "yes"}, ["must be true or false"]),
        ({"target_variation": "a\nb"}, ["must be one line"]),
        ({"steps": "{allocation: 10%}"}, ["must be a list of steps; got a mapping"]),
        ({"steps": "[" + ", ".join(["{allocation: 1%, duration: 1h}"] * 101) + "]"}, ["at most 100"]),
        ({"steps": "- {allocation: ten, duration: 1h}"}, ["must be a percentage such as 10%"]),
        ({"steps": "- {allocation: 10%, duration: soon}"}, ["steps[0].duration", "a duration such as"]),
        ({"steps": "x" * (65 * 1024)}, ["is over 64 KiB"]),
        ({"comment": "c" * 1001}, ["over 1000 characters"]),
        ({"operation": "stop", "release_id": "nope", "resolution": "roll_forward_all_phases"}, ["a UUID"]),
        (
            {"operation": "stop", "resolution": "roll_forward_all_phases", "wait_for": "completed"},
            ["wait-for"],
        ),
        ({"release_plan": "p", "rule": "", "steps": STEPS}, ["supplied by the release plan"]),
        (
            {
                "rule": "",
                "phases": "- clauses: [{contextKind: user, attribute: kind, op: in, values: [user]}]",
                "steps": "",
            },
            ["phases[0] has no steps"],
        ),
        ({"metrics": "[{metricKey: m, rollback: true}]"}, ["rollback: is not a field of a metrics entry"]),
        ({"bypass_health_checks": '["flag_evaluations_any", "no_such_check"]'}, ['got "no_such_check"']),
        ({"target_variation": ""}, ["'target-variation' is required to start a release"]),
    ],
    ids=lambda value: str(value)[:40] if isinstance(value, dict) else "",
)
def test_each_input_problem_is_said_before_any_call(
    standin: StandIn, tmp_path: Path, given: dict[str, str], needles: list[str]
) -> None:
    starting = given.get("operation", "start") == "start"
    run_ = run(standin, tmp_path, **((start_on_the_rule() if starting else {}) | given))

    assert_clean_failure(run_, 2, *needles)
    assert standin.requests == []


def test_a_variation_or_rule_that_two_things_answer_to_must_be_named_by_id(
    standin: StandIn, tmp_path: Path
) -> None:
    variations = [
        {"value": "a", "name": "Same"},
        {"value": "b", "name": "Same"},
        {"value": "c", "name": "Other"},
    ]
    standin.environments.add_flag(project="multi", variations=variations)
    standin.environments.add_rule(project="multi", description="Twin")
    standin.environments.add_rule(
        project="multi",
        description="Twin",
        clauses=[
            {"contextKind": "user", "attribute": "kind", "op": "in", "values": ["user"]},
            {"attribute": "x", "op": "in", "values": [1]},
        ],
    )

    by_name = run(
        standin, tmp_path / "a", project="multi", **start_on_the_rule(target_variation="Same", rule="Twin")
    )
    by_description = run(
        standin, tmp_path / "b", project="multi", **start_on_the_rule(target_variation="Other", rule="Twin")
    )

    assert_clean_failure(by_name, 2, "'Same' names 2 variations")
    assert_clean_failure(by_description, 2, "2 rules are described as 'Twin'")


def test_a_disabled_rule_is_refused_before_any_write(standin: StandIn, tmp_path: Path) -> None:
    standin.environments.add_rule(description="Paused rule", disabled=True)

    run_ = run(standin, tmp_path, **start_on_the_rule(rule="Paused rule"))

    assert_clean_failure(run_, 2, "is disabled")
    assert posts(standin) == []


def test_an_unknown_flag_or_environment_is_not_found(standin: StandIn, tmp_path: Path) -> None:
    no_flag = run(standin, tmp_path / "a", flag="no-such-flag", **start_on_the_rule())
    no_environment = run(standin, tmp_path / "b", environment="staging", **start_on_the_rule())

    assert_clean_failure(no_flag, 4, "no flag 'no-such-flag'")
    assert_clean_failure(no_environment, 4, "no environment 'staging'", "'production'")


def test_a_release_id_that_is_gone_is_not_found(standin: StandIn, tmp_path: Path) -> None:
    release = standin.environments.start_release(
        target="Available", original="Unavailable", phases=[new_rule_phase("Canary", 10_000)]
    )
    standin.environments.discard(release["id"])
    standin.environments.age(release["id"], 91)

    run_ = run(standin, tmp_path, operation="status", release_id=release["id"])

    assert_clean_failure(run_, 4, "more than 90 days")


def test_a_stop_in_an_environment_that_requires_approvals_says_what_to_do(
    standin: StandIn, tmp_path: Path
) -> None:
    release = standin.environments.start_release(
        target="Available", original="Unavailable", phases=[new_rule_phase("Canary", 10_000, 50_000)]
    )
    standin.environments.hold(release["id"])
    standin.environments.require_approvals(environment="production")

    run_ = run(standin, tmp_path, operation="stop", resolution="roll_forward_all_phases")

    assert_clean_failure(run_, 3, "requires approvals")


def test_a_dry_run_stop_shows_the_put_and_sends_nothing(standin: StandIn, tmp_path: Path) -> None:
    release = standin.environments.start_release(
        target="Available", original="Unavailable", phases=[new_rule_phase("Canary", 10_000, 50_000)]
    )
    standin.environments.hold(release["id"])

    run_ = run(standin, tmp_path, operation="stop", resolution="roll_forward_all_phases", dry_run="true")

    assert_clean_success(run_)
    assert puts(standin) == []
    assert any(line.startswith("Dry run: would send PUT ") for line in run_.log_lines)
    assert "would be stopped; nothing was changed" in run_.annotations("notice")[0].message


def test_a_poll_whose_retries_would_outlast_the_wait_ends_the_wait(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()

    def rate_limit_the_first_poll() -> None:
        standin.fail_next(Fault(429, headers={"Retry-After": "600"}, method="GET"))

    standin.on_read(1, rate_limit_the_first_poll)  # read 1 is the list; the poll after the start is limited

    run_ = run(
        standin,
        tmp_path,
        clock,
        **start_on_the_rule(wait_for="completed", wait_timeout="2m", poll_interval="30s"),
    )

    assert_clean_failure(run_, 6, "had not completed after")
    assert sum(clock.sleeps) <= 120


def test_a_re_run_after_its_release_completed_starts_nothing(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()
    first = run(standin, tmp_path / "first", clock, **start_on_the_rule(wait_for="completed"))
    again = run(standin, tmp_path / "again", clock, **start_on_the_rule())

    assert first.outputs["status"] == "completed"
    assert_clean_success(again)
    assert len(posts(standin)) == 1
    assert (again.outputs["release-id"], again.outputs["changed"]) == (first.outputs["release-id"], "false")
    assert "already completed; nothing was started" in again.annotations("notice")[0].message


def test_a_release_that_began_between_the_read_and_the_start_is_named(
    standin: StandIn, tmp_path: Path
) -> None:
    conflict = json.dumps({"code": "release_already_active", "message": "A release is active", "id": "r"})
    standin.fail_next(Fault(409, conflict.encode(), method="POST"))

    def someone_else_starts() -> None:
        other = standin.environments.start_release(
            target="Unavailable", original="Available", phases=[new_rule_phase("Elsewhere", 10_000, 20_000)]
        )
        standin.environments.hold(other["id"])

    standin.on_read(2, someone_else_starts)  # the read back after the 409

    run_ = run(standin, tmp_path, **start_on_the_rule())

    assert_clean_failure(run_, 2, "Another release is running")
    assert len(posts(standin)) == 1


def test_metrics_may_be_given_as_bare_keys(standin: StandIn, tmp_path: Path) -> None:
    phases = "- clauses: [{contextKind: user, attribute: kind, op: in, values: [user]}]"

    run_ = run(
        standin,
        tmp_path,
        target_variation="Available",
        phases=phases,
        steps="[{allocation: 5%, duration: 1h}]",
        metrics="latency, errors",
    )

    assert_clean_success(run_)
    assert posts(standin)[0]["metrics"] == [
        {"metricKey": "latency", "autoRollback": False},
        {"metricKey": "errors", "autoRollback": False},
    ]


def test_failing_health_checks_without_a_list_say_which_kinds_can_be_bypassed(
    standin: StandIn, tmp_path: Path
) -> None:
    bare = json.dumps({"code": "health_checks_failed", "message": "checks failed", "id": "r"})
    standin.fail_next(Fault(400, bare.encode(), method="POST"))

    run_ = run(standin, tmp_path, **start_on_the_rule())

    assert_clean_failure(run_, 5, "checks failed", "flag_evaluations_with_context, metric_events_any")
    assert "bypass-health-checks: ." not in run_.error.message
