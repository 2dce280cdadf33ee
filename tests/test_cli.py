"""The command in a terminal, or in a workflow's ``run:`` step: flags in, plain log on stderr,
outputs as JSON on stdout."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ld_release_phase import __version__
from ld_release_phase.failures import EXIT_CODE_MEANINGS, ExitCode

from act import repository_copy
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


def on_a_terminal(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """The command with its stdout on a terminal (a pseudo-terminal, as a shell gives it) and its
    stderr piped: the exit code, what the terminal showed, and stderr."""
    measured = {key: value for key, value in os.environ.items() if key.startswith("COVERAGE_")}
    terminal, command_side = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, str(ENTRYPOINT), *args],
        env=measured | env,
        stdout=command_side,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(command_side)
    shown = b""
    while select.select([terminal], [], [], 60)[0]:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # the command ended and closed its side
            break
        if not chunk:
            break
        shown += chunk
    os.close(terminal)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, shown.decode().replace("\r\n", "\n"), stderr


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
    codes = re.findall(r"^  (\d+) +(.+)$", result.stdout.split("exit codes:", 1)[1], re.M)
    assert [int(code) for code, _ in codes] == [int(code) for code in EXIT_CODE_MEANINGS]
    for code, meaning in EXIT_CODE_MEANINGS.items():
        if code is not ExitCode.INTERNAL:  # the action's meaning speaks of the runner's files
            assert (str(int(code)), meaning) in codes, meaning


def test_help_speaks_in_terminal_words_and_its_examples_work(live_standin: StandIn, tmp_path: Path) -> None:
    shown = command("--help", env={"HOME": str(tmp_path)}).stdout
    examples = re.findall(r"^  ld-release-phase (--.*)$", shown.split("examples:", 1)[1], re.M)
    live_standin.add_release("my-project", "new-checkout")
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}

    runs = [
        command(*line.split("|")[0].split(), "--base-uri", live_standin.url, env=env) for line in examples
    ]

    for words in ("GITHUB_OUTPUT", "phase: next", "step's log", "`"):
        assert words not in shown, words
    assert "start the next phase (--phase next)" in " ".join(shown.split())
    assert "With --release-pipeline:" in " ".join(shown.split())
    assert len(examples) >= 3
    assert [run.returncode for run in runs] == [0] * len(examples), [run.stderr for run in runs]
    assert "--json" in examples[-1] and json.loads(runs[-1].stdout)["phase-name"] == "QA"


def test_on_a_terminal_stdout_says_what_happened_and_where_the_release_stands(
    live_standin: StandIn, tmp_path: Path
) -> None:
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}

    code, shown, stderr = on_a_terminal(*flags_for(live_standin, "--phase", "Testing"), env=env)

    assert code == 0, stderr
    lines = shown.splitlines()
    assert lines[0] == "Phase 'Testing': ready-to-start → active."
    assert "Pipeline Standard release pipeline, release version 1" in lines
    testing, qa = (
        next(line for line in lines if f"({environment})" in line) for environment in ("test", "qa")
    )
    assert re.fullmatch(r"➡️ +Testing +active +✅ +— +Test \(test\): ready-to-start", testing)
    assert re.fullmatch(r" +QA +ready-to-start +— +— +QA \(qa\): ready-to-start", qa)
    assert testing.index("Testing") == qa.index("QA")  # the columns line up on the screen
    assert "{" not in shown  # no JSON for a person
    assert "notice:" not in stderr  # what happened is said once, on stdout
    assert "Sending status 'active'" in stderr  # the log still goes to stderr
    assert TOKEN not in shown + stderr


def test_the_readme_s_terminal_sample_is_what_a_terminal_shows(live_standin: StandIn, tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    said = re.search(
        r"On a release whose (\w+) phase has started, a terminal shows:\n\n```console\n(.*?)```", readme, re.S
    )
    assert said is not None
    earlier, sample = said.groups()
    typed = [line[2:] for line in sample.splitlines() if line.startswith("$ ")]
    flags = typed[-1].split()[1:]
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}
    live_standin.add_release("my-project", "new-checkout")
    with_base = [*flags, "--base-uri", live_standin.url]
    first = list(with_base)
    first[first.index("--phase") + 1] = earlier  # the step a user ran before, piped
    before = command(*first, env=env)

    code, shown, stderr = on_a_terminal(*with_base, env=env)

    def normalised(lines: list[str]) -> list[str]:
        lines = [re.sub(r"in \d+ ms", "in N ms", line) for line in lines]
        return [re.sub(r"([0-9a-f]{8})-[0-9a-f-]{27}|([0-9a-f]{8})-…", r"\1\2-…", line) for line in lines]

    assert before.returncode == 0, before.stderr
    assert code == 0, stderr
    printed = [line for line in sample.splitlines() if not line.startswith("$ ")]
    assert normalised(stderr.splitlines() + shown.splitlines()) == normalised(printed)


def test_on_a_terminal_a_failure_is_said_once(live_standin: StandIn, tmp_path: Path) -> None:
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}

    code, shown, stderr = on_a_terminal(*flags_for(live_standin, "--phase", "QAA"), env=env)
    bare_code, bare_shown, bare_stderr = on_a_terminal(env=env)

    assert code == 4
    assert shown == ""
    assert stderr.count("Phase not found") == 1
    assert "Did you mean 'QA'?" in stderr
    assert (bare_code, bare_shown) == (2, "")
    assert bare_stderr.startswith("error: Invalid command line: no flags given")


def test_on_a_terminal_json_is_one_flag_away(live_standin: StandIn, tmp_path: Path) -> None:
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path)}

    code, shown, _ = on_a_terminal(*flags_for(live_standin, "--phase", "Testing", "--json"), env=env)
    failed, failure, _ = on_a_terminal(*flags_for(live_standin, "--phase", "QAA", "--json"), env=env)

    assert code == 0
    assert json.loads(shown)["status"] == "active"
    assert failed == 4
    assert json.loads(failure)["exit-code"] == 4


def test_the_readme_s_try_it_command_works_against_make_standin_as_shown(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    try_it = readme.split("**Try it without an account.**", 1)[1].split("\n## ", 1)[0]
    shown = re.search(r"\$ LD_ACCESS_TOKEN=(\S+) \.venv/bin/ld-release-phase (.*?)\n```", try_it, re.S)
    assert shown is not None
    token, flags = shown.group(1), shown.group(2).replace("\\\n", " ").split()
    makefile = (ROOT / "Makefile").read_text()
    served = re.search(r"^standin:.*\n\t\$\(BIN\)/python (tools/standin\.py .*)$", makefile, re.M)
    assert served is not None
    arguments = served.group(1).split()[1:]
    said = " ".join(try_it.split())
    assert f"on `http://127.0.0.1:{arguments[arguments.index('--port') + 1]}`" in said
    assert f"with token `{arguments[arguments.index('--token') + 1]}`" in said
    assert f"`{arguments[arguments.index('--new-flag') + 1]}` with no release yet" in said
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


def test_make_demo_runs_the_action_against_the_stand_in_and_shows_each_run(tmp_path: Path) -> None:
    makefile = (ROOT / "Makefile").read_text()
    demo = re.search(r"^demo:.*\n\t\$\(BIN\)/python (\S+)$", makefile, re.M)
    assert demo is not None

    result = subprocess.run(
        [sys.executable, str(ROOT / demo.group(1))], capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    runs = re.findall(r"^--- exit code (\d+);", result.stdout, re.M)
    assert runs == ["0", "0", "0", "0", "2", "0"]  # the refused Complete is exit 2, as the README says
    assert TOKEN not in result.stdout


def test_the_makefile_points_only_to_readme_sections_that_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    readme = (ROOT / "README.md").read_text()
    sections = re.findall(r"^#+ (.+)$", readme, re.M) + re.findall(r"^\*\*(.+?)\.\*\*", readme, re.M)
    pointed = re.findall(r'"([^"]+)" in the README', makefile)

    assert len(pointed) == makefile.count("README"), 'each pointer names its section: see "..." in the README'
    assert [name for name in pointed if name not in sections] == []


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


# What the command may bring into a fresh environment: itself, its runtime packages, and what a
# new virtual environment holds already (pip; setuptools on Python 3.11).
COMMAND_INSTALL_LIMIT = 16


def test_pip_install_of_the_project_gives_the_command_with_the_runtime_packages_only(
    live_standin: StandIn, tmp_path: Path
) -> None:
    source = repository_copy(tmp_path / "ld-release-phase")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {package["name"].lower().replace("_", "-") for package in json.loads(listed.stdout)}
    env = {"LD_ACCESS_TOKEN": TOKEN, "HOME": str(tmp_path), "PATH": os.environ.get("PATH", "")}

    result = subprocess.run(
        [str(venv / "bin" / "ld-release-phase"), *flags_for(live_standin, "--phase", "Testing")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert install.returncode == 0, install.stderr
    assert len(names) <= COMMAND_INSTALL_LIMIT, sorted(names)
    assert {"ld-release-phase", "requests", "pydantic", "pyyaml"} <= names
    assert names.isdisjoint({"actions-toolkit", "pygithub", "cryptography", "pynacl"}), sorted(names)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["started"] is True
