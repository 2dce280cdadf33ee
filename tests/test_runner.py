"""Runner I/O in both places it runs: a workflow step and a terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path

from ld_release_phase.runner import Runner
from ld_release_phase.text import Redactor

from harness import parse_log, parse_output_file


def test_one_line_folds_anything_that_could_start_a_command() -> None:
    assert Redactor().one_line("a\nb\r\nc\x00d\te") == "a\\nb\\r\\nc\\x00d\\te"


def test_a_plain_line_that_would_start_a_command_is_fenced() -> None:
    stream = io.StringIO()

    Runner({"GITHUB_ACTIONS": "true"}, stream).info("  ::warning::not from us")

    commands, plain = parse_log(stream.getvalue())
    assert commands == []
    assert plain == ["  ::warning::not from us"]


def test_groups_fold_and_close_even_when_the_body_fails() -> None:
    stream = io.StringIO()
    runner = Runner({"GITHUB_ACTIONS": "true"}, stream)

    try:
        with runner.group("GET /x\n::error::y"):
            raise RuntimeError
    except RuntimeError:
        pass

    commands, _ = parse_log(stream.getvalue())
    assert [(c.name, c.message) for c in commands] == [("group", "GET /x\\n::error::y"), ("endgroup", "")]


def test_in_a_terminal_the_log_is_plain_and_outputs_are_json_on_stdout() -> None:
    log, out = io.StringIO(), io.StringIO()
    runner = Runner({}, log, out)

    runner.notice("done", title="LaunchDarkly: flag")
    runner.error("line one\nline two")
    with runner.group("a call"):
        runner.verbatim("::warning::body")
    runner.set_outputs({"status": "Started", "started": "true"})
    runner.append_summary("ignored outside a workflow")

    assert log.getvalue().splitlines() == [
        "notice: LaunchDarkly: flag: done",
        "error: line one",
        "  line two",
        "a call",
        "\\::warning::body",  # inert: a run: step's output is read for commands too
    ]
    assert json.loads(out.getvalue()) == {"started": "true", "status": "Started"}


def test_outputs_and_summary_are_appended_in_the_runner_format(tmp_path: Path) -> None:
    output, summary = tmp_path / "out", tmp_path / "summary"
    output.write_text("earlier=kept\n")
    summary.write_text("# Earlier\n")
    runner = Runner({"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}, io.StringIO())
    runner.mask("api-secret-value")

    runner.set_outputs({"phase-name": "two\nlines", "release": '{"token": "api-secret-value"}'})
    runner.append_summary("| a | api-secret-value |\n")

    assert parse_output_file(output.read_text()) == {
        "earlier": "kept",
        "phase-name": "two\nlines",
        "release": '{"token": "***"}',
    }
    assert summary.read_text() == "# Earlier\n| a | *** |\n"


def test_short_secrets_are_masked_by_the_runner_but_not_redacted_as_substrings() -> None:
    stream = io.StringIO()
    runner = Runner({"GITHUB_ACTIONS": "true"}, stream)

    runner.mask("abc")
    runner.info("abc is in alphabet")

    assert stream.getvalue().splitlines() == ["::add-mask::abc", "abc is in alphabet"]


def test_inputs_are_read_with_hyphens_kept() -> None:
    runner = Runner({"INPUT_BASE-URI": "eu", "INPUT_BASE_URI": "wrong", "INPUT_PHASE": "QA"}, io.StringIO())

    assert runner.read_inputs(("base-uri", "phase", "flag")) == {"base-uri": "eu", "phase": "QA", "flag": ""}
