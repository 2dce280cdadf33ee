"""The command in a terminal, or in a workflow's ``run:`` step: flags in, plain log on stderr,
outputs as JSON on stdout."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ld_release_phase import __version__
from ld_release_phase.failures import EXIT_CODE_MEANINGS

from harness import ENTRYPOINT, ROOT, TOKEN, inputs_for, parse_log, runner_env
from standin import Fault, StandIn


def command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The command with only ``env`` (and coverage's own variables, so the run is measured)."""
    measured = {key: value for key, value in os.environ.items() if key.startswith("COVERAGE_")}
    return subprocess.run(
        [sys.executable, str(ENTRYPOINT), *args],
        env=measured | env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def flags_for(standin: StandIn, *more: str, path: str = "") -> list[str]:
    """The flags of a step against the stand-in (``path`` added to its address)."""
    return ["--project", "demo", "--flag", "new-checkout", "--base-uri", standin.url + path, *more]


def test_in_a_terminal_the_log_goes_to_stderr_and_the_outputs_to_stdout_as_json(
    standin: StandIn, tmp_path: Path
) -> None:
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}

    result = command(*flags_for(standin, "--phase", "QA"), env=env)

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["phase-name"], document["started"]) == ("QA", True)
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

    result = command(*flags_for(standin, "--phase", "QA"), env=env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["phase-name"] == "QA"  # stdout is the JSON alone: `| jq` works
    assert "::" not in result.stderr  # a plain log, no workflow commands
    assert output.read_text() == summary.read_text() == ""


def test_dry_run_is_a_switch(standin: StandIn, tmp_path: Path) -> None:
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}

    result = command(*flags_for(standin, "--phase", "QA", "--dry-run"), env=env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["changed"] is False
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
        assert re.search(rf"^  {int(code)} +{re.escape(meaning)}$", result.stdout, re.M), meaning


def test_the_contributing_guide_s_command_against_the_stand_in_works_as_shown(tmp_path: Path) -> None:
    guide = (ROOT / "CONTRIBUTING.md").read_text()
    shown = re.search(r"\$ LD_ACCESS_TOKEN=(\S+) \.venv/bin/ld-release-phase (.*?)\n```", guide, re.S)
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


HOSTILE = "QA ##[warning]forged\n::error::forged too\n##[set-output name=started;]true \x1b]0;title\x07"


def _as_a_run_step_reads_it(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Every workflow command the runner would act on in a run: step, which reads both streams."""
    commands, _ = parse_log(result.stdout + "\n" + result.stderr)
    return [command.name for command in commands]


def test_in_a_run_step_nothing_the_command_prints_can_issue_a_workflow_command(
    standin: StandIn, tmp_path: Path
) -> None:
    qa = standin.rename_phase("QA", to=HOSTILE)
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path), "GITHUB_ACTIONS": "true"}
    flags = ["--project", "demo", "--flag", "new-checkout", "--base-uri", standin.url, "--verbose"]

    succeeded = command(*flags, "--phase", qa["_id"], env=env)
    standin.fail_next(Fault(503, json.dumps({"code": "x", "message": HOSTILE}).encode(), method="PUT"))
    failed = command(*flags, "--phase", "Production", "--max-retries", "0", env=env)

    assert succeeded.returncode == 0, succeeded.stderr
    assert json.loads(succeeded.stdout)["phase-name"] == HOSTILE  # the value intact, as JSON
    assert failed.returncode == 5
    assert "forged too" in json.loads(failed.stdout)["error"]["message"]
    for result in (succeeded, failed):
        assert _as_a_run_step_reads_it(result) == []
        assert TOKEN not in result.stdout + result.stderr
        assert "\x1b" not in result.stdout + result.stderr  # nor can it drive the terminal


def test_without_github_output_the_actions_outputs_are_shown_inert(standin: StandIn, tmp_path: Path) -> None:
    standin.rename_phase("Testing", to=HOSTILE)
    env = runner_env(inputs_for(standin.url, phase="next"), tmp_path)
    del env["GITHUB_OUTPUT"]

    result = subprocess.run(
        [sys.executable, str(ENTRYPOINT)], env=env, capture_output=True, text=True, check=False, timeout=60
    )

    commands, _ = parse_log(result.stdout)
    assert result.returncode == 0, result.stdout
    assert {c.name for c in commands} <= {"add-mask", "group", "endgroup", "notice"}
    assert json.loads(result.stdout.splitlines()[-2])["phase-name"] == HOSTILE


@pytest.mark.parametrize(
    "given", [["--access-token", TOKEN], [f"--access-token={TOKEN}"]], ids=["apart", "joined"]
)
def test_the_token_as_a_flag_is_refused_and_never_printed(
    standin: StandIn, tmp_path: Path, given: list[str]
) -> None:
    result = command(*flags_for(standin, "--phase", "QA", *given), env={"HOME": str(tmp_path)})

    assert result.returncode == 2
    assert "put the token in $LD_ACCESS_TOKEN (flags end up in shell history and ps)" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert json.loads(result.stdout)["exit-code"] == 2
    assert standin.requests == []


def test_stdout_is_one_json_object_with_real_types(live_standin: StandIn, tmp_path: Path) -> None:
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}

    document = json.loads(command(*flags_for(live_standin, "--phase", "next"), env=env).stdout)

    assert (document["started"], document["changed"], document["complete"]) == (True, True, False)
    assert document["release-version"] == 1
    assert document["release"]["phases"][0]["status"] == "active"  # nested, not a string
    assert document["audiences"] == [
        {
            "id": live_standin.phase("Testing")["_audiences"][0]["_id"],
            "name": "Test",
            "environment": "test",
            "status": "ready-to-start",
        }
    ]


def test_a_failure_puts_the_error_and_exit_code_on_stdout(standin: StandIn, tmp_path: Path) -> None:
    env = {"LD_ACCESS_TOKEN": "api-revoked-0000", "HOME": str(tmp_path)}

    result = command(*flags_for(standin, "--phase", "QA"), env=env)

    assert result.returncode == 3
    document = json.loads(result.stdout)
    assert document["exit-code"] == 3
    assert document["error"]["title"] == "LaunchDarkly rejected the access token"
    assert document["error"]["hint"].startswith("Check $LD_ACCESS_TOKEN: ")


def test_a_terminal_gets_one_line_per_call_and_verbose_and_quiet_change_that(
    standin: StandIn, tmp_path: Path
) -> None:
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}

    normal = command(*flags_for(standin, "--phase", "Testing"), env=env)
    standin.add_release("demo", "new-checkout")
    verbose = command(*flags_for(standin, "--phase", "Testing", "--verbose"), env=env)
    standin.add_release("demo", "new-checkout")
    quiet = command(*flags_for(standin, "--phase", "Testing", "--quiet"), env=env)
    failed_quietly = command(*flags_for(standin, "--phase", "QAA", "--quiet"), env=env)

    calls = [line for line in normal.stderr.splitlines() if " → HTTP " in line]
    assert [line.split(" → ")[0] for line in calls] == [
        "GET /api/v2/flags/demo/new-checkout/release",
        f"PUT /api/v2/projects/demo/flags/new-checkout/release/phases/{standin.phase_id('Testing')}",
    ]
    assert "Request headers" not in normal.stderr and "bodies" not in normal.stderr
    assert "Request headers: Authorization: ***" in verbose.stderr
    assert '"status": "Started"' in verbose.stderr  # the request body
    assert quiet.stderr == "" and json.loads(quiet.stdout)["started"] is True
    assert failed_quietly.stderr.startswith("error: Phase not found: ")


def test_hints_name_the_flags_the_user_typed_and_suggest_what_was_meant(
    standin: StandIn, tmp_path: Path
) -> None:
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}

    phase = command(*flags_for(standin, "--phase", "QAA"), env=env)
    field = command(
        *flags_for(standin, "--phase", "QA", "--audiences", '[{"audienceId": "a", "notifyTeamKey": ["x"]}]'),
        env=env,
    )
    audience = command(
        *flags_for(standin, "--phase", "QA", "--audiences", '[{"audienceName": "QAs"}]'), env=env
    )
    wait = command(*flags_for(standin, "--phase", "QA", "--wait-for", "strated"), env=env)

    assert phase.returncode == 4
    assert "Did you mean 'QA'?" in phase.stderr and "Set --phase to one of these names" in phase.stderr
    assert field.returncode == 2
    assert field.stderr.startswith("error: Invalid input --audiences: --audiences has problems:")
    assert (
        "audiences[0].notifyTeamKey: is not a field of an audiences entry. Did you mean 'notifyTeamKeys'?"
        in field.stderr
    )
    assert audience.returncode == 2 and "Did you mean 'QA'?" in audience.stderr
    assert wait.returncode == 2 and "Did you mean 'started'?" in wait.stderr
    for result in (phase, field, audience, wait):
        assert "'phase'" not in result.stderr and "'audiences'" not in result.stderr  # the action's words


def test_with_no_flags_and_no_inputs_the_command_shows_its_usage(tmp_path: Path) -> None:
    result = command(env={"HOME": str(tmp_path), "LD_ACCESS_TOKEN": TOKEN})

    assert result.returncode == 2
    assert "no flags given" in result.stderr
    assert "usage: ld-release-phase" in result.stderr
    assert TOKEN not in result.stderr + result.stdout


def test_an_unknown_flag_is_refused_with_the_one_that_was_meant(tmp_path: Path) -> None:
    result = command("--projct", "demo", "--flag", "f", "--phase", "QA", env={"HOME": str(tmp_path)})

    assert result.returncode == 2
    assert "unknown flag '--projct' (did you mean --project?)" in result.stderr


@pytest.mark.parametrize("path", ["/api/v2", "/api/v2/", "/x?y=1"])
def test_a_base_uri_with_a_path_is_refused_before_any_call(
    standin: StandIn, tmp_path: Path, path: str
) -> None:
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}

    result = command(*flags_for(standin, "--phase", "QA", path=path), env=env)

    assert result.returncode == 2
    assert "--base-uri must be LaunchDarkly's address alone, without a path" in result.stderr
    assert "presets commercial, federal or eu" in result.stderr
    assert standin.requests == []


@pytest.mark.parametrize(
    "how", [["-m", "ld_release_phase"], ["ld-release-phase"]], ids=["python -m", "console script"]
)
def test_the_command_runs_as_python_m_and_as_ld_release_phase(how: list[str], tmp_path: Path) -> None:
    program = [sys.executable, *how] if how[0] == "-m" else [str(Path(sys.executable).parent / how[0])]

    result = subprocess.run([*program, "--version"], capture_output=True, text=True, check=False, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ld-release-phase {__version__}"


def test_ctrl_c_while_waiting_ends_with_exit_130(live_standin: StandIn, tmp_path: Path) -> None:
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}
    process = subprocess.Popen(
        [
            sys.executable,
            str(ENTRYPOINT),
            *flags_for(live_standin, "--phase", "Testing", "--wait-for", "complete"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("Waiting up to"):
            break
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 130
    assert "error: Canceled: Interrupted." in stderr
    assert json.loads(stdout)["exit-code"] == 130


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--phase"], "argument --phase: expected one argument"),
        (["--verbose", "--quiet", "--phase", "QA"], "not allowed with argument"),
        (["QA"], "unexpected argument 'QA': every value follows its flag"),
        (
            ["--phase", "QA", "--retries", "3", "--tmeout", "1"],
            "unknown flags '--retries' (did you mean --max-retries?), '--tmeout'",
        ),
    ],
    ids=["missing value", "verbose and quiet", "a bare value", "two unknown flags"],
)
def test_a_command_line_that_cannot_be_read_is_one_plain_error_and_exit_2(
    tmp_path: Path, args: list[str], says: str
) -> None:
    result = command(*args, env={"HOME": str(tmp_path), "LD_ACCESS_TOKEN": TOKEN})

    assert result.returncode == 2
    assert result.stderr.startswith("error: Invalid command line: ")
    assert says in result.stderr
    assert "Run ld-release-phase --help for every flag." in result.stderr
    assert json.loads(result.stdout)["exit-code"] == 2
