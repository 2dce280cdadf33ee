"""What the documentation shows works: every step in the README and in ``examples/`` that uses
this action runs, as the runner would pass it, against the stand-in in both dialects."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from ld_release_phase.cli import build_parser
from ld_release_phase.failures import EXIT_CODE_MEANINGS
from ld_release_phase.phases.inputs import INPUT_NAMES, REQUIRED_INPUTS, ActionInputs, parse_inputs

from harness import ROOT, TOKEN, FakeClock, action_defaults, as_github_shows, run_in_process
from standin import StandIn

BASE = {"access-token": TOKEN, "project": "demo", "flag": "new-checkout", "phase": "QA"}
ACTION_REFERENCES = ("ld-release-phase/ld-release-phase@", "docker://ghcr.io/ld-release-phase/")
WIRE = {"live": "active", "spec": "Started"}


def _yaml_documents() -> list[tuple[str, Any]]:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    documents = [(f"README block {i + 1}", yaml.safe_load(textwrap.dedent(b))) for i, b in enumerate(blocks)]
    documents += [
        (path.name, yaml.safe_load(path.read_text())) for path in sorted((ROOT / "examples").glob("*.yml"))
    ]
    return documents


def _action_steps(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [step for item in node for step in _action_steps(item)]
    if not isinstance(node, dict):
        return []
    if str(node.get("uses", "")).startswith(ACTION_REFERENCES):
        return [node.get("with") or {}]
    return [step for value in node.values() for step in _action_steps(value)]


DOCUMENTED_STEPS = [
    pytest.param(step, id=f"{where}#{index}")
    for where, document in _yaml_documents()
    for index, step in enumerate(_action_steps(document))
]


def test_the_documentation_shows_steps_at_all() -> None:
    assert len(DOCUMENTED_STEPS) >= 10


def _as_the_runner_passes(step: dict[str, Any], url: str) -> dict[str, str]:
    """The step's inputs: action.yml defaults for what it leaves out; expressions (secrets,
    other steps' outputs) stand for values the earlier steps of its job would have given."""
    inputs = action_defaults()
    for name, value in step.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if "${{" not in text:
            inputs[name] = text
    if "${{" in str(step.get("phase", "")):
        inputs["phase"] = "next"  # an earlier job's next-phase-id, or a caller's choice
    return inputs | {"access-token": TOKEN, "project": "demo", "flag": "new-checkout", "base-uri": url}


@pytest.mark.parametrize("step", DOCUMENTED_STEPS)
def test_every_documented_step_works_against_both_modes(
    any_standin: StandIn, tmp_path: Path, step: dict[str, Any]
) -> None:
    inputs = _as_the_runner_passes(step, any_standin.url)
    if inputs["release-pipeline"]:
        # A new flag: no release yet, and the project's pipeline to put it on.
        any_standin.remove_release()
        any_standin.add_pipeline("demo", inputs["release-pipeline"])
    phase = inputs["phase"]
    if phase != "next":
        any_standin.advance_to(phase)  # the earlier phases were started by earlier steps
    elif "next-phase-id" in str(step.get("phase")):
        # The job before started a phase and passed on the id of the one after it.
        release = any_standin.release()
        any_standin.start_phase(next(p["_name"] for p in release["phases"] if not p["started"]))
    if inputs["wait-for"] == "complete":
        # Another job starts the following phase while this step waits: that completes this one.
        following = {"Testing": "QA", "QA": "Production"}[phase]
        any_standin.on_read(2, lambda: any_standin.start_phase(following))

    run = run_in_process(inputs, tmp_path, FakeClock())

    assert run.returncode == 0, run.stdout
    assert "Traceback" not in run.stdout
    dry = inputs["dry-run"] == "true"
    phase_writes = [r.json()["status"] for r in any_standin.writes if "/phases/" in r.path]
    assert phase_writes == ([] if dry else [WIRE[any_standin.dialect]])
    assert run.outputs["release-created"] == ("true" if inputs["release-pipeline"] and not dry else "false")
    assert run.outputs["started"] == ("false" if dry else "true")


# -- action.yml, --help, the README and the code say the same ---------------------------


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
    from ld_release_phase.phases.models import parse_release
    from ld_release_phase.phases.render import OUTPUT_NAMES, outputs

    from standin import demo_release

    release = parse_release(demo_release())
    written = outputs(release, release.phases[0], changed=False, created=False)
    action = yaml.safe_load((ROOT / "action.yml").read_text())

    assert tuple(action["outputs"]) == tuple(written) == OUTPUT_NAMES


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


def test_model_field_aliases_are_the_action_yml_names(tmp_path: Path) -> None:
    assert ActionInputs.model_fields["base_uri"].alias == "base-uri"
    assert "base-uri" in INPUT_NAMES


def test_readme_action_yml_and_help_say_the_same_about_statuses() -> None:
    import yaml

    from ld_release_phase.cli import build_parser

    from harness import ROOT

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    texts = {
        "action.yml": action["inputs"]["status"]["description"],
        "--help": build_parser().format_help(),
        "README": (ROOT / "README.md").read_text(),
    }
    for where, text in texts.items():
        flat = " ".join(text.replace("`", "").split())
        assert "LaunchDarkly completes a phase when the next one starts: start the next phase" in flat, where
        assert "refused before any call" in flat, where
        assert "only lets a phase be started by hand" in flat or "accepts only" in flat, where
    assert action["inputs"]["status"]["default"] == "active"


def test_the_readme_exit_code_table_is_the_exit_code_enum() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    codes = [int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)]

    assert codes == [int(code) for code in EXIT_CODE_MEANINGS]


def test_the_readme_s_sample_log_is_what_the_action_prints(live_standin: StandIn, tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    sample = (
        readme.split("In the run's log it reads like this", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    )
    step = _action_steps(yaml.safe_load(re.findall(r"```yaml\n(.*?)```", readme, re.S)[0]))[0]
    live_standin.add_release(step["project"], step["flag"])
    live_standin.start_phase("Testing", project=step["project"], flag=step["flag"])

    run = run_in_process(
        action_defaults() | step | {"access-token": TOKEN, "base-uri": live_standin.url},
        tmp_path,
        FakeClock(),
    )

    def normalised(lines: list[str]) -> list[str]:
        lines = [re.sub(r"in \d+ ms", "in N ms", line) for line in lines]
        return [re.sub(r"([0-9a-f]{8})-[0-9a-f-]{27}|([0-9a-f]{8})-…", r"\1\2-…", line) for line in lines]

    assert run.returncode == 0, run.stdout
    assert normalised(as_github_shows(run.stdout)) == normalised(sample.splitlines())


def _named_tests(text: str) -> list[tuple[str, str]]:
    """Each ``file.py::test_name`` the text names; a bare ``::test_name`` is in the file named last."""
    named, current = [], ""
    for match in re.finditer(r"`(test_\w+\.py)?(?:::(test_\w+))?`", text):
        file, test = match.group(1), match.group(2)
        current = file or current
        if test:
            named.append((current, test))
    return named


def test_every_test_the_readme_names_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    named = _named_tests(readme)

    assert len(named) >= 30
    missing = [
        f"{file}::{test}"
        for file, test in named
        if not re.search(rf"^def {test}\(", (ROOT / "tests" / file).read_text(), re.M)
    ]
    assert missing == []


def test_the_readme_s_sample_error_is_what_the_action_prints(standin: StandIn, tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    sample = (
        readme.split("and a close match when there is one:", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    )

    run = run_in_process(BASE | {"base-uri": standin.url, "wait-for": "strated"}, tmp_path, FakeClock())

    assert run.returncode == 2
    shown = as_github_shows(run.stdout)
    assert shown[-len(sample.splitlines()) :] == sample.splitlines()
