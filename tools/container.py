"""The action's image, built and run the way the GitHub runner runs a Docker container action.

The runner (actions/runner, ``ContainerActionHandler`` and ``DockerCommandManager``) starts
``docker run --workdir /github/workspace -e INPUT_... -e GITHUB_* -e HOME ... -v ...`` with
every declared input as ``INPUT_<NAME>`` (hyphens kept, ``action.yml`` defaults filled in),
values passed as bare ``-e NAME`` from its own environment, ``HOME=/github/home``, and four
folders of its own mounted under ``/github``. The file-command files in
``/github/file_commands`` are created before the step by the runner's user (uid 1001 on hosted
runners), mode 0644. Here the only difference is ``--network host``, so that the container
reaches the stand-in on this machine's loopback.

``KINDS_OF_RUN`` are the kinds of run the image's build runs (``scripts/stage_image.py``) and the
container tests run in the built image.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness import (
    PHASE_ACTION,
    RELEASE_ACTION,
    ROOT,
    TOKEN,
    ActionRun,
    action_defaults,
    input_variables,
    inputs_for,
    read_run,
    release_inputs_for,
)
from standin import Fault, StandIn
from standin_releases import BETA_RULE

# The tag `make image` builds: the Makefile reads the same variable, with the same default.
IMAGE = os.environ.get("IMAGE") or "ld-release-phase:dev"
RUNNER_UID = 1001
# Where the runner mounts its folders in the container (besides the Docker socket).
MOUNTS = ("/github/home", "/github/workflow", "/github/file_commands", "/github/workspace")
DOCKER_SOCKET = "/var/run/docker.sock"


def engine_problem() -> str | None:
    """Why no Docker engine can be used here, or None when one answers."""
    if shutil.which("docker") is None:
        return "the docker command is not installed"
    try:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "docker info did not answer within 60 s"
    if info.returncode != 0:
        said = (info.stderr.strip().splitlines() or ["no message"])[-1]
        return f"no Docker engine answers (docker info: {said})"
    return None


def build_image() -> str:
    """Build the image with `make image`, as a contributor would; its tag."""
    subprocess.run(
        ["make", "--no-print-directory", "image", f"IMAGE={IMAGE}"], cwd=ROOT, check=True, capture_output=True
    )
    return IMAGE


@dataclass
class ContainerRun(ActionRun):
    """A run in the container, and what it changed in the container's own filesystem."""

    changes: list[str] | None = None  # `docker diff`, outside the runner's mounts


def _runner_folders(tmp: Path) -> dict[str, Path]:
    """The runner's folders on the host, with the file-command files it creates before a step."""
    folders = {
        "/github/home": tmp / "_github_home",
        "/github/workflow": tmp / "_github_workflow",
        "/github/file_commands": tmp / "_runner_file_commands",
        "/github/workspace": tmp / "workspace",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    (folders["/github/workflow"] / "event.json").write_text("{}")
    return folders


def _file_command(folder: Path, kind: str) -> Path:
    path = folder / f"{kind}_{uuid.uuid4()}"
    path.write_text("")
    path.chmod(0o644)
    if os.geteuid() == 0:  # as the runner's user, so only root in the container may write
        os.chown(path, RUNNER_UID, RUNNER_UID)
    return path


@dataclass
class Step:
    """One ``docker run`` as the runner would start it, and where its results will be."""

    command: list[str]
    env: dict[str, str]
    name: str
    output: Path
    summary: Path


def runner_step(
    inputs: dict[str, str],
    tmp: Path,
    extra_env: dict[str, str] | None = None,
    *,
    image: str = IMAGE,
    args: Sequence[str] = (),
    docker_options: Sequence[str] = (),
    mount_options: dict[str, str] | None = None,
    remove: bool = False,
    action: str = PHASE_ACTION,
) -> Step:
    """The runner's ``docker run`` for one step; ``docker_options`` go before the image.

    ``mount_options`` adds options to a runner mount, e.g. ``{"/github/file_commands": "ro"}``.
    ``remove`` adds the runner's ``--rm``; without it the container stays, to be inspected.
    """
    folders = _runner_folders(tmp)
    commands = folders["/github/file_commands"]
    output, summary = _file_command(commands, "set_output"), _file_command(commands, "step_summary")
    variables = input_variables(action_defaults(action) | inputs)
    variables |= {
        "HOME": "/github/home",
        "GITHUB_OUTPUT": f"/github/file_commands/{output.name}",
        "GITHUB_STEP_SUMMARY": f"/github/file_commands/{summary.name}",
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_EVENT_PATH": "/github/workflow/event.json",
        "GITHUB_ACTION": "release",
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "RUNNER_OS": "Linux",
    } | (extra_env or {})
    name = f"ld-release-phase-test_{uuid.uuid4().hex}"
    command = ["docker", "run", "--name", name, "--label", "ld-release-phase-test"]
    command += ["--workdir", "/github/workspace", *(["--rm"] if remove else []), "--network", "host"]
    for variable in variables:
        command += ["-e", variable]  # bare: the value comes from the docker process's environment
    if Path(DOCKER_SOCKET).exists():
        command += ["-v", f"{DOCKER_SOCKET}:{DOCKER_SOCKET}"]
    for target, source in folders.items():
        suffix = f":{mount_options[target]}" if mount_options and target in mount_options else ""
        command += ["-v", f"{source}:{target}{suffix}"]
    command += [*docker_options, image, *args]
    return Step(command, dict(os.environ) | variables, name, output, summary)


def run_container(
    inputs: dict[str, str],
    tmp: Path,
    extra_env: dict[str, str] | None = None,
    *,
    args: Sequence[str] = (),
    docker_options: Sequence[str] = (),
    mount_options: dict[str, str] | None = None,
    image: str = IMAGE,
    action: str = PHASE_ACTION,
    during: Callable[[str], None] | None = None,
) -> ContainerRun:
    """Run the image once as the runner runs a step, and read back what the runner would see.

    ``during`` is called with the container's name once ``docker run`` has been started, e.g. to
    signal the step as the runner does when a job is cancelled.
    """
    step = runner_step(
        inputs,
        tmp,
        extra_env,
        image=image,
        action=action,
        args=args,
        docker_options=docker_options,
        mount_options=mount_options,
    )
    try:
        with subprocess.Popen(
            step.command, env=step.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:
            try:
                if during is not None:
                    during(step.name)
                stdout, stderr = process.communicate(timeout=120)
            finally:
                process.kill()
        changes = _changes(step.name)
    finally:
        subprocess.run(["docker", "rm", "--force", step.name], capture_output=True, check=False)
    run = read_run(process.returncode, stdout, stderr, step.output, step.summary)
    return ContainerRun(**vars(run), changes=changes)


def _changes(container: str) -> list[str]:
    """What the run added, changed or deleted in the container's filesystem, besides the mount
    points the runner's ``-v`` options create."""
    diff = subprocess.run(["docker", "diff", container], capture_output=True, text=True, check=True).stdout
    mount_points = {"/github", *MOUNTS, "/var", "/var/run", DOCKER_SOCKET, "/run", "/run/docker.sock"}
    return [line for line in diff.splitlines() if line.split(maxsplit=1)[-1] not in mount_points]


def image_size(image: str) -> int:
    shown = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", image],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(shown.stdout)


def base_image() -> str:
    """The image the Dockerfile's build stage starts from, whose files the image's come from."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    return next(line.split()[1] for line in lines if line.upper().startswith("FROM "))


def export_image(image: str, into: Path) -> Path:
    """The image's file system as a container of it has it, as a tar archive at ``into``."""
    created = subprocess.run(["docker", "create", image], capture_output=True, text=True, check=True)
    container = created.stdout.strip()
    try:
        with into.open("wb") as archive:
            subprocess.run(["docker", "export", container], stdout=archive, check=True)
    finally:
        subprocess.run(["docker", "rm", "--force", container], capture_output=True, check=False)
    return into


@dataclass(frozen=True)
class KindOfRun:
    """One kind of run, as the runner starts it. ``inputs`` override ``inputs_for``; None is the
    command, started with arguments (``{url}`` in one stands for the stand-in's address)."""

    what: str
    inputs: dict[str, str] | None
    code: int
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    prepare: Callable[[StandIn], None] | None = None  # scripts the stand-in's answers

    def arguments(self, url: str) -> list[str]:
        return [arg.format(url=url) for arg in self.args]

    action: str = PHASE_ACTION  # whose inputs: the phase action's, or the environment-release one's

    def all_inputs(self, url: str) -> dict[str, str]:
        if self.inputs is None:
            return {}
        given = inputs_for if self.action == PHASE_ACTION else release_inputs_for
        return action_defaults(self.action) | given(url, **self.inputs)


def standin_for_runs() -> StandIn:
    """The stand-in each kind of run is made against, fresh for each: the demo's release, a flag
    with none yet and the pipeline to put it on."""
    standin = StandIn(token=TOKEN, dialect="live")
    standin.add_release("demo", "new-checkout")
    standin.add_flag("demo", "brand-new-flag")
    standin.add_pipeline("demo")
    standin.environments.add_flag_with_rule()
    return standin


def _retried(standin: StandIn) -> None:
    when = "Wed, 21 Oct 2015 07:28:00 GMT"  # an HTTP date in the past: retry at once
    standin.fail_next(Fault(503, method="PUT"), Fault(429, headers={"Retry-After": when}))


def _compressed(standin: StandIn) -> None:
    release = standin.served(standin.release())
    body = gzip.compress(json.dumps(release).encode())
    standin.fail_next(Fault(200, body, headers={"Content-Encoding": "gzip"}, method="GET"))


_RELEASE_START = {
    "target_variation": "Available",
    "rule": BETA_RULE,
    "steps": "[{allocation: 50%, duration: 1s}]",
}


def _lost_start(standin: StandIn) -> None:
    standin.fail_next(Fault(drop=True, applied=True, method="POST"))


def _failing_checks(standin: StandIn) -> None:
    standin.environments.fail_health_checks(("flag_evaluations_any", None, "no recent evaluations"))


_COMMAND = ("--base-uri", "{url}", "--project", "demo", "--flag", "new-checkout")
KINDS_OF_RUN = [
    KindOfRun(
        "start with audiences, wait, debug",
        {"audiences": "- environmentKey: test\n", "wait_for": "started"},
        0,
        env={"RUNNER_DEBUG": "1"},
    ),
    KindOfRun("start", {}, 0),
    KindOfRun("attach", {"flag": "brand-new-flag", "release_pipeline": "standard-pipeline"}, 0),
    KindOfRun("dry run", {"phase": "next", "dry_run": "true"}, 0),
    KindOfRun("refused token", {"access_token": "api-wrong"}, 3),
    KindOfRun("bad input", {"status": "complete", "audiences": '[{"notify": 1}]'}, 2),
    KindOfRun("a mistyped phase", {"phase": "Testng"}, 4),
    KindOfRun("retries", {}, 0, prepare=_retried),
    KindOfRun("a compressed answer", {}, 0, prepare=_compressed),
    KindOfRun("https, no server", {"base_uri": "https://127.0.0.1:9", "max_retries": "0"}, 5),
    KindOfRun("command --help", None, 0, args=("--help",)),
    KindOfRun(
        "command", None, 0, env={"LD_ACCESS_TOKEN": TOKEN}, args=(*_COMMAND, "--phase", "next", "--dry-run")
    ),
    KindOfRun(
        "command, a mistyped flag", None, 2, env={"LD_ACCESS_TOKEN": TOKEN}, args=(*_COMMAND, "--phaze")
    ),
    *(
        KindOfRun(what, inputs, code, args=("environment-release",), action=RELEASE_ACTION, prepare=prepare)
        for what, inputs, code, prepare in [
            (
                "environment release: start, wait",
                _RELEASE_START | {"wait_for": "completed", "poll_interval": "1s"},
                0,
                None,
            ),
            ("environment release: a lost answer", _RELEASE_START, 0, _lost_start),
            ("environment release: health checks", _RELEASE_START, 5, _failing_checks),
            ("environment release: status of none", {"operation": "status"}, 4, None),
            ("environment release: bad steps", _RELEASE_START | {"steps": "[{allocation: 10%}]"}, 2, None),
        ]
    ),
]
