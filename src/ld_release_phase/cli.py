"""Entry point: in a workflow the inputs come from ``INPUT_*``; in a terminal, from flags."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from . import ACTION_NAME, __version__
from .action import make_client, report, run
from .client import Clock, SystemClock
from .errors import ActionError, ExitCode
from .inputs import INPUT_NAMES, parse_inputs
from .report import failure_summary
from .runner import Runner

if TYPE_CHECKING:
    import argparse

TOKEN_ENV = "LD_ACCESS_TOKEN"  # noqa: S105 - the variable's name, not a secret
_HELP = {
    "project": "project key",
    "flag": "flag key",
    "phase": "phase id, phase name, or 'next' (the first phase neither started nor complete)",
    "status": "active (default; also started or start): start the phase. LaunchDarkly only lets a "
    "phase be started by hand; any other status is refused before any call. LaunchDarkly completes "
    "a phase when the next one starts: start the next phase (--phase next)",
    "audiences": "JSON or YAML list of audience configurations",
    "base-uri": "https://app.launchdarkly.com (default), or a preset: commercial, federal, eu",
    "max-retries": "retries for 429, 409, 5xx and network errors (default 5)",
    "request-timeout": "timeout of each HTTP request (default 30s)",
    "wait-for": "none (default), started or complete (a phase completes when the next one starts)",
    "wait-timeout": "how long to wait (default 15m)",
    "poll-interval": "how often to poll while waiting (default 15s)",
    "dry-run": "true: validate and show the request without sending it",
}
EXIT_CODES = """exit codes:
  0  success
  1  unexpected internal error
  2  invalid input (nothing was sent to LaunchDarkly)
  3  LaunchDarkly refused the token (401) or access (403)
  4  project, flag, release or phase not found
  5  LaunchDarkly call failed (other 4xx, 5xx, rate limited or network after retries, bad answer)
  6  release canceled, phase paused, or wait timed out
"""


def build_parser() -> argparse.ArgumentParser:
    import argparse  # noqa: PLC0415 - terminal use only; a workflow run reads INPUT_* instead

    parser = argparse.ArgumentParser(
        prog=ACTION_NAME,
        description="Set the status of a LaunchDarkly release-pipeline phase and print the "
        f"resulting phase state as JSON. The access token is read from ${TOKEN_ENV}.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for name in INPUT_NAMES:
        if name == "access-token":
            continue
        parser.add_argument(f"--{name}", dest=name, default="", metavar="VALUE", help=_HELP[name])
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
    runner = Runner(env, stream)
    if argv:
        # --help and usage errors exit here (code 0 and 2), before any token is read.
        raw = dict(vars(build_parser().parse_args(argv)))
        raw["access-token"] = env.get(TOKEN_ENV, "")
    else:
        raw = runner.read_inputs(INPUT_NAMES)
        raw["access-token"] = raw["access-token"] or env.get(TOKEN_ENV, "")
    # Before anything else is printed: hide the token everywhere in the log.
    if raw["access-token"]:
        runner.mask(raw["access-token"])
    return execute(raw, runner, clock or SystemClock())


def execute(raw: Mapping[str, str], runner: Runner, clock: Clock) -> int:
    try:
        inputs = parse_inputs(raw)
        outcome = run(inputs, make_client(inputs, runner, clock), runner, clock)
        report(outcome, inputs, runner)
    except ActionError as error:
        message = error.message + (f"\n{error.hint}" if error.hint else "")
        runner.error(message, title=error.title)
        runner.append_summary(failure_summary(error))
        return int(error.exit_code)
    except KeyboardInterrupt:
        runner.error("Interrupted.", title="Canceled")
        return 130
    except Exception as error:  # a bug: say so plainly, trace only in debug mode
        runner.error(
            f"Unexpected {type(error).__name__}: {error}\nPlease report this, with the step's log.",
            title="Internal error",
        )
        if runner.debug_enabled:
            import traceback  # noqa: PLC0415 - only a bug in debug mode gets here

            runner.verbatim(traceback.format_exc())
        return int(ExitCode.INTERNAL)
    return int(ExitCode.OK)
