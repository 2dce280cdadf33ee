"""What every run must show, whatever else it did: the checks the test files share.

A run ends with its exit code and exactly one annotation (a notice on success, an error on
failure), prints no Python traceback, never shows the token, and issues no workflow command but
the action's own.
"""

from __future__ import annotations

import itertools

from harness import TOKEN, ActionRun

# The workflow commands this action writes; anything else in a log was forged.
OWN_COMMANDS = frozenset({"add-mask", "notice", "warning", "error", "group", "endgroup", "debug"})


def assert_only_own_commands(run: ActionRun) -> None:
    """Only the action's own commands, exactly one final annotation, and masks only where the
    action writes them: before anything else, so no text from outside can add one."""
    assert {command.name for command in run.commands} <= OWN_COMMANDS, run.commands
    assert len(run.annotations("notice")) + len(run.annotations("error")) == 1, run.commands
    leading = itertools.takewhile(lambda line: line.startswith("::add-mask::"), run.stdout.splitlines())
    assert len(run.annotations("add-mask")) == len(list(leading)), run.commands


def assert_clean(run: ActionRun, code: int) -> None:
    """The exit code, one final annotation, only the action's commands, no traceback, no token."""
    assert run.returncode == code, run.stdout + run.stderr
    assert "Traceback" not in run.everything()
    assert TOKEN not in run.everything()
    assert_only_own_commands(run)


def assert_clean_success(run: ActionRun) -> None:
    assert_clean(run, 0)
    assert run.annotations("error") == []


def assert_clean_failure(run: ActionRun, code: int, *needles: str) -> None:
    """A clean failure: one error that says each of ``needles`` (in its title or message), and
    no outputs."""
    assert_clean(run, code)
    error = run.error
    for needle in needles:
        assert needle in error.message or needle in error.properties.get("title", ""), error
    assert run.outputs == {}
