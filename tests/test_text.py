"""Text that leaves the process, by one rule wherever it goes: JSON is JSON (RFC 8259) whatever
the characters and the output encoding; what a person reads (log lines, annotations, the step
summary) shows invisible and control characters as visible escapes; names are compared as they
read (Unicode-normalized), and a suggestion that looks like what was typed says how it differs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ld_release_phase.plumbing.text import did_you_mean
from ld_release_phase.surfaces.base import as_json

from expect import assert_clean, assert_clean_failure, assert_clean_success
from harness import ENTRYPOINT, TOKEN, FakeClock, inputs_for, run_entrypoint, run_in_process
from standin import Fault, StandIn

# Characters that render as nothing, as something else, or that drive a terminal.
INVISIBLE = {
    "no-break space": "\u00a0",
    "soft hyphen": "\u00ad",
    "C1 control": "\u009b",
    "tag character": "\U000e0041",
    "zero-width space": "\u200b",
    "bidi override": "\u202e",
    "ANSI escape": "\x1b[31m",
    "BEL": "\x07",
    "DEL": "\x7f",
}


def strict_json(text: str) -> Any:
    """JSON as RFC 8259 has it, as Node's JSON.parse and jq read it: no NaN, no Infinity."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def command(standin: StandIn, *flags: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command, stdout piped (as into jq), with ``env`` added; read in its output encoding."""
    measured = {key: value for key, value in os.environ.items() if key.startswith("COVERAGE_")}
    base = ["--project", "demo", "--flag", "new-checkout", "--base-uri", standin.url]
    return subprocess.run(
        [sys.executable, str(ENTRYPOINT), *base, *flags],
        env=measured | {"LD_ACCESS_TOKEN": TOKEN, "HOME": "/nonexistent"} | env,
        capture_output=True,
        encoding=env.get("PYTHONIOENCODING", "utf-8"),
        errors="strict",
        check=False,
        timeout=60,
    )


# -- JSON is JSON --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(INVISIBLE))
def test_the_commands_json_is_json_whatever_characters_a_name_holds(live_standin: StandIn, kind: str) -> None:
    name = f"Prod{INVISIBLE[kind]}EU"
    live_standin.rename_phase("Testing", to=name)

    result = command(live_standin, "--phase", "next")

    assert result.returncode == 0, result.stderr
    assert strict_json(result.stdout)["phase-name"] == name  # the phase really started
    assert len(live_standin.writes) == 1


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_the_commands_json_is_json_in_any_output_encoding(live_standin: StandIn, encoding: str) -> None:
    live_standin.rename_phase("Testing", to="Prüfung 🚦")

    ok = command(live_standin, "--phase", "next", PYTHONIOENCODING=encoding)
    failed = command(live_standin, "--phase", "Qualität", PYTHONIOENCODING=encoding)

    assert ok.returncode == 0, ok.stderr
    assert strict_json(ok.stdout)["phase-name"] == "Prüfung 🚦"
    assert failed.returncode == 4
    assert "Qualität" in strict_json(failed.stdout)["error"]["message"]


def test_nan_and_infinity_from_launchdarkly_become_null(live_standin: StandIn, tmp_path: Path) -> None:
    release = json.dumps(live_standin.served(live_standin.release()))
    hostile = release[:-1] + ', "ratio": NaN, "floor": -Infinity, "huge": 1e999}'
    live_standin.fail_next(Fault(200, hostile.encode(), method="GET"))

    run = run_in_process(
        inputs_for(live_standin.url, dry_run="true"), tmp_path, FakeClock(), standin=live_standin
    )
    live_standin.fail_next(Fault(200, hostile.encode(), method="GET"))
    result = command(live_standin, "--phase", "next", "--dry-run")

    assert_clean_success(run)
    for document in (strict_json(run.outputs["release"]), strict_json(result.stdout)["release"]):
        assert (document["ratio"], document["floor"], document["huge"]) == (None, None, None)


def test_json_is_ascii_and_finite_for_any_value() -> None:
    value = {"name": "".join(INVISIBLE.values()) + "é🚦\ud800", "n": [float("nan"), float("inf"), 1.5]}

    text = as_json(value)

    assert text.isascii()
    assert all(char.isprintable() for char in text)
    assert strict_json(text) == {"name": value["name"], "n": [None, None, 1.5]}


# -- what a person reads shows what the text holds -----------------------------------------


def _raw_in(text: str) -> list[str]:
    return [kind for kind, chars in INVISIBLE.items() if chars[0] in text]


def test_invisible_characters_from_launchdarkly_are_shown_as_escapes_in_annotations_and_the_summary(
    live_standin: StandIn, tmp_path: Path
) -> None:
    hostile = "".join(INVISIBLE.values())
    live_standin.rename_phase("Testing", to=f"Testing{hostile}", audience_name=f"Test{hostile}")
    live_standin.rename_release(to=f"Pipeline{hostile}")
    started = run_entrypoint(inputs_for(live_standin.url, phase="next"), tmp_path / "a")
    body = json.dumps({"code": f"bad{hostile}", "message": f"refused{hostile}", "id": "r-1"})
    live_standin.fail_next(Fault(400, body.encode(), method="PUT"))
    refused = run_entrypoint(inputs_for(live_standin.url, phase="next"), tmp_path / "b")

    assert_clean(started, 0)
    assert started.outputs["phase-name"] == f"Testing{hostile}"  # data is delivered as it is
    (notice,) = started.annotations("notice")
    assert _raw_in(notice.message) == []
    assert "Testing\\xa0\\xad\\x9b\\U000e0041\\u200b\\u202e\\x1b[31m\\x07\\x7f" in notice.message
    assert _raw_in(started.summary) == []
    assert "\\\\u202e" in started.summary  # a Markdown-escaped backslash: it renders as \u202e
    assert_clean(refused, 5)
    assert _raw_in(refused.error.message) == []
    assert "refused\\xa0" in refused.error.message
    assert _raw_in(refused.summary) == []
    assert _raw_in("\n".join(started.log_lines + refused.log_lines)) == []


def test_invisible_characters_in_an_input_are_shown_as_escapes(live_standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(live_standin.url, phase="QA\u202e\u200b"), tmp_path)

    assert_clean_failure(run, 4, "Phase not found", "'QA\\u202e\\u200b'")
    assert _raw_in(run.error.message + run.summary) == []


# -- names are compared as they read --------------------------------------------------------


def test_a_phase_name_is_found_whichever_way_its_accents_are_encoded(
    live_standin: StandIn, tmp_path: Path
) -> None:
    decomposed = "Qualite\u0301"  # as LaunchDarkly may store it: e and a combining accent
    live_standin.rename_phase("QA", to=decomposed)

    run = run_in_process(
        inputs_for(live_standin.url, phase="Qualit\u00e9"), tmp_path, FakeClock(), standin=live_standin
    )

    assert_clean_success(run)
    assert run.outputs["phase-name"] == decomposed
    assert len(live_standin.writes) == 1


@pytest.mark.parametrize(
    ("in_launchdarkly", "typed", "says"),
    [
        ("Pr\u043ed", "Prod", "U+043E CYRILLIC SMALL LETTER O where the value given has U+006F"),
        ("Prod\u200bEU", "ProdEU", "U+200B ZERO WIDTH SPACE, which the value given lacks"),
    ],
    ids=["cyrillic o", "zero-width space"],
)
def test_a_suggestion_that_looks_like_the_input_names_the_code_points_that_differ(
    live_standin: StandIn, tmp_path: Path, in_launchdarkly: str, typed: str, says: str
) -> None:
    live_standin.rename_phase("Production", to=in_launchdarkly)

    run = run_in_process(
        inputs_for(live_standin.url, phase=typed), tmp_path, FakeClock(), standin=live_standin
    )

    assert_clean_failure(run, 4, "Phase not found", "Did you mean", says)
    assert live_standin.writes == []


@pytest.mark.parametrize(
    "typed", ["Prod", "prod", "Prdn"], ids=["prefix", "prefix in lower case", "abbreviation"]
)
def test_a_unique_prefix_or_abbreviation_is_suggested_never_picked(
    live_standin: StandIn, tmp_path: Path, typed: str
) -> None:
    run = run_in_process(
        inputs_for(live_standin.url, phase=typed), tmp_path, FakeClock(), standin=live_standin
    )

    assert_clean_failure(run, 4, "Phase not found", "Did you mean 'Production'?")
    assert live_standin.writes == []


def test_a_prefix_that_several_names_share_suggests_none_of_them() -> None:
    assert did_you_mean("Prod", ["Production EU", "Production US"]) == ""
    assert did_you_mean("Prodution", ["Production", "QA"]) == " Did you mean 'Production'?"  # a typo
