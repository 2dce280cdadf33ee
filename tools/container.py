"""The action's image, built and run the way the GitHub runner runs a Docker container action.

The runner (actions/runner, ``ContainerActionHandler`` and ``DockerCommandManager``) starts
``docker run --workdir /github/workspace -e INPUT_... -e GITHUB_* -e HOME ... -v ...`` with
every declared input as ``INPUT_<NAME>`` (hyphens kept, ``action.yml`` defaults filled in),
values passed as bare ``-e NAME`` from its own environment, ``HOME=/github/home``, and four
folders of its own mounted under ``/github``. The file-command files in
``/github/file_commands`` are created before the step by the runner's user (uid 1001 on hosted
runners), mode 0644. Here the only difference is ``--network host``, so that the container
reaches the stand-in on this machine's loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import ROOT, ActionRun, action_defaults, input_variables, read_run

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
) -> Step:
    """The runner's ``docker run`` for one step; ``docker_options`` go before the image.

    ``mount_options`` adds options to a runner mount, e.g. ``{"/github/file_commands": "ro"}``.
    ``remove`` adds the runner's ``--rm``; without it the container stays, to be inspected.
    """
    folders = _runner_folders(tmp)
    commands = folders["/github/file_commands"]
    output, summary = _file_command(commands, "set_output"), _file_command(commands, "step_summary")
    variables = input_variables(action_defaults() | inputs)
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
) -> ContainerRun:
    """Run the image once as the runner runs a step, and read back what the runner would see."""
    step = runner_step(
        inputs,
        tmp,
        extra_env,
        image=image,
        args=args,
        docker_options=docker_options,
        mount_options=mount_options,
    )
    try:
        result = subprocess.run(
            step.command, env=step.env, capture_output=True, text=True, timeout=120, check=False
        )
        changes = _changes(step.name)
    finally:
        subprocess.run(["docker", "rm", "--force", step.name], capture_output=True, check=False)
    run = read_run(result.returncode, result.stdout, result.stderr, step.output, step.summary)
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
    """The image the Dockerfile's final stage starts from."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    return [line.split()[1] for line in lines if line.upper().startswith("FROM ")][-1]
