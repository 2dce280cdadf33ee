"""End to end: ``entrypoint.py`` in a child process, as the runner runs the container.

Environment variables only (``INPUT_*`` with hyphens kept, ``GITHUB_OUTPUT``,
``GITHUB_STEP_SUMMARY``, ``HOME``), against the stand-in on loopback, with ``$GITHUB_OUTPUT``
parsed the way the runner parses it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ld_release_phase import __version__

from expect import assert_clean_failure, assert_clean_success
from harness import TOKEN, inputs_for, run_entrypoint
from standin import Fault, StandIn


def test_starts_a_phase_by_name_and_writes_every_output(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(standin.url, phase="Testing"), tmp_path)

    assert_clean_success(run)
    assert [r.method for r in standin.requests] == ["GET", "PUT"]
    put = standin.writes[0]
    assert (
        put.path == f"/api/v2/projects/demo/flags/new-checkout/release/phases/{standin.phase_id('Testing')}"
    )
    assert put.json() == {"status": "Started"}
    assert put.headers["authorization"] == TOKEN
    assert put.headers["ld-api-version"] == "beta"
    assert put.headers["content-type"] == "application/json"
    assert put.headers["user-agent"].startswith(f"ld-release-phase/{__version__}")

    outputs = run.outputs
    assert outputs["status"] == "Started"
    assert (outputs["started"], outputs["complete"], outputs["changed"]) == ("true", "false", "true")
    assert (outputs["phase-id"], outputs["phase-name"]) == (standin.phase_id("Testing"), "Testing")
    assert (outputs["next-phase-id"], outputs["next-phase-name"]) == (standin.phase_id("QA"), "QA")
    assert outputs["release-version"] == "2"
    assert outputs["release-pipeline-key"] == "standard-pipeline"
    release = json.loads(outputs["release"])
    assert "\n" not in outputs["release"]
    assert release["phases"][0]["started"] is True
    assert [n.message for n in run.annotations("notice")] == ["Phase 'Testing': NotStarted → Started."]


def test_the_token_is_masked_before_anything_else_is_printed(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(standin.url), tmp_path)

    first = run.stdout.splitlines()[0]
    assert first == f"::add-mask::{TOKEN}"
    assert TOKEN not in "\n".join(run.stdout.splitlines()[1:])


def test_starts_a_phase_by_id(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(standin.url, phase=standin.phase_id("Production")), tmp_path)

    assert_clean_success(run)
    assert standin.writes[0].path.endswith(standin.phase_id("Production"))
    assert run.outputs["phase-name"] == "Production"
    assert (run.outputs["next-phase-id"], run.outputs["next-phase-name"]) == ("", "")


def test_phase_name_matches_ignoring_case_when_no_exact_match(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(standin.url, phase="qa"), tmp_path)

    assert_clean_success(run)
    assert run.outputs["phase-id"] == standin.phase_id("QA")


def test_next_starts_the_first_phase_neither_started_nor_complete(standin: StandIn, tmp_path: Path) -> None:
    standin.set_phase("Testing", "Complete")
    standin.set_phase("QA", "Started")

    run = run_entrypoint(inputs_for(standin.url, phase="next"), tmp_path)

    assert_clean_success(run)
    assert run.outputs["phase-name"] == "Production"
    assert run.outputs["next-phase-id"] == ""
    # Starting a later phase completes the active one, as the live service does.
    release = json.loads(run.outputs["release"])
    assert [p["complete"] for p in release["phases"]] == [True, True, False]


def test_audiences_in_json_are_sent_exactly_as_given(standin: StandIn, tmp_path: Path) -> None:
    audiences = [
        {
            "audienceId": "aud-prod-eu",
            "releaseGuardianConfiguration": {
                "monitoringWindowMilliseconds": 60000,
                "rolloutWeight": 50,
                "rollbackOnRegression": True,
                "randomizationUnit": "user",
            },
            "notifyMemberIds": ["1234a56b7c89d012345e678f"],
            "notifyTeamKeys": ["release-reviewers"],
        },
        {"audienceId": "aud-prod-us"},
    ]

    run = run_entrypoint(
        inputs_for(standin.url, phase="Production", audiences=json.dumps(audiences)), tmp_path
    )

    assert_clean_success(run)
    assert standin.writes[0].json() == {"status": "Started", "audiences": audiences}


def test_audiences_in_yaml_are_sent_as_the_same_json(standin: StandIn, tmp_path: Path) -> None:
    yaml_text = (
        "- audienceId: aud-qa\n"
        "  notifyTeamKeys: [qa-team]\n"
        "  releaseGuardianConfiguration:\n"
        "    monitoringWindowMilliseconds: 120000\n"
        "    rolloutWeight: 10\n"
        "    rollbackOnRegression: false\n"
    )

    run = run_entrypoint(inputs_for(standin.url, phase="QA", audiences=yaml_text), tmp_path)

    assert_clean_success(run)
    assert standin.writes[0].json() == {
        "status": "Started",
        "audiences": [
            {
                "audienceId": "aud-qa",
                "notifyTeamKeys": ["qa-team"],
                "releaseGuardianConfiguration": {
                    "monitoringWindowMilliseconds": 120000,
                    "rolloutWeight": 10,
                    "rollbackOnRegression": False,
                },
            }
        ],
    }


BAD_INPUTS = [
    ({"access-token": ""}, "access-token", "secrets.LD_ACCESS_TOKEN"),
    ({"access-token": "sdk-1234-5678"}, "access-token", "SDK or mobile key"),
    ({"access-token": f"Bearer {TOKEN}"}, "access-token", "without 'Bearer '"),
    ({"access-token": "api-one two"}, "access-token", "whitespace"),
    ({"project": ""}, "project", "required"),
    ({"project": "a/b"}, "project", "LaunchDarkly key"),
    ({"flag": "my flag"}, "flag", "LaunchDarkly key"),
    ({"flag": ".."}, "flag", "LaunchDarkly key"),
    ({"phase": ""}, "phase", "'next'"),
    ({"status": "go"}, "status", "must be active (also spelt started or start)"),
    ({"status": "completed"}, "status", "start the next phase (phase: next)"),
    ({"audiences": "{not json"}, "audiences", "neither valid JSON nor valid YAML"),
    ({"audiences": '{"audienceId": "x"}'}, "audiences", "must be a list"),
    ({"audiences": '[{"audienceID": "aud-qa"}]'}, "audiences", "audiences[0].audienceID"),
    ({"audiences": '[{"audienceId": 7}]'}, "audiences", "audiences[0].audienceId"),
    (
        {"audiences": '[{"audienceId": "aud-qa", "releaseGuardianConfiguration": {"rolloutWeight": "50"}}]'},
        "audiences",
        "audiences[0].releaseGuardianConfiguration.rolloutWeight",
    ),
    ({"audiences": '[{"audienceId": "aud-qa", "notifyTeamKeys": "qa"}]'}, "audiences", "notifyTeamKeys"),
    ({"base-uri": "http://app.launchdarkly.com"}, "base-uri", "unencrypted"),
    ({"base-uri": "ftp://example.com"}, "base-uri", "https://"),
    ({"base-uri": "https://user:pw@example.com"}, "base-uri", "credentials"),
    ({"max-retries": "many"}, "max-retries", "0 to 10"),
    ({"max-retries": "-1"}, "max-retries", "0 to 10"),
    ({"request-timeout": "0"}, "request-timeout", "from"),
    ({"request-timeout": "soon"}, "request-timeout", "duration"),
    ({"wait-for": "forever"}, "wait-for", "none, started, complete"),
    ({"wait-timeout": "7h"}, "wait-timeout", "6h"),
    ({"poll-interval": "0.5s"}, "poll-interval", "1s"),
    ({"dry-run": "yes"}, "dry-run", "true or false"),
]


@pytest.mark.parametrize(("overrides", "input_name", "says"), BAD_INPUTS)
def test_bad_input_gets_one_clear_error_and_no_call(
    standin: StandIn, tmp_path: Path, overrides: dict[str, str], input_name: str, says: str
) -> None:
    run = run_entrypoint(inputs_for(standin.url) | overrides, tmp_path)

    assert_clean_failure(run, 2, f"'{input_name}'", says)
    assert run.error.properties["title"] == f"Invalid input '{input_name}'"
    assert standin.requests == []
    assert "Nothing was sent to LaunchDarkly" in run.error.message
    assert run.summary.startswith(f"### ❌ Invalid input '{input_name}'")


def test_several_bad_inputs_are_reported_together(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(standin.url, project="", status="go", phase=""), tmp_path)

    assert_clean_failure(run, 2, "3 invalid inputs", "'project'", "'status'", "'phase'")
    assert standin.requests == []


def test_unknown_phase_lists_the_phases_that_exist(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(standin.url, phase="Staging"), tmp_path)

    assert_clean_failure(run, 4, "'Staging'", "'Testing', 'QA', 'Production'")
    assert standin.writes == []


def test_audience_that_is_not_in_the_phase_is_refused_before_any_write(
    standin: StandIn, tmp_path: Path
) -> None:
    run = run_entrypoint(
        inputs_for(standin.url, phase="QA", audiences='[{"audienceId": "aud-test"}]'), tmp_path
    )

    assert_clean_failure(run, 2, "audiences[0]", "aud-test", "QA (id aud-qa, environment qa)")
    assert standin.writes == []


@pytest.mark.parametrize(
    ("fault", "code", "needles"),
    [
        (
            Fault(
                400, json.dumps({"code": "invalid_request", "message": "bad status", "id": "r-400"}).encode()
            ),
            5,
            ["HTTP 400", "invalid_request: bad status", "r-400"],
        ),
        (
            Fault(
                401,
                json.dumps(
                    {"code": "unauthorized", "message": "Invalid access token", "id": "r-401"}
                ).encode(),
            ),
            3,
            ["HTTP 401", "unauthorized", "r-401", "access-token"],
        ),
        (
            Fault(403, json.dumps({"code": "forbidden", "message": "Access denied", "id": "r-403"}).encode()),
            3,
            ["HTTP 403", "forbidden: Access denied", "r-403", "LD-API-Version: beta"],
        ),
        (
            Fault(
                404, json.dumps({"code": "not_found", "message": "Unknown resource", "id": "r-404"}).encode()
            ),
            4,
            ["HTTP 404", "not_found", "r-404", "Phase '1234a56b7c89d012345e6701'"],
        ),
    ],
)
def test_api_errors_quote_launchdarkly_and_hint_at_the_fix(
    standin: StandIn, tmp_path: Path, fault: Fault, code: int, needles: list[str]
) -> None:
    fault.method = "PUT"
    standin.fail_next(fault)

    run = run_entrypoint(inputs_for(standin.url), tmp_path)

    assert_clean_failure(run, code, *needles)
    assert "Fix:" in run.summary


def test_wrong_token_is_refused_by_launchdarkly_with_exit_3(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(standin.url, access_token="api-wrong-token"), tmp_path)

    assert_clean_failure(run, 3, "HTTP 401", "access-token")
    assert "api-wrong-token" not in run.everything()


def test_flag_without_a_release_is_not_found(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(standin.url, flag="no-release"), tmp_path)

    assert_clean_failure(run, 4, "No release found for flag 'no-release'", "set 'release-pipeline'")


def test_rate_limit_and_server_errors_are_retried_then_succeed(standin: StandIn, tmp_path: Path) -> None:
    standin.fail_next(
        Fault(429, headers={"Retry-After": "0"}, method="PUT"),
        Fault(503, method="PUT"),
    )

    run = run_entrypoint(inputs_for(standin.url, max_retries="2"), tmp_path)

    assert_clean_success(run)
    # After the 503 (which may have changed something) the release is read before the PUT again.
    assert [r.method for r in standin.requests] == ["GET", "PUT", "PUT", "GET", "PUT"]
    retries = [line for line in run.log_lines if line.startswith("Retrying:")]
    assert len(retries) == 2
    assert "HTTP 429" in retries[0] and "attempt 2 of 3" in retries[0]
    assert "HTTP 503" in retries[1] and "attempt 3 of 3" in retries[1]
    assert run.outputs["started"] == "true"


def test_server_errors_until_retries_run_out_fail_with_the_last_failure(
    standin: StandIn, tmp_path: Path
) -> None:
    standin.fail_next(*[Fault(502, b"Bad gateway", method="GET") for _ in range(2)])

    run = run_entrypoint(inputs_for(standin.url, max_retries="1"), tmp_path)

    assert_clean_failure(run, 5, "failed after 2 attempts", "HTTP 502 Bad gateway")
    assert standin.writes == []


def test_https_with_a_private_ca_from_requests_ca_bundle(private_ca: tuple[str, str], tmp_path: Path) -> None:
    standin = StandIn(token=TOKEN)
    standin.add_release("demo", "new-checkout")
    url = standin.start(tls=private_ca).replace("127.0.0.1", "localhost")
    try:
        trusted = run_entrypoint(inputs_for(url), tmp_path / "a", {"REQUESTS_CA_BUNDLE": private_ca[0]})
        untrusted = run_entrypoint(inputs_for(url, max_retries="3"), tmp_path / "b")
    finally:
        standin.stop()

    assert_clean_success(trusted)
    assert trusted.outputs["started"] == "true"
    assert_clean_failure(untrusted, 5, "TLS verification failed", "REQUESTS_CA_BUNDLE")
    assert len(standin.writes) == 1  # the untrusted run never got past the handshake, and was not retried


def test_the_token_may_come_from_ld_access_token_when_the_input_is_empty(
    standin: StandIn, tmp_path: Path
) -> None:
    run = run_entrypoint(inputs_for(standin.url, access_token=""), tmp_path, {"LD_ACCESS_TOKEN": TOKEN})

    assert_clean_success(run)
    assert run.stdout.splitlines()[0] == f"::add-mask::{TOKEN}"
    assert {r.headers["authorization"] for r in standin.requests} == {TOKEN}
