"""Runners whose environment fails the step: files that cannot be written, odd homes.

A problem of the environment is named for what it is (the variable, the path, the reason),
never reported as a bug of the action, and found before any call to LaunchDarkly where it would
keep the step from reporting what it did.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from expect import assert_clean
from harness import ENTRYPOINT, TOKEN, ActionRun, inputs_for, parse_output_file, run_entrypoint, runner_env
from standin import StandIn


def assert_plain(run: ActionRun, code: int) -> None:
    """A clean end that does not call the environment's problem a bug."""
    assert_clean(run, code)
    assert "Please report" not in run.everything()


def _unwritable(kind: str, tmp_path: Path) -> str:
    tmp_path.mkdir()
    if kind == "missing folder":
        return str(tmp_path / "gone" / "set_output")
    if kind == "folder":
        return str(tmp_path)
    if kind == "fifo":  # nobody reads it: opening it to write must not wait for a reader
        os.mkfifo(tmp_path / "fifo")
        return str(tmp_path / "fifo")
    return "/dev/full"


UNWRITABLE = ["missing folder", "folder", "fifo", "device"]


@pytest.mark.parametrize("kind", UNWRITABLE)
def test_outputs_that_cannot_be_written_are_one_error_naming_github_output_before_any_call(
    live_standin: StandIn, tmp_path: Path, kind: str
) -> None:
    path = _unwritable(kind, tmp_path / "files")
    run = run_entrypoint(inputs_for(live_standin.url), tmp_path, {"GITHUB_OUTPUT": path})

    assert_plain(run, 1)
    assert run.error.properties["title"] == "Cannot write $GITHUB_OUTPUT"
    assert run.error.message.startswith(f"$GITHUB_OUTPUT ({path}) cannot be written: ")
    assert live_standin.requests == []


@pytest.mark.parametrize("kind", UNWRITABLE)
def test_a_summary_that_cannot_be_written_is_one_warning_and_the_step_succeeds(
    live_standin: StandIn, tmp_path: Path, kind: str
) -> None:
    path = _unwritable(kind, tmp_path / "files")
    run = run_entrypoint(inputs_for(live_standin.url), tmp_path, {"GITHUB_STEP_SUMMARY": path})

    assert_plain(run, 0)
    warnings = run.annotations("warning")
    assert [w.properties["title"] for w in warnings] == ["Step summary not written"]
    assert warnings[0].message.startswith(f"$GITHUB_STEP_SUMMARY ({path}) cannot be written: ")
    assert run.outputs["started"] == "true"


def test_a_failing_step_with_an_unwritable_summary_keeps_its_own_error_and_exit_code(
    live_standin: StandIn, tmp_path: Path
) -> None:
    run = run_entrypoint(
        inputs_for(live_standin.url, access_token="api-wrong-token"),
        tmp_path,
        {"GITHUB_STEP_SUMMARY": "/dev/full"},
    )

    assert_plain(run, 3)
    assert run.error.properties["title"] == "LaunchDarkly rejected the access token"
    assert len(run.annotations("warning")) == 1


def test_no_home_and_no_tmpdir_are_not_needed(live_standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(
        inputs_for(live_standin.url), tmp_path, {"HOME": "/nonexistent", "TMPDIR": "/nonexistent"}
    )

    assert_plain(run, 0)
    assert run.outputs["started"] == "true"


def test_a_failing_summary_with_hostile_text_and_the_token_ends_cleanly(
    live_standin: StandIn, tmp_path: Path
) -> None:
    live_standin.rename_phase("Testing", to=f"Testing {TOKEN}\n::warning::forged")

    run = run_entrypoint(
        inputs_for(live_standin.url, phase="next"),
        tmp_path,
        {"GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "file")},
    )

    assert_plain(run, 0)  # the PUT went through: an unwritable summary does not undo that
    assert run.outputs["started"] == "true"
    assert [w.properties["title"] for w in run.annotations("warning")] == ["Step summary not written"]


def test_a_log_that_refuses_writes_does_not_change_the_result(live_standin: StandIn, tmp_path: Path) -> None:
    env = runner_env(inputs_for(live_standin.url), tmp_path)
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, str(ENTRYPOINT)],
            check=False,
            env=env,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert parse_output_file((tmp_path / "output.txt").read_text())["started"] == "true"


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_the_log_is_written_in_any_output_encoding(
    live_standin: StandIn, tmp_path: Path, encoding: str
) -> None:
    live_standin.rename_phase("Testing", to="Prüfung 🚦")

    run = run_entrypoint(
        inputs_for(live_standin.url, phase="next"),
        tmp_path,
        {"PYTHONIOENCODING": encoding},
        encoding=encoding,
    )

    assert_plain(run, 0)
    assert run.outputs["phase-name"] == "Prüfung 🚦"  # the outputs file is UTF-8 whatever the log's encoding
    assert any("Pr" in line and "fung" in line for line in run.log_lines)


def test_an_access_token_input_of_white_space_falls_back_to_ld_access_token(
    live_standin: StandIn, tmp_path: Path
) -> None:
    run = run_entrypoint(
        inputs_for(live_standin.url, access_token="  \n "), tmp_path, {"LD_ACCESS_TOKEN": TOKEN}
    )

    assert_plain(run, 0)
    assert {r.headers["authorization"] for r in live_standin.requests} == {TOKEN}
