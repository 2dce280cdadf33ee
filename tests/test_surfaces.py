"""The two surfaces a run shows itself on: a workflow step and a terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ld_release_phase.failures import ExitCode, Failure, say
from ld_release_phase.plumbing.text import Redactor
from ld_release_phase.plumbing.words import TOKEN_INPUT, ref
from ld_release_phase.surfaces.base import Result, Summary, Table
from ld_release_phase.surfaces.terminal import TerminalSurface
from ld_release_phase.surfaces.workflow import WorkflowSurface

from harness import parse_log, parse_output_file


def result(**outputs: object) -> Result:
    return Result(
        headline="done",
        title="LaunchDarkly: flag",
        outputs=outputs,
        documents=frozenset({"release"}),
        summary=Summary("heading", [["done"], Table(["a"], [["b"]])]),
    )


def test_one_line_folds_anything_that_could_start_a_command() -> None:
    assert Redactor().one_line("a\nb\r\nc\x00d\te") == "a\\nb\\r\\nc\\x00d\\te"


def test_a_plain_line_that_would_start_a_command_is_fenced() -> None:
    stream = io.StringIO()

    WorkflowSurface({}, stream).say("  ::warning::not from us")

    commands, plain = parse_log(stream.getvalue())
    assert commands == []
    assert plain == ["  ::warning::not from us"]


def test_groups_fold_and_close_even_when_the_body_fails() -> None:
    stream = io.StringIO()
    surface = WorkflowSurface({}, stream)

    try:
        with surface.group("GET /x\n::error::y"):
            raise RuntimeError
    except RuntimeError:
        pass

    commands, _ = parse_log(stream.getvalue())
    assert [(c.name, c.message) for c in commands] == [("group", "GET /x\\n::error::y"), ("endgroup", "")]


def test_in_a_terminal_the_log_is_plain_and_outputs_are_json_on_stdout() -> None:
    log, out = io.StringIO(), io.StringIO()
    surface = TerminalSurface({}, log, out)

    surface.fail(Failure(title="", message="line one\nline two", hint="", exit_code=ExitCode.API_FAILURE))
    surface.verbatim("::warning::body")
    surface.succeed(result(status="Started", started="true"))

    assert log.getvalue().splitlines() == [
        "error: line one",
        "  line two",
        "\\::warning::body",  # inert: a run: step's output is read for commands too
        "notice: LaunchDarkly: flag: done",
    ]
    lines = out.getvalue().splitlines()
    assert json.loads(lines[0]) == {
        "error": {"title": "", "message": "line one\nline two", "hint": ""},
        "exit-code": 5,
    }
    assert json.loads(lines[1]) == {"started": "true", "status": "Started"}


def test_outputs_and_summary_are_appended_in_the_runner_format(tmp_path: Path) -> None:
    output, summary = tmp_path / "out", tmp_path / "summary"
    output.write_text("earlier=kept\n")
    summary.write_text("# Earlier\n")
    surface = WorkflowSurface(
        {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}, io.StringIO()
    )
    surface.mask("api-secret-value")

    surface.succeed(result(**{"phase-name": "two\nlines", "release": {"token": "api-secret-value"}}))

    assert parse_output_file(output.read_text()) == {
        "earlier": "kept",
        "phase-name": "two\nlines",
        "release": '{"token":"***"}',
    }
    assert summary.read_text() == "# Earlier\n### heading\n\ndone\n\n| a |\n|---|\n| b |\n\n"


def test_short_secrets_are_masked_by_the_runner_but_not_redacted_as_substrings() -> None:
    stream = io.StringIO()
    surface = WorkflowSurface({}, stream)

    surface.mask("abc")
    surface.say("abc is in alphabet")

    assert stream.getvalue().splitlines() == ["::add-mask::abc", "abc is in alphabet"]


def test_inputs_are_read_with_hyphens_kept() -> None:
    surface = WorkflowSurface({"INPUT_BASE-URI": "eu", "INPUT_BASE_URI": "wrong", "INPUT_PHASE": "QA"})

    assert surface.read_inputs(("base-uri", "phase", "flag")) == {"base-uri": "eu", "phase": "QA", "flag": ""}


def test_each_surface_names_inputs_the_way_its_reader_gives_them() -> None:
    words = say("Set ", ref("phase", "next"), " or ", ref("wait-timeout"), "; check ", ref(TOKEN_INPUT), ".")

    assert WorkflowSurface({}).text(words) == "Set phase: next or 'wait-timeout'; check 'access-token'."
    assert TerminalSurface({}).text(words) == "Set --phase next or --wait-timeout; check $LD_ACCESS_TOKEN."


def test_text_from_outside_cannot_pose_as_an_input_reference() -> None:
    # An input is named by a reference the catalogue writes, never by anything inside a string,
    # so a phase name holding the old private-use markers stays as it came.
    words = say("Phase '\ue000phase\ue001' ", ref("phase"))

    assert TerminalSurface({}).text(words) == "Phase '\ue000phase\ue001' --phase"


def test_words_are_built_from_text_and_references_and_refuse_to_be_read_as_text() -> None:
    words = "Set " + say(ref("phase")) + " now"

    assert str(words) == "Set 'phase' now"
    assert ref("phase") in words and ref("phase", "next") not in words
    assert {ref("phase"), ref("phase")} == {ref("phase")}
    assert repr(ref("phase", "next")) == "Ref('phase', 'next')"
    with pytest.raises(TypeError, match=r"str\(words\)"):
        _ = "Set" in words
    with pytest.raises(TypeError, match=r"str\(words\)"):
        _ = words == "Set 'phase' now"


def _summary_of(failure: Failure, tmp_path: Path) -> str:
    summary = tmp_path / "summary"
    summary.write_text("")
    WorkflowSurface({"GITHUB_STEP_SUMMARY": str(summary)}, io.StringIO()).fail(failure)
    return summary.read_text()


def test_the_summary_labels_only_a_real_fix_as_fix_and_states_what_was_not_done_plainly(
    tmp_path: Path,
) -> None:
    from ld_release_phase import failures

    invalid = _summary_of(failures.invalid_inputs([("wait-for", say("must be one of none"))]), tmp_path)
    refused = _summary_of(failures.token_flag_refused("LD_ACCESS_TOKEN"), tmp_path)

    assert "**Fix:**" not in invalid  # nothing to do but what the message says
    assert "\n\nNothing was sent to LaunchDarkly.\n" in invalid
    assert "**Fix:** export LD\\_ACCESS\\_TOKEN=api-...\n" in refused
    assert "\n\nNothing was sent to LaunchDarkly.\n" in refused
    assert "**Fix:** export LD\\_ACCESS\\_TOKEN=api-... Nothing" not in refused
