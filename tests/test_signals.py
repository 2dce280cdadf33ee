"""Stop signals: Ctrl-C or a canceled job (SIGINT), ``docker stop`` or a runner stopping the
container (SIGTERM). Whenever one comes, the step ends in its own words: one error, exit 130 or
143, no outputs, a line in the summary, never a traceback; a write it cut short is said to have
perhaps reached LaunchDarkly. In the image the action is the container's PID 1, which the
kernel gives no signal it has no handler for.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from container import build_image, engine_problem, runner_step
from expect import assert_clean_failure
from harness import ENTRYPOINT, TOKEN, ActionRun, inputs_for, read_run, runner_env
from standin import Fault, StandIn

CODES: dict[int, int] = {signal.SIGINT: 130, signal.SIGTERM: 143}
SAID: dict[int, str] = {signal.SIGINT: "Interrupted.", signal.SIGTERM: "Terminated (SIGTERM)."}
STOPS = pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])


def start_step(
    inputs: dict[str, str], tmp_path: Path, python_options: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    """``entrypoint.py`` as the runner starts the container's process, its stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, *python_options, str(ENTRYPOINT)],
        env=runner_env(inputs, tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(stream: IO[str] | None, starts: str, *, ending: str = "") -> None:
    """Read ``stream`` up to a line that starts with ``starts`` (and ends with ``ending``)."""
    assert stream is not None
    for line in stream:
        if line.lstrip().startswith(starts) and line.rstrip().endswith(ending):
            return
    pytest.fail(f"the step ended without a line {starts!r}...{ending!r}")


def ended(process: subprocess.Popen[str], tmp_path: Path) -> ActionRun:
    stdout, stderr = process.communicate(timeout=30)
    return read_run(process.returncode, stdout, stderr, tmp_path / "output.txt", tmp_path / "summary.md")


def assert_canceled(run: ActionRun, signum: int, *needles: str) -> None:
    """One error, the signal's exit code, no outputs, no traceback, and the summary says so."""
    assert_clean_failure(run, CODES[signum], "Canceled", SAID[signum], *needles)
    assert "### ❌ Canceled" in run.summary
    assert SAID[signum] in run.summary


@STOPS
def test_a_stop_signal_while_waiting_ends_the_step_cleanly(
    live_standin: StandIn, tmp_path: Path, signum: int
) -> None:
    process = start_step(inputs_for(live_standin.url, wait_for="complete"), tmp_path)
    read_until(process.stdout, "Waiting up to")
    process.send_signal(signum)

    assert_canceled(ended(process, tmp_path), signum)


@STOPS
def test_a_stop_signal_during_start_up_ends_the_step_without_a_traceback(
    live_standin: StandIn, tmp_path: Path, signum: int
) -> None:
    # -X importtime reports each import as it completes: the signal comes once the entry's own
    # modules are being imported, while most of start-up (pydantic, requests) is still to come.
    process = start_step(inputs_for(live_standin.url), tmp_path, ("-X", "importtime"))
    read_until(process.stderr, "import time:", ending=" ld_release_phase.failures")
    process.send_signal(signum)

    run = ended(process, tmp_path)
    assert_canceled(run, signum)
    assert "KeyboardInterrupt" not in run.stderr
    assert live_standin.requests == []  # stopped before anything was sent


COMMANDS = {
    "python -m": [sys.executable, "-m", "ld_release_phase"],
    "console script": [str(Path(sys.executable).parent / "ld-release-phase")],
}


@STOPS
@pytest.mark.parametrize("how", list(COMMANDS))
def test_a_stop_signal_while_the_command_starts_ends_it_without_a_traceback(
    live_standin: StandIn, tmp_path: Path, signum: int, how: str
) -> None:
    flags = ["--project", "demo", "--flag", "new-checkout", "--phase", "next", "--base-uri", live_standin.url]
    process = subprocess.Popen(
        [*COMMANDS[how], *flags],
        # The same report of each import as -X importtime, for an entry that takes no options.
        env={"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path), "PYTHONPROFILEIMPORTTIME": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    read_until(process.stderr, "import time:", ending=" ld_release_phase.failures")
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == CODES[signum], stderr
    assert f"error: Canceled: {SAID[signum]}" in stderr
    assert "Traceback" not in stderr
    assert json.loads(stdout)["exit-code"] == CODES[signum]
    assert live_standin.requests == []


@STOPS
def test_a_stop_signal_with_the_start_in_flight_says_it_may_have_reached_launchdarkly(
    live_standin: StandIn, tmp_path: Path, signum: int
) -> None:
    live_standin.fail_next(Fault(200, delay=30, method="PUT"))  # LaunchDarkly is slow to answer
    process = start_step(inputs_for(live_standin.url), tmp_path)
    read_until(process.stdout, "Sending status")
    deadline = time.monotonic() + 10
    while not live_standin.writes and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signum)

    run = ended(process, tmp_path)
    put = f"PUT /api/v2/projects/demo/flags/new-checkout/release/phases/{live_standin.phase_id('Testing')}"
    assert_canceled(run, signum, put, "may have reached LaunchDarkly")
    assert "run the step again: a run reads the release before it writes" in run.error.message


# -- as PID 1 in the image, the way the runner runs it ---------------------------------------


@pytest.fixture(scope="module")
def image() -> str:
    problem = engine_problem()
    if problem is not None:
        if os.environ.get("CONTAINER_TESTS") == "required":
            pytest.fail(f"the container tests are required here, but {problem}")
        pytest.skip(f"the image was neither built nor run: {problem}")
    return build_image()


@pytest.fixture
def container_step(image: str, live_standin: StandIn, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """A step waiting in its container: (container name, output file, summary file)."""
    step = runner_step(inputs_for(live_standin.url, wait_for="complete"), tmp_path, image=image)
    process = subprocess.Popen(step.command, env=step.env, stdout=subprocess.PIPE, text=True)
    try:
        read_until(process.stdout, "Waiting up to")
        yield step.name, step.output, step.summary
    finally:
        process.kill()
        process.communicate(timeout=30)
        subprocess.run(["docker", "rm", "--force", step.name], capture_output=True, check=False)


def test_docker_stop_ends_the_step_in_the_image_at_once_with_exit_143(
    container_step: tuple[str, Path, Path],
) -> None:
    name, output, summary = container_step
    started = time.monotonic()
    # SIGTERM, then SIGKILL after 20 s: a PID 1 that ignored SIGTERM would take all 20 s.
    subprocess.run(["docker", "stop", "--time", "20", name], capture_output=True, check=True, timeout=60)
    took = time.monotonic() - started
    code = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.ExitCode}}", name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=True)

    run = read_run(int(code), logs.stdout, logs.stderr, output, summary)
    assert took < 10, f"docker stop took {took:.1f}s"
    assert_canceled(run, signal.SIGTERM)
