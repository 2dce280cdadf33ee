"""The image as users run it: built with `make image`, started the way the GitHub runner starts a
Docker action (see ``tools/container.py``), against the stand-in on this machine's loopback.

Every run also checks what it changed inside the container: nothing, besides the runner's mount
points. Without a Docker engine these tests are skipped, saying why; where ``.ci/run`` has
brought an engine up it sets ``CONTAINER_TESTS=required``, and a missing engine fails instead.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from container import (
    ContainerRun,
    base_image,
    build_image,
    engine_problem,
    image_size,
    run_container,
)
from expect import assert_clean
from harness import TOKEN, inputs_for
from standin import StandIn

# The image may add at most this much to its base: the locked packages and the bytecode of
# what a run imports.
ADDED_MB_TARGET = 20.0


@pytest.fixture(scope="module")
def image() -> str:
    problem = engine_problem()
    if problem is not None:
        if os.environ.get("CONTAINER_TESTS") == "required":
            pytest.fail(f"the container tests are required here, but {problem}")
        pytest.skip(f"the image was neither built nor run: {problem}")
    return build_image()


@pytest.fixture
def tls_standin(private_ca: tuple[str, str]) -> Iterator[StandIn]:
    server = StandIn(token=TOKEN, dialect="live")
    server.add_release("demo", "new-checkout")
    server.start(tls=private_ca)
    yield server
    server.stop()


def assert_clean_in_container(run: ContainerRun, code: int) -> None:
    """A clean end, and nothing written in the container's own filesystem."""
    assert_clean(run, code)
    assert run.changes == []


@pytest.mark.parametrize(("mode", "sent"), [("live", "active"), ("spec", "Started")])
def test_the_default_step_starts_the_phase_in_either_spelling(
    image: str, tmp_path: Path, mode: str, sent: str
) -> None:
    standin = StandIn(token=TOKEN, dialect=mode)
    standin.add_release("demo", "new-checkout")
    url = standin.start()
    try:
        run = run_container(inputs_for(url), tmp_path)
    finally:
        standin.stop()

    assert_clean_in_container(run, 0)
    assert [(r.method, r.json()) for r in standin.writes] == [("PUT", {"status": sent})]
    assert (run.outputs["started"], run.outputs["changed"]) == ("true", "true")
    assert run.stdout.splitlines()[0] == f"::add-mask::{TOKEN}"
    before, after = {"live": ("ready-to-start", "active"), "spec": ("NotStarted", "Started")}[mode]
    assert [n.message for n in run.annotations("notice")] == [f"Phase 'Testing': {before} → {after}."]
    assert "Testing" in run.summary


def test_a_rerun_writes_nothing(image: str, live_standin: StandIn, tmp_path: Path) -> None:
    first = run_container(inputs_for(live_standin.url), tmp_path / "1")
    again = run_container(inputs_for(live_standin.url), tmp_path / "2")

    assert_clean_in_container(first, 0)
    assert_clean_in_container(again, 0)
    assert len(live_standin.writes) == 1
    assert (again.outputs["changed"], again.outputs["status"]) == ("false", "active")


def test_a_refused_token_is_one_error_and_exit_3(image: str, live_standin: StandIn, tmp_path: Path) -> None:
    run = run_container(inputs_for(live_standin.url, access_token="api-revoked-0123456789"), tmp_path)

    assert_clean_in_container(run, 3)
    assert run.error.properties["title"] == "LaunchDarkly rejected the access token"
    assert "api-revoked-0123456789" not in run.everything()
    assert live_standin.writes == []
    assert run.outputs == {}


def test_a_dry_run_shows_the_request_and_writes_nothing(
    image: str, live_standin: StandIn, tmp_path: Path
) -> None:
    run = run_container(inputs_for(live_standin.url, dry_run="true"), tmp_path)

    assert_clean_in_container(run, 0)
    assert live_standin.writes == []
    assert any(line.startswith("Dry run: would send PUT ") for line in run.log_lines)
    assert run.outputs["changed"] == "false"


@pytest.mark.parametrize(
    ("docker_options", "mount_options"),
    [
        (["--user", "1002"], None),  # an image or a runner with a user other than root
        ([], {"/github/file_commands": "ro"}),  # a file system that refuses the write
    ],
    ids=["another user", "read-only file commands"],
)
def test_an_unwritable_output_file_is_one_plain_error_before_any_call(
    image: str,
    live_standin: StandIn,
    tmp_path: Path,
    docker_options: list[str],
    mount_options: dict[str, str] | None,
) -> None:
    run = run_container(
        inputs_for(live_standin.url), tmp_path, docker_options=docker_options, mount_options=mount_options
    )

    assert_clean_in_container(run, 1)
    assert run.error.properties["title"] == "Cannot write $GITHUB_OUTPUT"
    assert "$GITHUB_OUTPUT (/github/file_commands/set_output_" in run.error.message
    assert "Please report" not in run.stdout
    assert live_standin.requests == []


def test_https_to_a_private_ca_named_in_the_steps_env(
    image: str, tls_standin: StandIn, private_ca: tuple[str, str], tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "ca.pem").write_bytes(Path(private_ca[0]).read_bytes())
    url = tls_standin.url.replace("127.0.0.1", "localhost")

    run = run_container(inputs_for(url), tmp_path, {"REQUESTS_CA_BUNDLE": "/github/workspace/ca.pem"})

    assert_clean_in_container(run, 0)
    assert run.outputs["status"] == "active"


def test_a_read_only_container_without_home_or_tmpdir_still_runs(
    image: str, live_standin: StandIn, tmp_path: Path
) -> None:
    run = run_container(
        inputs_for(live_standin.url),
        tmp_path,
        {"HOME": "/nonexistent", "TMPDIR": "/nonexistent"},
        docker_options=["--read-only"],
    )

    assert_clean_in_container(run, 0)
    assert run.outputs["started"] == "true"


# Each kind of run, with bytecode writing switched back on: a module that was not compiled into
# the image would be compiled now, and its bytecode would show in `docker diff`.
KINDS_OF_RUN = {
    "start, YAML audiences, wait, debug": (
        {"audiences": "- environmentKey: test\n", "wait_for": "started"},
        {"RUNNER_DEBUG": "1"},
        [],
        0,
    ),
    "bad input": ({"status": "complete", "audiences": '[{"notify": 1}]'}, {}, [], 2),
    "refused token": ({"access_token": "api-wrong"}, {}, [], 3),
    "command --help": ({}, {}, ["--help"], 0),
}


@pytest.mark.parametrize("kind", list(KINDS_OF_RUN))
def test_nothing_a_run_imports_is_compiled_at_run_time(
    image: str, live_standin: StandIn, tmp_path: Path, kind: str
) -> None:
    overrides, env, args, code = KINDS_OF_RUN[kind]

    run = run_container(
        inputs_for(live_standin.url, **overrides), tmp_path, env | {"PYTHONDONTWRITEBYTECODE": ""}, args=args
    )

    assert run.returncode == code, run.stdout + run.stderr
    assert run.changes == []


def test_https_needs_nothing_compiled_at_run_time(
    image: str, tls_standin: StandIn, private_ca: tuple[str, str], tmp_path: Path
) -> None:
    (tmp_path / "workspace").mkdir()
    (tmp_path / "workspace" / "ca.pem").write_bytes(Path(private_ca[0]).read_bytes())
    url = tls_standin.url.replace("127.0.0.1", "localhost")

    run = run_container(
        inputs_for(url),
        tmp_path,
        {"REQUESTS_CA_BUNDLE": "/github/workspace/ca.pem", "PYTHONDONTWRITEBYTECODE": ""},
    )

    assert run.returncode == 0, run.stdout
    assert run.changes == []


def test_the_image_holds_only_what_a_run_needs(image: str) -> None:
    listing = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "python", image, "-c", _INVENTORY],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    environment = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Env}}", image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert listing == ["entrypoint.py", "src"]
    assert "PIP_" not in environment
    assert "PYTHONDONTWRITEBYTECODE=1" in environment


_INVENTORY = """
import os
print(*sorted(os.listdir("/action")))
assert not os.path.exists("/build") and not os.path.exists("/staging")
"""


def test_the_image_adds_little_to_its_base(image: str) -> None:
    added = (image_size(image) - image_size(base_image())) / 1e6

    assert added <= ADDED_MB_TARGET, f"the image adds {added:.1f} MB to {base_image()}"
