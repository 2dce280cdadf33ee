"""Entry point, and the one place that decides which operation runs and where it shows itself.

The operation: a first argument naming one of :data:`OPERATIONS` (a subcommand, or the
``args`` an action.yml passes) picks it; otherwise it is the phase step. Then the surface,
decided here once and passed down (:mod:`.surfaces`):

- with (further) arguments, it is the command ``ld-release-phase``: the terminal surface, inputs
  from flags, the token from ``$LD_ACCESS_TOKEN``, a plain log on stderr; on stdout the result
  in words when stdout is a terminal, else (piped, in a workflow's ``run:`` step, or with
  ``--json``) one JSON object;
- with none and the runner's ``INPUT_*`` variables (how the runner starts the container), it is
  the action: the workflow surface, the runner's formats (only then is ``actions-toolkit``
  imported: the command is installed without it);
- with neither, it shows how to use the command.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

from . import ACTION_NAME, Cancelled, __version__, cancellable, failures
from .failures import EXIT_CODE_MEANINGS, ExitCode, Failure
from .operation import Operation
from .phases import step as phase_step
from .plumbing.clock import Clock, SystemClock
from .plumbing.transport import HttpTransport, TransportFactory
from .plumbing.words import TOKEN_ENV, TOKEN_INPUT
from .surfaces.base import Surface
from .surfaces.terminal import TerminalSurface, Verbosity

if TYPE_CHECKING:
    import argparse

# Every operation the entry can run; the first is the default, run when no subcommand is named.
OPERATIONS: tuple[Operation, ...] = (
    phase_step.OPERATION,
    Operation.lazy(
        command="environment-release",
        description="Start, stop or read a LaunchDarkly environment release (beta).",
        module="ld_release_phase.environment_releases.step",
    ),
)
# Flags that may stand alone: "--dry-run" means "--dry-run true".
_SWITCHES = {"dry-run": "true"}
_TOKEN_FLAG = f"--{TOKEN_INPUT}"
_JSON_FLAG = "--json"
# The command's own meaning of an exit code, where the action's speaks of the runner.
_COMMAND_MEANINGS = {
    ExitCode.INTERNAL: "an unexpected internal error: please report it with what --verbose prints"
}
# Each operation's examples, as typed in a shell once the token is exported: what each does, its flags.
_EXAMPLES = {
    phase_step.OPERATION.command: (
        ("See what starting the next phase would send, sending nothing", "--phase next --dry-run"),
        ("Start QA", "--phase QA"),
        (
            "Start Production and wait until LaunchDarkly reports it started",
            "--phase Production --wait-for started",
        ),
        ("Print only the phase's status", "--phase QA --json | jq -r .status"),
    )
}
_EXAMPLE_KEYS = "--project my-project --flag new-checkout"
# A description written for a workflow step names an input as a step sets it (`phase: next`)
# or by its name alone (with release-pipeline: ...); on a command line both are flags.
_STEP_SETTING = re.compile(r"`([a-z][a-z-]*): ([^`]+)`")


class CommandLineError(Exception):
    """What argparse would print before exiting; said the command's way instead."""


def exit_codes_text() -> str:
    meanings = EXIT_CODE_MEANINGS | _COMMAND_MEANINGS
    return "exit codes:\n" + "".join(f"  {int(code):<3}  {meaning}\n" for code, meaning in meanings.items())


def examples_text(operation: Operation) -> str:
    examples = _EXAMPLES.get(operation.command, ())
    if not examples:
        return ""
    lines = [f"  export {TOKEN_ENV}=api-..."]
    for what, flags in examples:
        lines += [f"  # {what}:", f"  {_program(operation)} {_EXAMPLE_KEYS} {flags}"]
    return "examples:\n" + "".join(line + "\n" for line in lines) + "\n"


def in_terminal_words(description: str, inputs: tuple[str, ...]) -> str:
    """An input's description as the command's help says it: every input named as its flag."""
    described = _STEP_SETTING.sub(
        lambda match: f"--{match[1]} {match[2]}" if match[1] in inputs else match[0], description
    )
    named = "|".join(re.escape(name) for name in sorted(inputs, key=len, reverse=True) if "-" in name)
    if named:
        described = re.sub(rf"(?<![\w`-])({named})(?![\w-])", r"--\1", described)
    return described.replace("`", "")


def build_parser(operation: Operation = OPERATIONS[0]) -> argparse.ArgumentParser:
    """Flags built from the input model: the same names, descriptions and defaults as action.yml."""
    import argparse  # noqa: PLC0415 - only the command pays for importing it

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            raise CommandLineError(message)

    import textwrap  # noqa: PLC0415 - as argparse, for the command alone

    described = (
        f"{operation.description} The access token is read from ${TOKEN_ENV}. The log goes to stderr. On "
        "a terminal, stdout gets what happened and where the release stands; piped, or with "
        f'{_JSON_FLAG}, one JSON object with every output, or {{"error": ..., "exit-code": N}} on failure.'
    )
    parser = Parser(
        prog=_program(operation),
        description=textwrap.fill(described, 79),
        epilog=examples_text(operation) + exit_codes_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # a typo must not quietly stand for another flag
    )
    required = parser.add_argument_group("required")
    for name, field in operation.inputs.model_fields.items():
        flag = field.alias or name
        described = in_terminal_words(field.description or "", operation.names).replace("%", "%%")
        default = f" (default: {field.default})" if field.default else ""
        if flag == TOKEN_INPUT:
            parser.add_argument(
                _TOKEN_FLAG,
                dest=TOKEN_INPUT,
                nargs="?",
                const="",
                default=None,
                metavar="(refused)",
                help=f"Not accepted: put the token in ${TOKEN_ENV} (flags end up in shell history and ps).",
            )
        elif flag in operation.required:
            required.add_argument(f"--{flag}", dest=flag, default="", metavar="VALUE", help=described)
        elif flag in _SWITCHES:
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
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument(
        "--verbose", action="store_true", help="Every call's URL, headers and bodies, and each poll."
    )
    loudness.add_argument("--quiet", action="store_true", help="Print only errors on stderr.")
    parser.add_argument(
        _JSON_FLAG,
        action="store_true",
        help="One JSON object on stdout, on a terminal too (as when stdout is piped).",
    )
    parser.add_argument("--version", action="version", version=f"{ACTION_NAME} {__version__}")
    return parser


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
    clock: Clock | None = None,
    transport: TransportFactory = HttpTransport,
) -> int:
    """Run once and return the exit code. ``stream`` takes both the log and stdout's JSON (for
    tests); ``transport`` makes the connection to LaunchDarkly (in tests, a stand-in in memory)."""
    env = os.environ if env is None else env
    argv = sys.argv[1:] if argv is None else list(argv)
    clock = clock or SystemClock()
    operation, argv = _operation_of(argv)
    if argv:
        return _as_command(operation, argv, env, stream, clock, transport)
    if not any(name.startswith("INPUT_") for name in env):
        # Neither the runner's inputs nor flags: a person ran the bare command.
        required = ", ".join(f"--{name}" for name in operation.required if name != TOKEN_INPUT)
        problem = f"no flags given; {required} are required"
        person = _read_by_a_person(stream, argv)
        return _fail(
            TerminalSurface(env, stream, for_a_person=person), _command_line_error(operation, problem)
        )
    from .surfaces.workflow import WorkflowSurface  # noqa: PLC0415 - the command runs without actions-toolkit

    surface = WorkflowSurface(env, stream)
    raw = surface.read_inputs(operation.names)
    # A token given to the container as $LD_ACCESS_TOKEN (e.g. with docker:// and env:), used
    # when the input is empty or only white space.
    raw[TOKEN_INPUT] = raw[TOKEN_INPUT].strip() or env.get(TOKEN_ENV, "")
    if raw[TOKEN_INPUT]:
        surface.mask(raw[TOKEN_INPUT])  # before anything else is printed
    return run_step(operation, raw, surface, clock, transport)


def _operation_of(argv: list[str]) -> tuple[Operation, list[str]]:
    """The operation a first argument names (and the arguments after it), else the default."""
    named = {operation.command: operation for operation in OPERATIONS[1:]}
    if argv and argv[0] in named:
        return named[argv[0]], argv[1:]
    return OPERATIONS[0], argv


def _program(operation: Operation) -> str:
    return ACTION_NAME if operation is OPERATIONS[0] else f"{ACTION_NAME} {operation.command}"


def _as_command(  # noqa: PLR0917 - main's own arguments, handed on
    operation: Operation,
    argv: list[str],
    env: Mapping[str, str],
    stream: TextIO | None,
    clock: Clock,
    transport: TransportFactory,
) -> int:
    surface = TerminalSurface(env, stream, for_a_person=_read_by_a_person(stream, argv))
    token = env.get(TOKEN_ENV, "")
    for secret in [token, *_token_flag_values(argv)]:
        surface.mask(secret)  # before anything else is printed, argparse's errors included
    parser = build_parser(operation)
    try:
        flags, unknown = parser.parse_known_args(argv)
        if unknown:
            raise CommandLineError(_unknown_flags(unknown, parser))
    except CommandLineError as problem:
        return _fail(surface, _command_line_error(operation, str(problem)))
    names = operation.names
    raw = {name: value for name, value in vars(flags).items() if name in names and name != TOKEN_INPUT}
    surface.verbosity = (
        Verbosity.VERBOSE if flags.verbose else Verbosity.QUIET if flags.quiet else Verbosity.NORMAL
    )
    if getattr(flags, TOKEN_INPUT) is not None:
        return _fail(surface, failures.token_flag_refused(TOKEN_ENV))
    raw[TOKEN_INPUT] = token
    return run_step(operation, raw, surface, clock, transport)


def _read_by_a_person(stream: TextIO | None, argv: Sequence[str]) -> bool:
    """Whether stdout is a terminal and no JSON was asked for: then the result is said in words.
    Decided before the flags are read, so that a command line that cannot be read is said so too."""
    if _JSON_FLAG in argv:
        return False
    try:
        return (stream or sys.stdout).isatty()
    except (OSError, ValueError):  # a closed or detached stdout is nobody's terminal
        return False


def _command_line_error(operation: Operation, problem: str) -> Failure:
    usage = build_parser(operation).format_usage().strip()
    return failures.bad_command_line(problem, usage, _program(operation))


def _token_flag_values(argv: list[str]) -> list[str]:
    """Whatever was given to ``--access-token``, so that no message can show it."""
    values = [arg.split("=", 1)[1] for arg in argv if arg.startswith(_TOKEN_FLAG + "=")]
    values += [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == _TOKEN_FLAG]
    return values


def _unknown_flags(unknown: list[str], parser: argparse.ArgumentParser) -> str:
    """The flags argparse did not know (their values are left out), each with the closest it knows."""
    import difflib  # noqa: PLC0415 - only a mistyped command line pays for importing it

    known = [option for action in parser._actions for option in action.option_strings]
    flags = [arg for arg in unknown if arg.startswith("-")]
    if not flags:
        return f"unexpected argument {unknown[0]!r}: every value follows its flag, e.g. --phase QA"
    said = []
    for arg in flags:
        flag = arg.split("=", 1)[0]
        close = difflib.get_close_matches(flag, known, n=1) if flag.startswith("--") else []
        said.append(f"{arg!r}" + (f" (did you mean {close[0]}?)" if close else ""))
    return "unknown " + ("flag " if len(said) == 1 else "flags ") + ", ".join(said)


def run_step(
    operation: Operation, raw: Mapping[str, str], surface: Surface, clock: Clock, transport: TransportFactory
) -> int:
    """Validate, carry out and report one step; every failure becomes one error and an exit code.

    A stop signal (or Ctrl-C) interrupts the work, and ends the step as canceled. Once the work
    is done its result is reported whole: a signal then cannot leave half the outputs written.
    """
    try:
        with cancellable():
            result = operation.run(raw, surface, clock, transport)
        surface.succeed(result)
    except Failure as failure:
        return _fail(surface, failure)
    except KeyboardInterrupt as interrupt:
        return _fail(surface, failures.canceled(Cancelled.of(interrupt)))
    except Exception as error:  # a bug: say so plainly, trace only in debug mode
        code = _fail(surface, failures.internal_error(error))
        import traceback  # noqa: PLC0415 - only a bug pays for importing it

        surface.show_trace(traceback.format_exc())
        return code
    return int(ExitCode.OK)


def _fail(surface: Surface, failure: Failure) -> int:
    surface.fail(failure)
    return int(failure.exit_code)
