"""Hostile data and secrets: nothing from outside can issue a workflow command, forge an
output, or reveal the token."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from unittest import mock

import pytest
import yaml

from ld_release_phase.failures import ExitCode, Failure
from ld_release_phase.phases import core as action_module
from ld_release_phase.plumbing.api import encode_segment
from ld_release_phase.plumbing.text import Redactor
from ld_release_phase.surfaces.base import Result, Summary
from ld_release_phase.surfaces.terminal import TerminalSurface
from ld_release_phase.surfaces.workflow import WorkflowSurface

from expect import assert_clean, assert_only_own_commands
from harness import ROOT, TOKEN, FakeClock, inputs_for, run_entrypoint, run_in_process
from standin import Fault, StandIn

OUTPUT_NAMES = set(yaml.safe_load((ROOT / "action.yml").read_text())["outputs"])
HOSTILE_TEXTS = [
    "::warning::pwned",
    "QA\n::warning title=x::pwned\n::add-mask::everything",
    "QA\r\n::error::forged",
    "  ::notice::indented",
    "ok\nstatus<<EOF\nforged\nEOF\nstarted=forged",
    "ok\nghadelimiter_00000000-0000-0000-0000-000000000000\nstarted=forged",
    "| table | break |\n<script>alert(1)</script> **bold** `code`",
    "::stop-commands::abc\n::warning::inside\n::abc::",
    "%0A::warning::percent-escaped",
]


@pytest.mark.parametrize("hostile", HOSTILE_TEXTS)
def test_hostile_phase_names_cannot_issue_commands_or_forge_outputs(
    standin: StandIn, tmp_path: Path, hostile: str
) -> None:
    phase = standin.rename_phase("QA", to=hostile, audience_name=hostile)
    standin.rename_release(to=hostile)

    run = run_entrypoint(inputs_for(standin.url, phase=phase["_id"]), tmp_path)

    assert run.returncode == 0, run.stdout
    assert_only_own_commands(run)
    assert set(run.outputs) == OUTPUT_NAMES
    # Delivered intact inside its heredoc (the runner itself reads CRLF as a line end).
    assert run.outputs["phase-name"] == hostile.replace("\r\n", "\n")
    assert run.outputs["started"] == "true"
    assert run.outputs["status"] == "Started"
    for line in run.summary.splitlines():
        assert "<script>" not in line
        assert not line.startswith("::")


@pytest.mark.parametrize("hostile", HOSTILE_TEXTS)
def test_hostile_error_messages_cannot_issue_commands(standin: StandIn, tmp_path: Path, hostile: str) -> None:
    body = json.dumps({"code": "invalid_request", "message": hostile, "id": hostile})
    standin.fail_next(Fault(400, body.encode(), method="PUT"))

    run = run_entrypoint(inputs_for(standin.url), tmp_path)

    assert run.returncode == 5
    assert_only_own_commands(run)
    assert run.outputs == {}


def test_hostile_input_values_cannot_issue_commands(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(
        inputs_for(
            standin.url, phase="x\n::warning::from-input", status="::error::s", audiences="::notice::a"
        ),
        tmp_path,
    )

    assert run.returncode == 2
    assert_only_own_commands(run)
    assert standin.requests == []


def test_token_echoed_by_launchdarkly_is_redacted_everywhere(standin: StandIn, tmp_path: Path) -> None:
    # An error that quotes the token, and a release whose text fields carry it.
    standin.rename_phase("QA", to=f"QA {TOKEN}")
    standin.fail_next(
        Fault(
            400,
            json.dumps({"code": "bad", "message": f"token {TOKEN} is odd", "id": TOKEN}).encode(),
            method="PUT",
        )
    )

    failed = run_entrypoint(inputs_for(standin.url, phase="next"), tmp_path / "a", {"RUNNER_DEBUG": "1"})
    standin.rename_phase("Testing", to=f"Testing {TOKEN}")
    succeeded = run_entrypoint(
        inputs_for(standin.url, phase=f"Testing {TOKEN}"), tmp_path / "b", {"RUNNER_DEBUG": "1"}
    )

    assert failed.returncode == 5
    assert succeeded.returncode == 0
    for run in (failed, succeeded):
        assert TOKEN not in run.everything()
        assert "***" in run.everything()
    assert succeeded.outputs["phase-name"] == "Testing ***"


@pytest.mark.parametrize("misplaced", ["project", "flag", "phase", "status"])
def test_a_token_pasted_into_another_input_is_never_shown(
    standin: StandIn, tmp_path: Path, misplaced: str
) -> None:
    run = run_entrypoint(inputs_for(standin.url) | {misplaced: TOKEN}, tmp_path, {"RUNNER_DEBUG": "1"})

    assert run.returncode != 0
    assert TOKEN not in run.everything()
    assert "***" in run.everything()


def test_debug_mode_shows_bodies_fenced_and_never_the_token(standin: StandIn, tmp_path: Path) -> None:
    standin.rename_phase("Production", to="::warning::in-a-body")

    run = run_entrypoint(inputs_for(standin.url, phase="QA"), tmp_path, {"RUNNER_DEBUG": "1"})

    assert run.returncode == 0
    assert_only_own_commands(run)
    groups = [c.message for c in run.commands if c.name == "group"]
    assert len(groups) == 2
    assert groups[0].startswith("GET /api/v2/flags/demo/new-checkout/release → HTTP 200")
    assert any('"::warning::in-a-body"' in line for line in run.log_lines)  # shown, but inert
    # Bodies are indented for reading.
    body = run.log_lines[run.log_lines.index("Request body:") + 1 :]
    assert body[:3] == ["{", '  "status": "Started"', "}"]
    assert '  "releasePipelineKey": "standard-pipeline",' in run.log_lines
    assert TOKEN not in run.everything()


def test_without_debug_each_call_is_a_group_of_details_but_no_bodies(
    standin: StandIn, tmp_path: Path
) -> None:
    standin.fail_next(
        Fault(429, headers={"Retry-After": "0", "X-Ratelimit-Route-Remaining": "0"}, method="PUT")
    )

    run = run_entrypoint(inputs_for(standin.url), tmp_path)

    assert run.returncode == 0
    assert not any("releasePipelineKey" in line for line in run.log_lines)
    groups = [c.message for c in run.commands if c.name == "group"]
    assert [title.split(" → ")[0] for title in groups] == [
        "GET /api/v2/flags/demo/new-checkout/release",
        "PUT /api/v2/projects/demo/flags/new-checkout/release/phases/1234a56b7c89d012345e6701",
        "PUT /api/v2/projects/demo/flags/new-checkout/release/phases/1234a56b7c89d012345e6701",
    ]
    assert groups[2].endswith("(attempt 2)")
    note = "Request and response bodies are shown when the run has step debug logging on."
    assert run.log_lines.count(note) == 1  # said once, not in every group
    assert len([c for c in run.commands if c.name == "endgroup"]) == 3
    headers = [line for line in run.log_lines if line.startswith("Request headers: ")]
    assert headers[0].startswith(
        "Request headers: Authorization: ***, LD-API-Version: beta, Accept: application/json"
    )
    assert "Content-Type: application/json" in headers[1]
    assert any(
        line.startswith("Response: HTTP 429") and "X-Ratelimit-Route-Remaining: 0" in line
        for line in run.log_lines
    )
    assert TOKEN not in run.everything()


def test_phase_ids_from_launchdarkly_are_percent_encoded_in_the_path(
    standin: StandIn, tmp_path: Path
) -> None:
    hostile_id = "../../flags/other?x=1#frag id"
    standin.rename_phase("QA", to="QA", new_id=hostile_id)

    run = run_entrypoint(inputs_for(standin.url, phase="QA"), tmp_path)

    assert run.returncode == 0, run.stdout
    assert standin.writes[0].path == (
        "/api/v2/projects/demo/flags/new-checkout/release/phases/..%2F..%2Fflags%2Fother%3Fx%3D1%23frag%20id"
    )
    assert run.outputs["phase-id"] == hostile_id


@pytest.mark.parametrize(
    ("segment", "encoded"),
    [
        ("a/b", "a%2Fb"),
        ("a b?c#d%", "a%20b%3Fc%23d%25"),
        ("ok-key_1.2", "ok-key_1.2"),
        ("...x", "...x"),
    ],
)
def test_path_segments_cannot_change_the_url(segment: str, encoded: str) -> None:
    assert encode_segment(segment, Redactor()) == encoded


@pytest.mark.parametrize("segment", [".", "..", "...", ""])
def test_a_segment_of_dots_is_refused_since_it_cannot_be_sent_as_it_is(segment: str) -> None:
    with pytest.raises(Failure, match="cannot be sent in a URL path"):
        encode_segment(segment, Redactor())


def test_an_output_value_holding_the_heredoc_delimiter_is_refused(tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.write_text("")
    surface = WorkflowSurface({"GITHUB_OUTPUT": str(output)}, io.StringIO())
    fixed = "00000000-0000-0000-0000-000000000000"

    with (
        mock.patch("actions_toolkit.file_command.uuid4", return_value=fixed),
        pytest.raises(Failure) as caught,
    ):
        surface.succeed(
            Result(
                headline="",
                title="",
                outputs={"phase-name": f"x\nghadelimiter_{fixed}\nstarted=true"},
                documents=frozenset(),
                summary=Summary("", []),
            )
        )

    assert "refused" in str(caught.value.message)
    assert output.read_text() == ""


def test_an_unexpected_bug_is_reported_plainly_without_the_token(standin: StandIn, tmp_path: Path) -> None:
    with mock.patch.object(action_module, "resolve_phase", side_effect=RuntimeError(f"boom {TOKEN}")):
        quiet = run_in_process(inputs_for(standin.url), tmp_path / "a", FakeClock(), standin=standin)
        debug = run_in_process(
            inputs_for(standin.url), tmp_path / "b", FakeClock(), {"RUNNER_DEBUG": "1"}, standin=standin
        )

    for run in (quiet, debug):
        assert run.returncode == 1
        assert run.error.properties["title"] == "Internal error"
        assert "RuntimeError: boom ***" in run.error.message
        assert TOKEN not in run.everything()
        assert standin.writes == []
    assert "Traceback" not in quiet.everything()
    assert any(line.startswith("Traceback") for line in debug.log_lines)


def test_multi_line_secret_is_masked_line_by_line(tmp_path: Path) -> None:
    stream = io.StringIO()
    surface = WorkflowSurface({"GITHUB_ACTIONS": "true"}, stream)

    surface.mask("first-line-secret\nsecond-line-secret")
    surface.say("leak first-line-secret and second-line-secret")

    lines = stream.getvalue().splitlines()
    assert sorted(lines[:3]) == sorted(
        [
            "::add-mask::first-line-secret%0Asecond-line-secret",
            "::add-mask::first-line-secret",
            "::add-mask::second-line-secret",
        ]
    )
    assert lines[3] == "leak *** and ***"


def test_outside_github_no_mask_command_prints_the_token(tmp_path: Path) -> None:
    log, out = io.StringIO(), io.StringIO()
    surface = TerminalSurface({}, log, out)

    surface.mask(TOKEN)
    surface.fail(Failure(title="Oops", message=f"bad {TOKEN}", hint="", exit_code=ExitCode.API_FAILURE))

    assert TOKEN not in log.getvalue()
    assert log.getvalue() == "error: Oops: bad ***\n"


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
    standin.rename_release(to=hostile)
    standin.rename_phase("Testing", to=hostile)

    run = run_entrypoint(inputs_for(standin.url, phase=hostile, wait_for="started"), tmp_path)

    assert_clean(run, 0)
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
    standin.clear_faults()
    retried = run_in_process(
        inputs_for(standin.url, max_retries="1"), tmp_path / "b", FakeClock(), standin=standin
    )
    assert_clean(retried, 0)


def test_the_legacy_stop_command_cannot_swallow_the_final_error(standin: StandIn, tmp_path: Path) -> None:
    standin.rename_release(to="##[stop-commands]swallow")
    standin.cancel(at=1)

    run = run_entrypoint(inputs_for(standin.url), tmp_path)

    assert_clean(run, 6)
    assert run.error.properties["title"] == "Release canceled"


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
    standin.rename_phase("Testing", to=f"Testing {token}")
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


@pytest.mark.parametrize("dots", ["..", "."])
def test_a_phase_id_of_dots_is_refused_not_sent(standin: StandIn, tmp_path: Path, dots: str) -> None:
    standin.rename_phase("QA", to="QA", new_id=dots)

    run = run_entrypoint(inputs_for(standin.url, phase="QA"), tmp_path)

    assert_clean(run, 5)
    assert "cannot be sent in a URL path" in run.error.message
    assert standin.writes == []


def _encodings_of(token: str) -> list[str]:
    raw = token.encode()
    return [
        base64.b64encode(raw).decode(),
        base64.b64encode(b"user:" + raw).decode(),  # the token at another byte alignment
        base64.b64encode(b"x" + raw + b"tail").decode(),
        "".join(f"%{byte:02X}" for byte in raw),
        "".join(f"%{byte:02x}" for byte in raw),
    ]


@pytest.mark.parametrize("shape", range(5), ids=["base64", "base64+5", "base64+1", "%XX", "%xx"])
def test_the_token_echoed_in_an_encoding_the_runner_masks_is_redacted_everywhere(
    standin: StandIn, tmp_path: Path, shape: int
) -> None:
    encoded = _encodings_of(TOKEN)[shape]
    standin.rename_phase("Testing", to=f"Testing {encoded}")
    standin.rename_release(to="Standard release pipeline", description=encoded)

    run = run_entrypoint(inputs_for(standin.url, phase="next"), tmp_path, {"RUNNER_DEBUG": "1"})

    assert run.returncode == 0, run.stdout
    shown = run.everything()
    assert TOKEN[4:20] not in shown
    # Of the encoded token, at most the characters that also encode its neighbours are left.
    assert not any(encoded[i : i + 12] in shown for i in range(len(encoded) - 12))
