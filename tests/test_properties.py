"""Property: whatever strings arrive as inputs, a run ends in success or one clean ``::error``.

Never a traceback, never a write for invalid input, never the token in anything a person or a
later step can read.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ld_release_phase.cli import OPERATIONS, run_step
from ld_release_phase.failures import ExitCode, Failure
from ld_release_phase.phases.inputs import INPUT_NAMES, parse_inputs
from ld_release_phase.surfaces.workflow import WorkflowSurface

from expect import OWN_COMMANDS
from harness import FakeClock, parse_log, parse_output_file
from standin import Fault, StandIn, demo_release

PLAUSIBLE = {
    "project": ["demo", "other", "a/b", ""],
    "flag": ["new-checkout", "missing", "..", ""],
    "phase": ["Testing", "qa", "next", "1234a56b7c89d012345e6703", "Nope", ""],
    "status": ["Started", "active", "complete", "not-started", "Paused", "bogus", ""],
    "audiences": [
        "",
        '[{"audienceId": "aud-qa"}]',
        '[{"environmentKey": "prod-eu", "notifyTeamKeys": ["t"]}]',
        "- audienceName: Test\n",
        "[1]",
        "{",
    ],
    "max-retries": ["0", "1", "x", ""],
    "request-timeout": ["1s", "0", ""],
    "wait-for": ["none", "started", "complete", "sometime", ""],
    "wait-timeout": ["30s", "1m", "eternity", ""],
    "poll-interval": ["15s", "1", "0", ""],
    "dry-run": ["true", "false", "maybe", ""],
}
any_text = st.text(st.characters(codec="utf-8"), max_size=40)


def value_for(name: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(PLAUSIBLE[name]), any_text)


tokens = st.from_regex(r"api-[a-z0-9]{8,24}", fullmatch=True)


@pytest.fixture(scope="module")
def server() -> Iterator[StandIn]:
    standin = StandIn()
    standin.start()
    yield standin
    standin.stop()


def run_once(
    server: StandIn, raw: dict[str, str], *, reset: bool = True
) -> tuple[int, str, dict[str, str], str, int]:
    if reset:
        server.reset()
    with tempfile.TemporaryDirectory() as tmp:
        output, summary = Path(tmp, "out"), Path(tmp, "summary")
        output.write_text("")
        summary.write_text("")
        env = {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"}
        stream = io.StringIO()
        surface = WorkflowSurface(env, stream)
        surface.mask(raw["access-token"])
        code = run_step(OPERATIONS[0], raw, surface, FakeClock(), server.transport)
        return (
            code,
            stream.getvalue(),
            parse_output_file(output.read_text()),
            summary.read_text(),
            len(server.writes),
        )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), token=tokens)
def test_any_inputs_end_cleanly(server: StandIn, data: st.DataObject, token: str) -> None:
    raw = {name: data.draw(value_for(name), label=name) for name in PLAUSIBLE}
    raw["access-token"] = token
    raw["base-uri"] = server.url
    server.token = token

    code, stdout, outputs, summary, writes = run_once(server, raw)

    commands, _ = parse_log(stdout)
    assert code in {int(c) for c in ExitCode} - {int(ExitCode.INTERNAL)}, stdout
    assert "Traceback" not in stdout
    visible = "\n".join(line for line in stdout.splitlines() if not line.startswith("::add-mask::"))
    assert token not in visible + summary + "".join(outputs.values())
    errors = [c for c in commands if c.name == "error"]
    if code == 0:
        assert errors == []
        assert outputs["phase-id"]
    else:
        assert len(errors) == 1
        assert outputs == {}
    try:
        parse_inputs(raw)
    except Failure:
        assert code == ExitCode.BAD_INPUT
        assert writes == 0


@settings(max_examples=100, deadline=None)
@given(raw=st.fixed_dictionaries(dict.fromkeys(INPUT_NAMES, any_text)))
def test_input_parsing_never_raises_anything_but_an_action_error(raw: dict[str, str]) -> None:
    caught: Failure | None = None
    try:
        inputs = parse_inputs(raw)
    except Failure as error:
        caught = error
    if caught is None:
        assert inputs.project == raw["project"].strip()
        return
    assert caught.exit_code is ExitCode.BAD_INPUT
    assert str(caught.title).startswith("Invalid input '") or str(caught.title).endswith(" invalid inputs")
    # The token input's own value is never quoted. (The same text given as another input may be
    # quoted as that input; the runner then redacts it, which the end-to-end property checks.)
    secret = raw["access-token"].strip()
    elsewhere = any(secret in value for name, value in raw.items() if name != "access-token")
    if len(secret) >= 8 and not elsewhere and secret not in _words_without_the_token(raw):
        assert secret not in str(caught.message)


def _words_without_the_token(raw: dict[str, str]) -> str:
    """What the same inputs are told with a plain token: the action's own words (an input's name,
    a hint), which a random token may happen to spell."""
    try:
        parse_inputs(raw | {"access-token": "api-plain-token"})
    except Failure as error:
        return str(error.message)
    return ""


# Text as a hostile or broken service might send it: any code point, lone surrogates included,
# with the runner's command syntaxes and the heredoc delimiter's prefix mixed in.
hostile_fragments = st.sampled_from(
    [
        "##[",
        "##[set-output name=started;]true",
        "##[stop-commands]x",
        "::error::",
        "\n",
        "\r\n",
        "ghadelimiter_",
    ]
)
hostile_text = st.lists(
    st.one_of(st.text(st.characters(exclude_categories=()), max_size=12), hostile_fragments), max_size=6
).map("".join)
deep_json = st.integers(min_value=1, max_value=30_000).map(lambda depth: "[" * depth + "]" * depth)
error_bodies = st.one_of(
    hostile_text.map(lambda t: json.dumps({"code": t, "message": t, "id": t})),
    deep_json.map(lambda nested: '{"code": "x", "message": ' + nested + "}"),
    deep_json,
    hostile_text,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(hostile_text, min_size=4, max_size=4),
    failure=st.one_of(st.none(), st.tuples(st.sampled_from([200, 400, 404, 500]), error_bodies)),
)
def test_any_text_from_launchdarkly_ends_cleanly(
    server: StandIn, names: list[str], failure: tuple[int, str] | None
) -> None:
    token = "api-property-token-0123"
    server.token = token
    server.reset()
    release = demo_release(server.dialect)
    release["name"] = names[0]
    for phase, name in zip(release["phases"], names[1:], strict=True):
        phase["_name"] = name
    server.add_release(release=release)
    if failure is not None:
        server.fail_next(Fault(failure[0], failure[1].encode("utf-8", "surrogatepass"), method="PUT"))
    raw = dict.fromkeys(INPUT_NAMES, "") | {
        "access-token": token,
        "project": "demo",
        "flag": "new-checkout",
        "phase": "next",
        "base-uri": server.url,
        "max-retries": "0",
    }

    code, stdout, outputs, summary, _ = run_once(server, raw, reset=False)

    commands, _ = parse_log(stdout)
    assert code in {int(c) for c in ExitCode} - {int(ExitCode.INTERNAL)}, stdout
    assert "Traceback" not in stdout
    assert {c.name for c in commands} <= OWN_COMMANDS, commands
    assert len([c for c in commands if c.name in ("notice", "error")]) == 1, commands
    assert (outputs != {}) is (code == 0)
    visible = "\n".join(line for line in stdout.splitlines() if not line.startswith("::add-mask::"))
    assert token not in visible + summary + "".join(outputs.values())
