"""The image's build stage: install the runtime lock, compile what a run imports, stage the result.

The official ``python:*-slim`` images hold no bytecode, and every step starts a fresh container,
so a module not compiled into the image is compiled again on every step. Compiling the whole
standard library would add tens of MB; this compiles exactly what the action imports. It runs
the action here, the way the runner does, against the LaunchDarkly stand-in on loopback, once
for each kind of run (a start with audiences, waiting and debug output, a re-run, an attach, a
refused token, bad input, retries, a connection failure over https, a dry run, the command and
its ``--help``), with bytecode writing on: each run leaves behind the bytecode of every module it
imported. A run that ends with the wrong exit code fails the build.

Then it copies into STAGING only what the install and those runs added (the locked packages,
the bytecode, the action with its own bytecode), which the final stage copies over a clean base:
no lock, no scripts, no pip cache, nothing else.

    python -B scripts/stage_image.py ACTION_DIR STAGING
"""

from __future__ import annotations

import compileall
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tools"))

from harness import TOKEN, action_defaults, inputs_for, run_entrypoint  # noqa: E402
from standin import Fault, StandIn  # noqa: E402

PYTHON_LIB = Path(sysconfig.get_path("stdlib"))  # site-packages lies inside it


def files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file() or path.is_symlink()}


def exercise(entrypoint: Path, work: Path) -> None:
    """Each kind of run once, so that each leaves the bytecode of what it imports."""
    live = StandIn(token=TOKEN, dialect="live")
    live.add_release("demo", "new-checkout")
    live.add_flag("demo", "brand-new-flag")
    live.add_pipeline("demo")
    url = live.start()
    defaults = action_defaults()
    runs = [
        # (what, inputs, extra environment, command-line arguments, expected exit code)
        (
            "start with audiences, wait, debug",
            inputs_for(url, audiences="- environmentKey: test\n", wait_for="started"),
            {"RUNNER_DEBUG": "1"},
            [],
            0,
        ),
        ("re-run", inputs_for(url), {}, [], 0),
        ("attach", inputs_for(url, flag="brand-new-flag", release_pipeline="standard-pipeline"), {}, [], 0),
        ("dry run", inputs_for(url, phase="next", dry_run="true"), {}, [], 0),
        ("refused token", inputs_for(url, access_token="api-wrong"), {}, [], 3),
        ("bad input", inputs_for(url, status="complete", audiences='[{"x": 1}]'), {}, [], 2),
        ("retries", inputs_for(url, phase="QA"), {}, [], 0),
        ("https, no server", inputs_for("https://127.0.0.1:9", max_retries="0"), {}, [], 5),
        ("command --help", {}, {}, ["--help"], 0),
        (
            "command",
            {},
            {"LD_ACCESS_TOKEN": TOKEN},
            [
                "--base-uri",
                url,
                "--project",
                "demo",
                "--flag",
                "new-checkout",
                "--phase",
                "next",
                "--dry-run",
            ],
            0,
        ),
    ]
    try:
        for index, (what, inputs, extra, argv, expected) in enumerate(runs):
            if what == "retries":
                when = "Wed, 21 Oct 2015 07:28:00 GMT"  # an HTTP date in the past: retry at once
                live.fail_next(Fault(503, method="PUT"), Fault(429, headers={"Retry-After": when}))
            code = run_entrypoint(
                defaults | inputs if inputs else {},
                work / str(index),
                extra,
                python=sys.executable,
                script=entrypoint,
                args=argv,
            ).returncode
            if code != expected:
                raise SystemExit(f"build: the '{what}' run ended with exit {code}, not {expected}")
    finally:
        live.stop()


def stage(files: set[Path], staging: Path) -> None:
    for path in files:
        target = staging / path.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target, follow_symlinks=False)


def main() -> None:
    action_dir, staging = (Path(arg).resolve() for arg in sys.argv[1:3])
    before = files_under(PYTHON_LIB)
    subprocess.run(["sh", str(HERE / "install-runtime.sh"), sys.executable, "--no-compile"], check=True)
    with tempfile.TemporaryDirectory() as work:
        exercise(action_dir / "entrypoint.py", Path(work))
    compileall.compile_dir(action_dir / "src", quiet=1)  # all of it, whatever the runs reached
    stage(files_under(PYTHON_LIB) - before, staging)
    stage(files_under(action_dir), staging)


if __name__ == "__main__":
    main()
