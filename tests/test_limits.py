"""Bounds: how big or how deep anything from inputs or from LaunchDarkly may be, and what is
shown, cut or refused past that. Each limit is met with a clean end, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from expect import assert_clean
from harness import inputs_for, run_entrypoint
from standin import Fault, StandIn, demo_release


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


def test_a_token_with_a_non_ascii_character_is_an_input_error(standin: StandIn, tmp_path: Path) -> None:
    run = run_entrypoint(inputs_for(standin.url, access_token="api-tökén-0123456789"), tmp_path)

    assert run.returncode == 2
    assert "Traceback" not in run.everything()
    assert run.error.properties["title"] == "Invalid input 'access-token'"
    assert "tökén" not in run.everything()
    assert standin.requests == []


def test_a_release_too_big_for_an_output_is_null_and_the_log_says_so(
    standin: StandIn, tmp_path: Path
) -> None:
    standin.rename_release(to="Standard release pipeline", description="d" * (3 * 1024 * 1024))

    run = run_entrypoint(inputs_for(standin.url), tmp_path)

    assert_clean(run, 0)
    assert run.outputs["release"] == "null"  # still JSON: fromJSON() gives null, not an error
    assert run.outputs["started"] == "true"
    assert (tmp_path / "output.txt").stat().st_size < 1024 * 1024
    assert any(line.startswith("Output 'release' is left null") for line in run.log_lines)


def test_huge_text_from_launchdarkly_is_cut_everywhere_it_is_shown(standin: StandIn, tmp_path: Path) -> None:
    huge_name = "N" * (1024 * 1024)
    standin.rename_phase("QA", to=huge_name)
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
    release = demo_release(standin.dialect)
    template = release["phases"][2]
    release["phases"] += [
        template | {"_id": f"extra-{i}", "_name": f"{i:04} " + "p" * 400} for i in range(3000)
    ]
    standin.add_release(release=release)

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
