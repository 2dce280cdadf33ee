"""What the documentation shows works: every step in the README and in ``examples/`` that uses
this action runs, as the runner would pass it, against the stand-in in both dialects."""

from __future__ import annotations

import functools
import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from ld_release_phase.cli import build_parser, in_terminal_words
from ld_release_phase.failures import EXIT_CODE_MEANINGS
from ld_release_phase.phases.inputs import INPUT_NAMES, REQUIRED_INPUTS, ActionInputs, parse_inputs

from act import caller_shown_in, load_workflow
from harness import ROOT, TOKEN, ActionRun, FakeClock, action_defaults, as_github_shows, run_in_process
from standin import StandIn

BASE = {"access-token": TOKEN, "project": "demo", "flag": "new-checkout", "phase": "QA"}
ACTION_REFERENCES = ("ld-release-phase/ld-release-phase@", "docker://ghcr.io/ld-release-phase/")
WIRE = {"live": "active", "spec": "Started"}
# How the README says an example needs an earlier state: "... once QA has started ...".
EARLIER_STATE = re.compile(r"once (\w+) has started")
_EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")


class Documented:
    """A workflow or a snippet the documentation shows: its jobs in the order a runner runs
    them, the values its expressions read, and the phase a user has started before it, if the
    README says one."""

    def __init__(
        self,
        where: str,
        jobs: dict[str, Any],
        *,
        env: dict[str, str] | None = None,
        inputs: dict[str, str] | None = None,
        earlier: str | None = None,
    ):
        self.where = where
        self.jobs = jobs
        self.env = env or {}
        self.inputs = inputs or {}
        self.earlier = earlier


def _is_action(step: Any) -> bool:
    return isinstance(step, dict) and str(step.get("uses", "")).startswith(ACTION_REFERENCES)


def _action_steps(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [step for item in node for step in _action_steps(item)]
    if not isinstance(node, dict):
        return []
    if _is_action(node):
        return [node.get("with") or {}]
    return [step for value in node.values() for step in _action_steps(value)]


def _readme_documents() -> list[Documented]:
    """Each YAML block of the README, with the state the text before it names."""
    readme = (ROOT / "README.md").read_text()
    documents = []
    for index, match in enumerate(re.finditer(r"```yaml\n(.*?)```", readme, re.S)):
        node = yaml.safe_load(textwrap.dedent(match.group(1)))
        if not _action_steps(node):
            continue
        said = readme[: match.start()].rsplit("\n#", 1)[-1]  # since the heading above the block
        earlier = EARLIER_STATE.search(said)
        jobs = node["jobs"] if isinstance(node, dict) else {"job": {"steps": node}}
        documents.append(
            Documented(f"README block {index + 1}", jobs, earlier=earlier.group(1) if earlier else None)
        )
    return documents


def _example_documents() -> list[Documented]:
    documents = []
    for path in sorted((ROOT / "examples").glob("*.yml")):
        text = path.read_text()
        workflow = load_workflow(text)
        if not _action_steps(workflow):
            continue  # another action's example: its own tests run it
        inputs: dict[str, str] = {}
        called = workflow["on"].get("workflow_call") if isinstance(workflow["on"], dict) else None
        if called is not None:
            # A reusable workflow runs with the inputs its header's caller passes, and its defaults.
            caller, _, _ = caller_shown_in(text)
            inputs = {name: str(spec.get("default", "")).lower() for name, spec in called["inputs"].items()}
            inputs |= {
                name: str(value) for name, value in next(iter(caller["jobs"].values()))["with"].items()
            }
        documents.append(Documented(path.name, workflow["jobs"], env=workflow.get("env"), inputs=inputs))
    return documents


DOCUMENTED = _readme_documents() + _example_documents()
DOCUMENTS = [pytest.param(document, id=document.where) for document in DOCUMENTED]


def test_the_documentation_shows_steps_at_all() -> None:
    steps = [step for document in DOCUMENTED for job in document.jobs.values() for step in job["steps"]]
    assert len([step for step in steps if _is_action(step)]) >= 10


def _resolved(value: Any, context: dict[str, Any]) -> str:
    """A value as the runner passes it: YAML's booleans as true/false, each expression replaced
    by what it reads (any secret is the token)."""

    def read(match: re.Match[str]) -> str:
        path = match.group(1).split(".")
        if path[0] == "secrets":
            return TOKEN
        node: Any = context
        for part in path:
            node = node[part]
        return str(node)

    text = str(value).lower() if isinstance(value, bool) else str(value)
    return _EXPRESSION.sub(read, text)


class _Runs:
    """Runs a document's steps against one stand-in, each as the runner would pass it."""

    def __init__(self, standin: StandIn, tmp: Path):
        self.standin = standin
        self.tmp = tmp
        self.count = 0

    def run(self, given: dict[str, str]) -> ActionRun:
        self.count += 1
        inputs = action_defaults() | given | {"base-uri": self.standin.url}
        return run_in_process(inputs, self.tmp / str(self.count), FakeClock(), standin=self.standin)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_documented_workflow_works_on_a_fresh_release(
    any_standin: StandIn, tmp_path: Path, document: Documented
) -> None:
    """Each job's steps in order, on the release a newcomer has: fresh, or (for a new flag) none
    yet. Outputs flow between steps and jobs as the runner passes them; an example the README
    says needs a phase started is preceded by the step that starts it, as a user would run it."""
    runs = _Runs(any_standin, tmp_path)
    top = {"env": document.env, "inputs": document.inputs}
    first = next(step["with"] for job in document.jobs.values() for step in job["steps"] if _is_action(step))
    project, flag = _resolved(first["project"], top), _resolved(first["flag"], top)
    new_flag = any(
        "release-pipeline" in step.get("with", {}) for job in document.jobs.values() for step in job["steps"]
    )
    if new_flag:
        any_standin.add_flag(project, flag)
        any_standin.add_pipeline(project, _resolved(first["release-pipeline"], top))
    else:
        any_standin.add_release(project, flag)
    if document.earlier:
        started = runs.run(
            {"access-token": TOKEN, "project": project, "flag": flag, "phase": document.earlier}
        )
        assert started.returncode == 0, started.stdout
    needs: dict[str, Any] = {}
    attached = False  # only the first step that writes puts the new flag on its pipeline
    for job_id, job in document.jobs.items():
        steps: dict[str, Any] = {}
        for step in job["steps"]:
            if not _is_action(step):
                continue
            context = top | {"env": document.env | job.get("env", {}), "needs": needs, "steps": steps}
            given = {name: _resolved(value, context) for name, value in (step.get("with") or {}).items()}
            if given.get("wait-for") == "complete":
                # Another job starts the phase after this one while this step waits: that completes it.
                phases = [p["_name"] for p in any_standin.release(project=project, flag=flag)["phases"]]
                following = phases[phases.index(given["phase"]) + 1]
                other = given | {"phase": following, "wait-for": "none"}
                any_standin.on_read(2, functools.partial(_run_another_job, runs, other))
            writes = len(any_standin.writes)

            run = runs.run(given)

            assert run.returncode == 0, run.stdout
            assert "Traceback" not in run.stdout
            dry = given.get("dry-run") == "true"
            assert run.outputs["started"] == ("false" if dry else "true")
            if dry:
                assert len(any_standin.writes) == writes
            else:
                assert WIRE[any_standin.dialect] in [
                    r.json().get("status") for r in any_standin.writes[writes:]
                ]
            assert run.outputs["release-created"] == (
                "true" if new_flag and not dry and not attached else "false"
            )
            attached = attached or (new_flag and not dry)
            if given.get("wait-for") == "complete":
                assert run.outputs["complete"] == "true"
            if "id" in step:
                steps[step["id"]] = {"outputs": run.outputs}
        needs[job_id] = {
            "outputs": {
                name: _resolved(value, {"steps": steps}) for name, value in job.get("outputs", {}).items()
            }
        }


def _run_another_job(runs: _Runs, step: dict[str, str]) -> None:
    run = runs.run(step)
    assert run.returncode == 0, run.stdout


def test_an_audience_named_before_launchdarkly_lists_it_gets_advice_that_works(
    live_standin: StandIn, tmp_path: Path
) -> None:
    runs = _Runs(live_standin, tmp_path)
    step = BASE | {"phase": "Production", "audiences": "- environmentKey: prod-eu\n"}

    refused = runs.run(step)
    started_qa = runs.run(BASE)  # what the error advises: run the step once Production is next
    dry = runs.run(step | {"dry-run": "true"})
    again = runs.run(step)

    assert refused.returncode == 2
    assert refused.error.message.startswith(
        "audiences[0]: LaunchDarkly sent phase 'Production' without its audiences"
    )
    assert "Run this step when 'Production' is the next phase (once the phase before it has started)" in (
        refused.error.message
    )
    assert (
        "or give the audience's audienceId: LaunchDarkly lists it in the flag's release"
        in refused.error.message
    )
    assert (started_qa.returncode, dry.returncode, again.returncode) == (0, 0, 0)
    listed = {audience["environment"]: audience["id"] for audience in json.loads(dry.outputs["audiences"])}
    in_release = json.loads(started_qa.outputs["release"])["phases"][2]["_audiences"]
    assert {audience["environment"]["key"]: audience["_id"] for audience in in_release} == listed
    assert live_standin.writes[-1].json()["audiences"] == [{"audienceId": listed["prod-eu"]}]


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
        assert described.startswith(in_terminal_words(field.description or "", INPUT_NAMES)), flag
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
    said = re.search(
        r"On a release whose (\w+) phase has started, the run's log reads like this.*?```text\n(.*?)```",
        readme,
        re.S,
    )
    assert said is not None
    earlier, sample = said.groups()
    step = _action_steps(yaml.safe_load(re.findall(r"```yaml\n(.*?)```", readme, re.S)[0]))[0]
    live_standin.add_release(step["project"], step["flag"])
    given = action_defaults() | step | {"access-token": TOKEN, "base-uri": live_standin.url}
    before = run_in_process(given | {"phase": earlier}, tmp_path / "before", FakeClock())  # as a user would

    run = run_in_process(given, tmp_path / "step", FakeClock())

    def normalised(lines: list[str]) -> list[str]:
        lines = [re.sub(r"in \d+ ms", "in N ms", line) for line in lines]
        return [re.sub(r"([0-9a-f]{8})-[0-9a-f-]{27}|([0-9a-f]{8})-…", r"\1\2-…", line) for line in lines]

    assert before.returncode == 0, before.stdout
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


def test_the_readme_explains_every_mark_of_the_pipeline_line() -> None:
    from ld_release_phase.phases.models import parse_release
    from ld_release_phase.phases.render import pipeline_line

    from standin import demo_release

    readme = " ".join((ROOT / "README.md").read_text().split())
    legend = readme.split("The pipeline line marks each phase:", 1)[1].split(";", 1)[0]
    spellings = {
        "Complete": "complete",
        "Started": "started",
        "Paused": "paused",
        "ReadyToStart": "ready to start",
    }
    for status, said in [*spellings.items(), ("NotStarted", "not started")]:
        release = demo_release()
        release["phases"][0]["status"] = status
        release["phases"][0]["started"] = status in ("Started", "Complete", "Paused")
        release["phases"][0]["complete"] = status == "Complete"
        mark = pipeline_line(parse_release(release), "").split(" ", 1)[0]
        assert f"{mark} {said}" in legend, (status, mark)
    assert "the phase the step acts on is in brackets" in readme


def test_the_token_s_permission_is_worded_as_action_yml_words_it() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    described = " ".join(action["inputs"]["access-token"]["description"].split())
    permission = re.search(r"Its role must allow [^.:]+", described)
    readme = " ".join((ROOT / "README.md").read_text().split())

    assert permission is not None
    assert permission.group(0) in readme.split("**The token.**", 1)[1].split("\n", 1)[0]


def test_the_readme_says_where_the_token_comes_from_when_access_token_is_empty() -> None:
    from ld_release_phase.plumbing.words import TOKEN_ENV

    readme = (ROOT / "README.md").read_text()
    row = re.search(r"^\| `access-token` \| ([^|]+) \|", readme, re.M)

    assert row is not None
    assert row.group(1).strip() == f"yes, or `{TOKEN_ENV}`"


def test_each_job_of_walk_environments_does_what_its_header_says_in_that_order() -> None:
    text = (ROOT / "examples" / "walk-environments.yml").read_text()
    header = " ".join(line.lstrip("# ") for line in text.splitlines() if line.startswith("#"))
    workflow = load_workflow(text)

    for job, spec in workflow["jobs"].items():
        said = re.search(rf"\b{job}: ([^;.]+)", header)
        assert said is not None, f"the header says what job {job} does"
        order = re.findall(r"\b(deploy|start)s?\b", said.group(1))
        done = [
            "start" if _is_action(step) else "deploy"
            for step in spec["steps"]
            if "deploy.sh" in str(step.get("run", "")) or _is_action(step)
        ]
        assert order == done, (job, said.group(1))
