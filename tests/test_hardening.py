"""A hostile service, hostile inputs and strange runners: each hole found, tried as the runner
runs the action (``entrypoint.py`` with environment variables only), so that each stays shut."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness import TOKEN, ActionRun, FakeClock, inputs_for, run_entrypoint, run_in_process
from standin import Fault, StandIn

OWN_COMMANDS = {"add-mask", "notice", "error", "group", "endgroup", "debug"}


def assert_no_foreign_commands(run: ActionRun, *, errors: int) -> None:
    """Only the action's own commands, with exactly the annotations it meant to write."""
    assert {command.name for command in run.commands} <= OWN_COMMANDS, run.commands
    assert len(run.annotations("error")) == errors, run.commands
    assert len(run.annotations("notice")) == 1 - errors, run.commands


def assert_clean(run: ActionRun, code: int) -> None:
    assert run.returncode == code, run.stdout + run.stderr
    assert "Traceback" not in run.everything()
    assert TOKEN not in run.everything()


# -- 1. a paused phase is not started -----------------------------------------------------


def _paused(standin: StandIn, name: str = "Testing") -> None:
    standin.set_phase("demo", "new-checkout", name, "Started")
    standin.set_phase("demo", "new-checkout", name, "Paused")
    assert standin.phase("demo", "new-checkout", name)["started"] is True  # it did start once


def test_a_paused_phase_reads_as_not_started(any_standin: StandIn, tmp_path: Path) -> None:
    _paused(any_standin)

    run = run_entrypoint(inputs_for(any_standin.url, dry_run="true"), tmp_path)

    assert_clean(run, 0)
    assert (run.outputs["started"], run.outputs["complete"]) == ("false", "false")
    assert run.outputs["status"] in ("paused", "Paused")
    assert "Pipeline 'Standard release pipeline': [⏸ Testing]" in "\n".join(run.log_lines)


def test_waiting_for_started_on_a_phase_that_stays_paused_fails_with_exit_6(
    standin: StandIn, tmp_path: Path
) -> None:
    _paused(standin)
    still_paused = json.dumps(standin.served(standin.releases[("demo", "new-checkout")])).encode()
    standin.fail_next(Fault(200, still_paused, method="PUT"))  # LaunchDarkly answers, but keeps it paused

    run = run_entrypoint(inputs_for(standin.url, wait_for="started"), tmp_path)

    assert_clean(run, 6)
    assert run.error.properties["title"] == "Phase paused"
    assert len(standin.writes) == 1
    assert run.outputs == {}


# -- 2. the runner's legacy "##[" commands ---------------------------------------------

LEGACY = [
    "##[set-output name=started;]true",
    "##[error]forged annotation",
    "##[stop-commands]swallow",
    "ok ##[warning]in the middle",
]


@pytest.mark.parametrize("hostile", LEGACY)
def test_names_from_launchdarkly_cannot_start_legacy_commands(
    standin: StandIn, tmp_path: Path, hostile: str
) -> None:
    standin.releases[("demo", "new-checkout")]["name"] = hostile
    standin.phase("demo", "new-checkout", "Testing")["_name"] = hostile

    run = run_entrypoint(inputs_for(standin.url, phase=hostile, wait_for="started"), tmp_path)

    assert_clean(run, 0)
    assert_no_foreign_commands(run, errors=0)
    assert run.outputs["phase-name"] == hostile  # delivered intact where it is data
    shown = hostile.replace("##[", "##\\[")  # and shown inert in the log, as the README says
    assert any(shown in line for line in run.log_lines)


@pytest.mark.parametrize("hostile", LEGACY)
def test_error_text_and_headers_cannot_start_legacy_commands(
    standin: StandIn, tmp_path: Path, hostile: str
) -> None:
    body = json.dumps({"code": hostile, "message": hostile, "id": hostile}).encode()
    standin.fail_next(
        Fault(503, body, {"X-Ratelimit-Route-Remaining": hostile}, method="PUT"),
        Fault(400, body, method="PUT"),
    )

    run = run_entrypoint(inputs_for(standin.url, max_retries="1", phase=f"Testing{hostile}"), tmp_path)

    assert_clean(run, 4)  # the phase input names no phase
    assert_no_foreign_commands(run, errors=1)
    standin.faults.clear()
    retried = run_in_process(inputs_for(standin.url, max_retries="1"), tmp_path / "b", FakeClock())
    assert_no_foreign_commands(retried, errors=0)


def test_the_legacy_stop_command_cannot_swallow_the_final_error(standin: StandIn, tmp_path: Path) -> None:
    standin.releases[("demo", "new-checkout")]["name"] = "##[stop-commands]swallow"
    standin.releases[("demo", "new-checkout")]["_canceledAt"] = 1

    run = run_entrypoint(inputs_for(standin.url), tmp_path)

    assert_clean(run, 6)
    assert run.error.properties["title"] == "Release canceled"


# -- 3. every call ends by its deadline -------------------------------------------------


@pytest.mark.parametrize("body_only", [False, True], ids=["slow headers", "slow body"])
def test_a_server_that_trickles_its_answer_cannot_hold_the_step(
    standin: StandIn, tmp_path: Path, body_only: bool
) -> None:
    release = json.dumps(standin.served(standin.releases[("demo", "new-checkout")])).encode()
    # At 20 bytes a second the answer would take minutes; each attempt may take one second.
    standin.fail_next(*[Fault(200, release, trickle=0.05, trickle_body=body_only, method="GET")] * 2)

    run = run_entrypoint(inputs_for(standin.url, request_timeout="1s", max_retries="1"), tmp_path)

    assert_clean(run, 5)
    assert "failed after 2 attempts: no complete answer within 1s" in run.error.message
    assert standin.writes == []


# -- 4. no part of the token leaks ------------------------------------------------------


def _token_fragments(token: str, shortest: int = 8) -> list[str]:
    return [token[:n] for n in range(shortest, len(token) + 1)] + [
        token[-n:] for n in range(shortest, len(token))
    ]


@pytest.mark.parametrize("lead", [150, 180, 195, 199])
def test_a_token_at_the_cut_of_a_quoted_answer_leaks_no_prefix(
    standin: StandIn, tmp_path: Path, lead: int
) -> None:
    standin.fail_next(Fault(502, b"x" * lead + TOKEN.encode() + b" and more", method="GET"))

    run = run_entrypoint(inputs_for(standin.url, max_retries="0"), tmp_path, {"RUNNER_DEBUG": "1"})

    assert_clean(run, 5)
    shown = run.everything()
    assert not [fragment for fragment in _token_fragments(TOKEN) if fragment in shown]


def test_a_token_with_markdown_characters_is_not_written_escaped_to_the_summary(tmp_path: Path) -> None:
    token = "api-abc_def*ghi|jkl[mno]"
    standin = StandIn(token=token)
    standin.add_release("demo", "new-checkout")
    standin.phase("demo", "new-checkout", "Testing")["_name"] = f"Testing {token}"
    standin.start()
    try:
        run = run_entrypoint(inputs_for(standin.url, access_token=token, phase="next"), tmp_path)
    finally:
        standin.stop()

    assert run.returncode == 0, run.stdout
    escaped = re.sub(r"([\\`*_\[\]|~#])", r"\\\1", token)
    for shown in (token, escaped, token.replace("|", "\\|")):
        assert shown not in run.everything()
    assert "Testing \\*\\*\\*" in run.summary


# -- 5. the token goes only to base-uri, in the action's header -------------------------


def test_a_netrc_entry_cannot_replace_the_token(standin: StandIn, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(parents=True)
    (home / ".netrc").write_text("machine 127.0.0.1 login someone password hunter22\n")
    (home / ".netrc").chmod(0o600)

    run = run_entrypoint(inputs_for(standin.url), tmp_path)

    assert_clean(run, 0)
    assert {r.headers["authorization"] for r in standin.requests} == {TOKEN}


def test_a_proxy_never_sees_the_token_of_a_plain_http_call(standin: StandIn, tmp_path: Path) -> None:
    proxy = StandIn(token="not-the-token")
    proxy.start()
    try:
        run = run_entrypoint(
            inputs_for(standin.url),
            tmp_path,
            {"HTTP_PROXY": proxy.url, "http_proxy": proxy.url, "ALL_PROXY": proxy.url},
        )
    finally:
        proxy.stop()

    assert_clean(run, 0)
    assert proxy.requests == []
    assert [r.method for r in standin.requests] == ["GET", "PUT"]


# -- 6. a clean error, never a traceback ------------------------------------------------


def test_a_lone_surrogate_from_launchdarkly_is_shown_not_crashed_on(standin: StandIn, tmp_path: Path) -> None:
    standin.phase("demo", "new-checkout", "Testing")["_name"] = "Testing \ud800"
    standin.releases[("demo", "new-checkout")]["name"] = "Pipeline \udfff"

    ok = run_entrypoint(inputs_for(standin.url, phase="next"), tmp_path / "a")
    standin.fail_next(Fault(400, b'{"code": "x\\ud800", "message": "bad \\udc00"}', method="PUT"))
    failed = run_entrypoint(inputs_for(standin.url, phase="QA"), tmp_path / "b")

    assert_clean(ok, 0)
    assert ok.outputs["phase-name"] == "Testing \ufffd"
    assert_clean(failed, 5)
    assert "bad \ufffd" in failed.error.message


@pytest.mark.parametrize("status", [200, 400])
def test_deeply_nested_json_from_launchdarkly_is_a_clean_failure(
    standin: StandIn, tmp_path: Path, status: int
) -> None:
    deep = b'{"phases": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    standin.fail_next(Fault(status, deep, method="GET"))

    run = run_entrypoint(inputs_for(standin.url, max_retries="0"), tmp_path)

    assert_clean(run, 5)


@pytest.mark.parametrize(
    "audiences",
    ["[" * 50_000 + "]" * 50_000, "[" * 50_000 + "]" * 50_000 + " # YAML", "- " * 5_000 + "x"],
    ids=["json", "yaml flow", "yaml block"],
)
def test_deeply_nested_audiences_are_an_input_error(standin: StandIn, tmp_path: Path, audiences: str) -> None:
    run = run_entrypoint(inputs_for(standin.url, audiences=audiences), tmp_path)

    assert_clean(run, 2)
    assert run.error.properties["title"] == "Invalid input 'audiences'"
    assert standin.requests == []


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Ratelimit-Reset": "9" * 400},
        {"Retry-After": "1e400"},
        {"Retry-After": "NaN"},
        {"Retry-After": "-5", "X-Ratelimit-Reset": "-5"},
        {"Retry-After": "Tue, 14 Nov 99999 22:13:40 GMT"},
    ],
)
def test_an_absurd_rate_limit_header_is_a_clean_failure(
    standin: StandIn, tmp_path: Path, headers: dict[str, str]
) -> None:
    standin.fail_next(Fault(429, headers=headers, method="GET"))

    run = run_entrypoint(inputs_for(standin.url, max_retries="0"), tmp_path)

    assert_clean(run, 5)
    assert "HTTP 429" in run.error.message


def test_a_token_with_a_non_ascii_character_is_an_input_error(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(standin.url, access_token="api-tökén-0123456789"), tmp_path)

    assert run.returncode == 2
    assert "Traceback" not in run.everything()
    assert run.error.properties["title"] == "Invalid input 'access-token'"
    assert "tökén" not in run.everything()
    assert standin.requests == []


# -- 7. sizes are bounded ---------------------------------------------------------------


def test_a_release_too_big_for_an_output_leaves_that_output_empty_and_says_so(
    standin: StandIn, tmp_path: Path
) -> None:
    standin.releases[("demo", "new-checkout")]["releasePipelineDescription"] = "d" * (3 * 1024 * 1024)

    run = run_entrypoint(inputs_for(standin.url), tmp_path)

    assert_clean(run, 0)
    assert run.outputs["release"] == ""
    assert run.outputs["started"] == "true"
    assert (tmp_path / "output.txt").stat().st_size < 1024 * 1024
    assert any(line.startswith("Output 'release' is left empty") for line in run.log_lines)


def test_huge_text_from_launchdarkly_is_cut_everywhere_it_is_shown(standin: StandIn, tmp_path: Path) -> None:
    huge_name = "N" * (1024 * 1024)
    standin.phase("demo", "new-checkout", "QA")["_name"] = huge_name
    standin.fail_next(
        Fault(400, json.dumps({"code": "c", "message": "M" * 5_000_000}).encode(), method="PUT")
    )

    run = run_entrypoint(inputs_for(standin.url), tmp_path, {"RUNNER_DEBUG": "1"})

    assert_clean(run, 5)
    # Plain lines and annotations at 2,000 characters (plus the note of what was cut); the
    # debug dump of a body, fenced off from commands, at 64 KiB.
    assert max(len(line) for line in _unfenced_lines(run.stdout)) <= 2000 + 40
    assert max(len(line) for line in run.stdout.splitlines()) <= 64 * 1024 + 40
    assert len(run.error.message) <= 2000 + 40
    assert "more characters cut" in run.error.message
    assert len(run.summary.encode()) < 10_000


def _unfenced_lines(stdout: str) -> list[str]:
    """The log's lines outside ``::stop-commands::`` fences."""
    lines, fence = [], None
    for line in stdout.splitlines():
        if fence is None and line.startswith("::stop-commands::"):
            fence = "::" + line.removeprefix("::stop-commands::") + "::"
        elif line == fence:
            fence = None
        elif fence is None:
            lines.append(line)
    return lines


def test_a_summary_too_big_for_github_is_cut_with_a_note(standin: StandIn, tmp_path: Path) -> None:
    release = standin.releases[("demo", "new-checkout")]
    template = release["phases"][2]
    release["phases"] += [
        template | {"_id": f"extra-{i}", "_name": f"{i:04} " + "p" * 400} for i in range(3000)
    ]

    run = run_entrypoint(inputs_for(standin.url, dry_run="true"), tmp_path)

    assert_clean(run, 0)
    assert 900 * 1024 < len(run.summary.encode()) < 1024 * 1024
    assert run.summary.rstrip().endswith("*(cut: GitHub shows at most 1 MiB of a step summary)*")
    assert "The step summary is cut: GitHub shows at most 1 MiB of it." in run.log_lines


def test_yaml_aliases_in_audiences_are_refused_before_any_call(standin: StandIn, tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(20)
    )

    run = run_entrypoint(inputs_for(standin.url, audiences=bomb), tmp_path)

    assert_clean(run, 2)
    assert "aliases (*name) are not accepted" in run.error.message
    assert standin.requests == []


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"audiences": "[" + ",".join(['{"audienceId": "aud-qa"}'] * 101) + "]"}, "at most 100"),
        ({"audiences": '[{"audienceId": "' + "a" * 70_000 + '"}]'}, "KiB"),
        ({"access-token": "api-" + "a" * 600}, "over 512 characters"),
    ],
)
def test_absurd_inputs_are_refused_before_any_call(
    standin: StandIn, tmp_path: Path, overrides: dict[str, str], says: str
) -> None:
    run = run_entrypoint(inputs_for(standin.url) | overrides, tmp_path)

    assert run.returncode == 2
    assert says in run.error.message
    assert standin.requests == []


# -- 8. a wait ends by its deadline -----------------------------------------------------


def test_a_rate_limited_poll_cannot_carry_a_wait_past_its_timeout(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()

    def rate_limit_the_first_poll(server: StandIn, gets: int) -> None:
        if gets == 1:
            server.fail_next(Fault(429, headers={"Retry-After": "20"}, method="GET"))

    standin.on_get = rate_limit_the_first_poll

    run = run_in_process(
        inputs_for(standin.url, wait_for="complete", wait_timeout="3s", poll_interval="1s"), tmp_path, clock
    )

    assert run.returncode == 6
    assert run.error.properties["title"] == "Timed out waiting for the phase"
    assert sum(clock.sleeps) <= 3.0


# -- 9. a phase id of dots cannot reach the server as a path step -------------------------


@pytest.mark.parametrize("dots", ["..", "."])
def test_a_phase_id_of_dots_is_refused_not_sent(standin: StandIn, tmp_path: Path, dots: str) -> None:
    standin.phase("demo", "new-checkout", "QA")["_id"] = dots

    run = run_entrypoint(inputs_for(standin.url, phase="QA"), tmp_path)

    assert_clean(run, 5)
    assert "cannot be sent in a URL path" in run.error.message
    assert standin.writes == []


def test_a_poll_whose_retries_run_out_is_an_api_failure_not_a_timeout(
    standin: StandIn, tmp_path: Path
) -> None:
    clock = FakeClock()

    def fail_the_first_poll(server: StandIn, gets: int) -> None:
        if gets == 1:
            server.fail_next(Fault(500, method="GET"))

    standin.on_get = fail_the_first_poll

    # One poll at 1s, 0.2s before the deadline: its only attempt fails, and no retry is allowed.
    run = run_in_process(
        inputs_for(
            standin.url, wait_for="complete", wait_timeout="1.2s", poll_interval="1s", max_retries="0"
        ),
        tmp_path,
        clock,
    )

    assert run.returncode == 5
    assert "failed after 1 attempt: HTTP 500" in run.error.message
