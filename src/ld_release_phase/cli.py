"""Entry point. As the action, the inputs come from ``INPUT_*``; as a command, from flags.

With no arguments (how the runner starts the container) it is the action: inputs from the
environment, the log and outputs in the runner's formats. With arguments it is a command, in a
terminal or a workflow's ``run:`` step alike: inputs from flags, the token from
``$LD_ACCESS_TOKEN``, a plain log on stderr and the outputs as JSON on stdout.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from . import ACTION_NAME, __version__, errors
from .action import carry_out, make_client, report
from .clock import Clock, SystemClock
from .errors import EXIT_CODE_MEANINGS, TOKEN_ENV, TOKEN_INPUT, ActionError, ExitCode
from .inputs import INPUT_NAMES, REQUIRED_INPUTS, ActionInputs, parse_inputs
from .report import failure_summary
from .runner import Runner

if TYPE_CHECKING:
    import argparse
# Flags that may stand alone: "--dry-run" means "--dry-run true".
_SWITCHES = {"dry-run": "true"}


def exit_codes_text() -> str:
    return "exit codes:\n" + "".join(
        f"  {int(code)}  {meaning}\n" for code, meaning in EXIT_CODE_MEANINGS.items()
    )


def build_parser() -> argparse.ArgumentParser:
    """Flags built from the input model: the same names, descriptions and defaults as action.yml."""
    import argparse  # noqa: PLC0415 - only the command pays for importing it

    parser = argparse.ArgumentParser(
        prog=ACTION_NAME,
        description="Start a phase of a LaunchDarkly release pipeline and print the phase's state as "
        f"JSON on stdout (the log goes to stderr). The access token is read from ${TOKEN_ENV}.",
        epilog=exit_codes_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    required = parser.add_argument_group("required")
    for name, field in ActionInputs.model_fields.items():
        flag = field.alias or name
        if flag == TOKEN_INPUT:
            continue
        described = (field.description or "").replace("`", "").replace("%", "%%")
        if flag in REQUIRED_INPUTS:
            required.add_argument(f"--{flag}", dest=flag, default="", metavar="VALUE", help=described)
            continue
        default = f" (default: {field.default})" if field.default else ""
        if flag in _SWITCHES:
            parser.add_argument(
                f"--{flag}",
                dest=flag,
                default="",
                nargs="?",
                const=_SWITCHES[flag],
                metavar="true|false",
                help=described + default,
            )
        else:
            parser.add_argument(f"--{flag}", dest=flag, default="", metavar="VALUE", help=described + default)
    parser.add_argument("--version", action="version", version=f"{ACTION_NAME} {__version__}")
    return parser


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
    clock: Clock | None = None,
) -> int:
    env = os.environ if env is None else env
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        # --help and usage errors exit here (code 0 and 2), before any token is read.
        raw = dict(vars(build_parser().parse_args(argv)))
        raw[TOKEN_INPUT] = env.get(TOKEN_ENV, "")
        runner = Runner(env, stream, in_workflow=False)
    else:
        runner = Runner(env, stream)
        raw = runner.read_inputs(INPUT_NAMES)
        # A token given to the container as $LD_ACCESS_TOKEN (e.g. with docker:// and env:).
        raw[TOKEN_INPUT] = raw[TOKEN_INPUT] or env.get(TOKEN_ENV, "")
    # Before anything else is printed: hide the token everywhere in the log.
    if raw[TOKEN_INPUT]:
        runner.mask(raw[TOKEN_INPUT])
    return run_step(raw, runner, clock or SystemClock(), as_command=bool(argv))


def run_step(raw: Mapping[str, str], runner: Runner, clock: Clock, *, as_command: bool = False) -> int:
    """Validate, carry out and report one step; every failure becomes one error and an exit code."""
    try:
        inputs = parse_inputs(raw, redactor=runner.redactor, as_command=as_command)
        runner.check_files()
        outcome = carry_out(inputs, make_client(inputs, runner, clock), runner, clock)
        report(outcome, inputs, runner)
    except ActionError as error:
        return _fail(runner, error)
    except KeyboardInterrupt:
        return _fail(runner, errors.interrupted())
    except Exception as error:  # a bug: say so plainly, trace only in debug mode
        code = _fail(runner, errors.internal_error(error))
        if runner.debug_enabled:
            import traceback  # noqa: PLC0415 - only a bug in debug mode pays for importing it

            runner.verbatim(traceback.format_exc())
        return code
    return int(ExitCode.OK)


def _fail(runner: Runner, error: ActionError) -> int:
    runner.error(error.message + (f"\n{error.hint}" if error.hint else ""), title=error.title)
    runner.append_summary(failure_summary(runner.redactor, error))
    return int(error.exit_code)
