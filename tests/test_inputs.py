"""Input parsing and the action's declared interface."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from ld_release_phase.failures import ExitCode, Failure
from ld_release_phase.phases.inputs import (
    WaitFor,
    parse_inputs,
)
from ld_release_phase.phases.models import PhaseState
from ld_release_phase.plumbing.text import human_duration

from harness import TOKEN

BASE = {"access-token": TOKEN, "project": "demo", "flag": "new-checkout", "phase": "QA"}


class Said(NamedTuple):
    title: str
    message: str
    hint: str
    exit_code: ExitCode


def error_for(**overrides: str) -> Said:
    """The failure for these inputs, in the words a workflow's log shows."""
    with pytest.raises(Failure) as caught:
        parse_inputs(BASE | {k.replace("_", "-"): v for k, v in overrides.items()})
    error = caught.value
    return Said(str(error.title), str(error.message), str(error.hint), error.exit_code)


def test_defaults() -> None:
    inputs = parse_inputs(BASE)

    assert inputs.status is PhaseState.STARTED
    assert inputs.audiences is None
    assert (inputs.max_retries, inputs.request_timeout) == (5, 30.0)
    assert (inputs.wait_for, inputs.wait_timeout, inputs.poll_interval) == (WaitFor.NONE, 900.0, 15.0)
    assert inputs.dry_run is False


def test_inputs_are_frozen() -> None:
    inputs = parse_inputs(BASE)

    with pytest.raises(ValueError, match="frozen"):
        inputs.project = "other"  # type: ignore[misc]


def test_surrounding_whitespace_is_ignored() -> None:
    inputs = parse_inputs(BASE | {"project": "  demo \n", "status": " active "})

    assert (inputs.project, inputs.status) == ("demo", PhaseState.STARTED)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("15m", 900.0), ("1h", 3600.0), ("2.5s", 2.5), ("1500ms", 1.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_inputs(BASE | {"wait-timeout": text}).wait_timeout == seconds


def test_dry_run_accepts_yaml_core_booleans() -> None:
    assert [
        parse_inputs(BASE | {"dry-run": value}).dry_run for value in ("true", "True", "TRUE", "false", "")
    ] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_the_token_is_never_echoed_in_input_errors() -> None:
    for bad in ("api-abc def", "sdk-0123456789", "api-x\n::warning::y"):
        error = error_for(access_token=bad)
        assert bad not in str(error)
        assert error.title == "Invalid input 'access-token'"


def test_token_is_kept_secret_in_the_model() -> None:
    inputs = parse_inputs(BASE)

    assert TOKEN not in repr(inputs)
    assert inputs.access_token.get_secret_value() == TOKEN


def test_long_values_are_shortened_when_echoed() -> None:
    error = error_for(status="x" * 500)

    assert len(error.message) < 200
    assert "..." in error.message


def test_yaml_syntax_errors_say_where() -> None:
    error = error_for(audiences="- audienceId: [unclosed\n")

    assert "neither valid JSON nor valid YAML at line" in error.message


def test_empty_document_is_not_a_list() -> None:
    assert "got empty" in error_for(audiences="---\n").message


def test_at_most_ten_audience_problems_are_listed() -> None:
    error = error_for(audiences="[" + ",".join('{"audienceId": 1}' for _ in range(15)) + "]")

    assert error.message.count("audiences[") == 10


def test_malformed_urls_are_explained() -> None:
    assert "not a valid URL" in error_for(base_uri="https://host:port").message
    assert "must be an https:// URL" in error_for(base_uri="app.launchdarkly.com").message
    assert "query" in error_for(base_uri="https://app.launchdarkly.com/?x=1").message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5s"),
        (0.5, "0.5s"),
        (1.6e-06, "0s"),
        (59.94, "59.9s"),
        (60, "1m"),
        (90, "1m30s"),
        (3725, "1h2m5s"),
    ],
)
def test_human_durations(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_a_document_that_is_not_a_list_is_named_for_what_it_is() -> None:
    assert "got a date" in error_for(audiences="2024-01-01").message
    assert "got a mapping" in error_for(audiences="a: 1").message


def _guardian(field: str, value: str) -> str:
    return f"- audienceId: aud-qa\n  releaseGuardianConfiguration:\n    {field}: {value}\n"


@pytest.mark.parametrize(
    ("field", "written"),
    [
        ("monitoringWindowMilliseconds", "1:00:00"),  # YAML 1.1: 3600, an hour meant as 3.6 s
        ("rolloutWeight", "010"),  # YAML 1.1: octal 8
        ("rolloutWeight", "0x10"),
        ("rolloutWeight", "0o10"),
        ("monitoringWindowMilliseconds", "3_600_000"),
    ],
)
def test_a_yaml_number_that_yaml_versions_read_differently_is_refused_by_name(
    field: str, written: str
) -> None:
    error = error_for(audiences=_guardian(field, written))

    assert error.exit_code is ExitCode.BAD_INPUT
    assert f'"{written}"' in error.message


def test_audiences_yaml_is_read_as_yaml_1_2() -> None:
    inputs = parse_inputs(BASE | {"audiences": "- environmentKey: no\n- audienceName: on\n"})
    plain = parse_inputs(BASE | {"audiences": _guardian("rolloutWeight", "10")})

    assert inputs.audiences is not None and plain.audiences is not None
    # yes, no, on and off are text in YAML 1.2 (GitHub's), not booleans.
    assert [entry.environmentKey or entry.audienceName for entry in inputs.audiences] == ["no", "on"]
    assert plain.audiences[0].configuration() == {"releaseGuardianConfiguration": {"rolloutWeight": 10}}
    assert "rollbackOnRegression" in error_for(audiences=_guardian("rollbackOnRegression", "yes")).message


@pytest.mark.parametrize(
    "audiences",
    [
        '[{"audienceId": "aud-qa", "audienceId": "aud-test"}]',
        "- audienceId: aud-qa\n  audienceId: aud-test\n",
        "- audienceId: aud-qa\n  notifyTeamKeys: [a]\n  notifyTeamKeys: [b]\n",
    ],
    ids=["json", "yaml", "yaml list field"],
)
def test_a_key_given_twice_is_refused_by_name(audiences: str) -> None:
    error = error_for(audiences=audiences)

    assert error.exit_code is ExitCode.BAD_INPUT
    assert "twice in one mapping" in error.message
    assert '"audienceId"' in error.message or '"notifyTeamKeys"' in error.message


@pytest.mark.parametrize(
    "base_uri",
    ["https://app.launch\tdarkly.com", "https://app.launchdarkly\n.com", "https://app.launch darkly.com"],
    ids=["tab", "line break", "space"],
)
def test_a_base_uri_holding_control_or_space_characters_is_refused(base_uri: str) -> None:
    error = error_for(base_uri=base_uri)

    assert error.exit_code is ExitCode.BAD_INPUT
    assert "must not contain spaces or control characters" in error.message


def test_a_base_uri_is_judged_by_the_parser_that_sends_it() -> None:
    # urlsplit reads a backslash as part of a user name; the parser requests sends with reads it
    # as the start of a path: refused either way, as not LaunchDarkly's address alone.
    assert "without a path" in error_for(base_uri="https://app.launchdarkly.com\\@evil.example").message
    assert parse_inputs(BASE | {"base-uri": "http://[::1]:8765/"}).base_uri == "http://[::1]:8765"
    assert "not a valid URL" in error_for(base_uri="https://.launchdarkly.com").message
