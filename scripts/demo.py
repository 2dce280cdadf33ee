"""``make demo``: the action against the LaunchDarkly stand-in, run as the GitHub runner runs it.

Starts the stand-in on loopback with a three-phase release, then runs ``entrypoint.py`` in a
child process a few times (environment variables only, as in a workflow) and shows each run's
log as a run's page shows it (each call a folded group, notices and errors labelled), its exit
code, and the outputs read back from ``$GITHUB_OUTPUT``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools")]

from harness import TOKEN, ActionRun, action_defaults, as_github_shows, run_entrypoint  # noqa: E402
from standin import StandIn  # noqa: E402

SCENARIOS = [
    (
        "Dry run of the next phase, naming its audience by environment",
        {
            "phase": "next",
            "dry-run": "true",
            "audiences": "- environmentKey: test\n  notifyTeamKeys: [qa-team]\n",
        },
    ),
    ("A default step: start Testing (status defaults to active)", {"phase": "Testing"}),
    ("Run the same step again: nothing to change", {"phase": "Testing"}),
    ("Start the next phase: QA starts, Testing completes", {"phase": "next", "wait-for": "started"}),
    (
        "Ask for Complete: refused before anything is sent, with what works instead",
        {"phase": "QA", "status": "Complete"},
    ),
]
# The run whose step summary is shown at the end.
SHOWN_SUMMARY = 3


def show(title: str, run: ActionRun) -> None:
    print(f"\n=== {title}")
    print("--- log (as a run's page shows it; ▸ is a folded group)")
    for line in as_github_shows(run.stdout):
        print(f"  {line}")
    print(f"--- exit code {run.returncode}; outputs:")
    for name, value in run.outputs.items():
        shown = value if len(value) <= 70 else value[:67] + "..."
        print(f"  {name:<21} {shown}")


def main() -> None:
    standin = StandIn(token=TOKEN, dialect="live")
    standin.add_release("demo", "new-checkout")
    url = standin.start()
    print(
        f"LaunchDarkly stand-in listening on {url} (project 'demo', flag 'new-checkout'), strict live "
        'mode: it accepts only {"status": "active"}, as the live service does.'
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for index, (title, inputs) in enumerate(SCENARIOS):
                show(title, run_step(url, inputs, Path(tmp) / str(index)))
            print("\n--- step summary of the run that started QA:\n")
            print((Path(tmp) / str(SHOWN_SUMMARY) / "summary.md").read_text())
            writes = [f"PUT {r.path.rsplit('/', 1)[-1]} {r.body.decode()}" for r in standin.writes]
            print(f"The live stand-in saw {len(standin.requests)} requests; writes: {writes}")
            spec = StandIn(token=TOKEN, dialect="spec")
            spec.add_release("demo", "new-checkout")
            try:
                run = run_step(spec.start(), {"phase": "Testing"}, Path(tmp) / "spec")
            finally:
                spec.stop()
            show("The same step against a service that speaks the API specification's spelling", run)
            print(f"The spec stand-in's writes: {[r.body.decode() for r in spec.writes]}")
    finally:
        standin.stop()


def run_step(url: str, inputs: dict[str, str], tmp: Path) -> ActionRun:
    """A step as the runner passes it: action.yml's defaults for every input left out."""
    step = {"access-token": TOKEN, "project": "demo", "flag": "new-checkout", "base-uri": url}
    return run_entrypoint(action_defaults() | step | inputs, tmp)


if __name__ == "__main__":
    main()
