"""What the documentation shows works: every step in the README and in ``examples/`` that uses
this action runs, as the runner would pass it, against the stand-in in both modes."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import ROOT, TOKEN, FakeClock, action_defaults, run_in_process
from standin import StandIn

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
        any_standin.releases.clear()
        any_standin.add_flag("demo", "new-checkout")
        any_standin.add_pipeline("demo", inputs["release-pipeline"])
    phase = inputs["phase"]
    if phase != "next":
        any_standin.advance_to(phase)  # the earlier phases were started by earlier steps
    elif "next-phase-id" in str(step.get("phase")):
        # The job before started a phase and passed on the id of the one after it.
        release = any_standin.releases[("demo", "new-checkout")]
        any_standin.start_phase(next(p["_name"] for p in release["phases"] if not p["started"]))
    if inputs["wait-for"] == "complete":
        # Another job starts the following phase while this step waits: that completes this one.
        following = {"Testing": "QA", "QA": "Production"}[phase]
        any_standin.on_get = lambda server, gets: server.start_phase(following) if gets == 2 else None

    run = run_in_process(inputs, tmp_path, FakeClock())

    assert run.returncode == 0, run.stdout
    assert "Traceback" not in run.stdout
    dry = inputs["dry-run"] == "true"
    phase_writes = [r.json()["status"] for r in any_standin.writes if "/phases/" in r.path]
    assert phase_writes == ([] if dry else [WIRE[any_standin.spelling]])
    assert run.outputs["release-created"] == ("true" if inputs["release-pipeline"] and not dry else "false")
    assert run.outputs["started"] == ("false" if dry else "true")
