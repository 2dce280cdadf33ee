"""The command in a terminal, or in a workflow's ``run:`` step: flags in, plain log on stderr,
outputs as JSON on stdout."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from ld_release_phase.errors import EXIT_CODE_MEANINGS

from harness import ENTRYPOINT, ROOT, TOKEN
from standin import StandIn


def command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ENTRYPOINT), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_in_a_terminal_the_log_goes_to_stderr_and_the_outputs_to_stdout_as_json(
    standin: StandIn, tmp_path: Path
) -> None:
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}

    result = command(
        "--project", "demo", "--flag", "new-checkout", "--phase", "QA", "--base-uri", standin.url, env=env
    )

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["phase-name"], document["started"]) == ("QA", "true")
    assert "Release phase: project 'demo', flag 'new-checkout', phase 'QA', status active" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_inside_a_run_step_the_command_still_prints_json_for_a_pipe(standin: StandIn, tmp_path: Path) -> None:
    output, summary = tmp_path / "output", tmp_path / "summary"
    output.write_text("")
    summary.write_text("")
    env = {
        "LD_ACCESS_TOKEN": TOKEN,
        "HOME": str(tmp_path),
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }

    result = command(
        "--project", "demo", "--flag", "new-checkout", "--phase", "QA", "--base-uri", standin.url, env=env
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["phase-name"] == "QA"  # stdout is the JSON alone: `| jq` works
    assert "::" not in result.stderr  # a plain log, no workflow commands
    assert output.read_text() == summary.read_text() == ""


def test_dry_run_is_a_switch(standin: StandIn, tmp_path: Path) -> None:
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}

    result = command(
        "--project",
        "demo",
        "--flag",
        "new-checkout",
        "--phase",
        "QA",
        "--base-uri",
        standin.url,
        "--dry-run",
        env=env,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["changed"] == "false"
    assert standin.writes == []


def test_input_errors_name_the_flags_and_the_token_variable(tmp_path: Path) -> None:
    result = command("--project", "a/b", "--flag", "f", "--phase", "QA", env={"HOME": str(tmp_path)})

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--project must be a LaunchDarkly key" in result.stderr
    assert (
        "$LD_ACCESS_TOKEN is not set. Export a LaunchDarkly access token first: export LD_ACCESS_TOKEN="
        in (result.stderr)
    )
    assert "secrets." not in result.stderr


def test_help_lists_the_required_flags_and_the_exit_codes(tmp_path: Path) -> None:
    result = command("--help", env={"HOME": str(tmp_path)})

    assert result.returncode == 0
    required = result.stdout.split("required:", 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"^  (--[a-z-]+)", required, re.M) == ["--project", "--flag", "--phase"]
    for code, meaning in EXIT_CODE_MEANINGS.items():
        assert f"  {int(code)}  {meaning}" in result.stdout


def test_the_readme_command_against_the_stand_in_works_as_shown(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"\$ LD_ACCESS_TOKEN=(\S+) \.venv/bin/python entrypoint\.py (.*?)\n```", readme, re.S)
    assert shown is not None
    token, flags = shown.group(1), shown.group(2).replace("\\\n", " ").split()
    makefile = (ROOT / "Makefile").read_text()
    served = re.search(r"^standin:.*\n\t\$\(BIN\)/python (tools/standin\.py .*)$", makefile, re.M)
    assert served is not None
    arguments = served.group(1).split()[1:]
    arguments[arguments.index("--port") + 1] = "0"  # any free port, for the test
    standin = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "standin.py"), *arguments], stdout=subprocess.PIPE, text=True
    )
    try:
        assert standin.stdout is not None
        url = re.search(r"on (http://\S+)", standin.stdout.readline())
        assert url is not None
        flags[flags.index("--base-uri") + 1] = url.group(1)
        result = command(*flags, env={"LD_ACCESS_TOKEN": token, "HOME": str(tmp_path)})
    finally:
        standin.terminate()
        standin.wait(timeout=10)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "active"
