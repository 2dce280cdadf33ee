"""Input parsing and the action's declared interface."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ld_release_phase.cli import build_parser
from ld_release_phase.errors import ActionError
from ld_release_phase.inputs import (
    INPUT_NAMES,
    REQUIRED_INPUTS,
    ActionInputs,
    WaitFor,
    parse_inputs,
)
from ld_release_phase.models import PhaseState
from ld_release_phase.text import human_duration

from harness import ROOT, TOKEN

BASE = {"access-token": TOKEN, "project": "demo", "flag": "new-checkout", "phase": "QA"}


def error_for(**overrides: str) -> ActionError:
    with pytest.raises(ActionError) as caught:
        parse_inputs(BASE | {k.replace("_", "-"): v for k, v in overrides.items()})
    return caught.value


def test_action_yml_declares_exactly_the_inputs_the_code_reads() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())

    assert tuple(action["inputs"]) == INPUT_NAMES
    assert {name for name, spec in action["inputs"].items() if spec.get("required")} == set(REQUIRED_INPUTS)
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}


def test_action_yml_says_of_each_input_what_the_input_model_says() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())

    for name, field in ActionInputs.model_fields.items():
        declared = action["inputs"][field.alias or name]
        assert " ".join(declared["description"].split()) == field.description, name
        if not declared.get("required"):
            assert str(declared.get("default", "")) == field.default, name


def test_help_is_built_from_the_input_model() -> None:
    parser = build_parser()
    flags = {action.dest: action for action in parser._actions}

    for name, field in ActionInputs.model_fields.items():
        flag = field.alias or name
        if flag == "access-token":
            continue
        described = " ".join((flags[flag].help or "").split()).replace("%%", "%")
        assert described.startswith((field.description or "").replace("`", "")), flag
        if field.default:
            assert described.endswith(f"(default: {field.default})"), flag
    required = next(group for group in parser._action_groups if group.title == "required")
    assert {action.dest for action in required._group_actions} == {"project", "flag", "phase"}


def test_action_yml_defaults_mean_the_same_as_leaving_inputs_empty() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    defaults = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}

    assert parse_inputs(defaults | BASE) == parse_inputs(BASE)


def test_action_yml_documents_every_output_the_action_writes() -> None:
    from ld_release_phase.models import parse_release
    from ld_release_phase.report import Outcome, outputs

    from standin import demo_release

    release = parse_release(demo_release())
    written = outputs(Outcome(release, release.phases[0].id, "NotStarted", changed=False))
    action = yaml.safe_load((ROOT / "action.yml").read_text())

    assert set(action["outputs"]) == set(written)


def test_the_package_and_project_versions_agree() -> None:
    import tomllib

    from ld_release_phase import __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__


def test_every_input_has_a_cli_flag() -> None:
    flags = {action.dest for action in build_parser()._actions}

    assert set(INPUT_NAMES) - {"access-token"} <= flags


def test_readme_documents_every_input_and_output() -> None:
    readme = (ROOT / "README.md").read_text()
    action = yaml.safe_load((ROOT / "action.yml").read_text())

    for name in [*action["inputs"], *action["outputs"]]:
        assert f"`{name}`" in readme, name


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


def test_model_field_aliases_are_the_action_yml_names(tmp_path: Path) -> None:
    assert ActionInputs.model_fields["base_uri"].alias == "base-uri"
    assert "base-uri" in INPUT_NAMES
