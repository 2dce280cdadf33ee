"""Benchmark: the whole action as the runner runs it, beside the floor of its stack and a bare PUT.

Three child processes, each with the same interpreter and packages (a virtual environment built
from the runtime lock alone by ``scripts/install-runtime.sh``, what the image holds, kept in
``.bench/``), against the LaunchDarkly stand-in (live mode) on loopback, interleaved run by run:

- the action: ``entrypoint.py`` with ``INPUT_*`` variables; the release is reset first, so it
  reads the release and starts the phase (two calls);
- the floor of the required stack: ``requests`` + ``pydantic`` + one model + the same PUT, the
  least any action built on these packages can cost;
- a bare ``requests`` PUT.

It prints the medians, the action's ratio to the floor and to the bare PUT, peak memory, the
calls per run (and per idempotent re-run), import times and the installed size, then holds the
action to its targets: exit 1 if one is missed.

    make bench            # or: .venv/bin/python scripts/bench.py --runs 40
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools")]

from harness import TOKEN, action_defaults, image_python, inputs_for, runner_env  # noqa: E402
from standin import StandIn  # noqa: E402

BENCH_DIR = ROOT / ".bench"
BASE_PACKAGES = {"pip", "setuptools", "pkg_resources", "_distutils_hack", "distutils"}
# The PUT both probes make, word for word, so they differ only in what they import.
_PUT = """
response = requests.put(
    sys.argv[1],
    json={"status": "active"},
    headers={"Authorization": sys.argv[2], "LD-API-Version": "beta"},
    timeout=30,
)
response.raise_for_status()
"""
BARE_PUT = "import requests, sys\n" + _PUT + 'print(response.json()["phases"][0]["status"])\n'
# The least any pydantic-based action can cost: requests, pydantic and one model, the same PUT.
PYDANTIC_FLOOR = (
    "import requests, sys\nfrom pydantic import BaseModel\n\n"
    "class Answer(BaseModel):\n    name: str\n"
    + _PUT
    + "print(Answer.model_validate(response.json()).name)\n"
)
IMPORT_PROBE = """
import sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
__import__(sys.argv[2])
print(time.perf_counter() - started)
"""


def runtime_python() -> Path:
    """The runtime-lock-only environment, built once and rebuilt when the lock changes."""
    base = image_python()
    lock = (ROOT / "requirements" / "runtime.txt").read_bytes() + base.encode()
    venv, stamp = BENCH_DIR / "venv", BENCH_DIR / "lock.txt"
    if not (stamp.exists() and stamp.read_bytes() == lock):
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            ["sh", str(ROOT / "scripts" / "install-runtime.sh"), str(venv / "bin" / "python")], check=True
        )
        stamp.write_bytes(lock)
    return venv / "bin" / "python"


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{command[1]} failed ({process.returncode}): {stderr}")
    return elapsed, usage.ru_maxrss / 1024


def installed_size_mb(python: Path) -> float:
    site = next((python.parent.parent / "lib").glob("python3*/site-packages"))
    total = 0
    for path in site.iterdir():
        if path.name.split("-")[0].lower() in BASE_PACKAGES:
            continue
        files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
        total += sum(f.stat().st_size for f in files)
    return total / 1e6


def median_import(python: Path, module: str, path: str, repeats: int = 15) -> float:
    samples = []
    for _ in range(repeats):
        result = subprocess.run(
            [str(python), "-c", IMPORT_PROBE, path, module], capture_output=True, text=True, check=True
        )
        samples.append(float(result.stdout))
    return statistics.median(samples)


TARGETS = {
    "action_to_floor_ratio": ("<=", 1.10),
    "action_peak_rss_mib": ("<=", 40),
    "http_calls_per_run": ("==", 2),
    "http_calls_per_rerun": ("==", 1),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    python = runtime_python()
    # Bytecode compiled ahead, as the image's build does, so no run pays for compiling.
    subprocess.run([str(python), "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    standin = StandIn(token=TOKEN, spelling="live")
    standin.add_release("demo", "new-checkout")
    url = standin.start()
    phase_id = standin.phase("demo", "new-checkout", "Testing")["_id"]
    put_url = f"{url}/api/v2/projects/demo/flags/new-checkout/release/phases/{phase_id}"
    inputs = action_defaults() | inputs_for(url, phase="Testing")
    action_times, action_rss, bare_times, floor_times, calls, rerun_calls = [], [], [], [], [], []

    with tempfile.TemporaryDirectory() as tmp:
        env = runner_env(inputs, Path(tmp))
        bare_env = {"HOME": tmp}
        for index in range(args.runs + 3):  # three warm-up rounds, interleaved to share any drift
            standin.add_release("demo", "new-checkout")
            before = len(standin.requests)
            elapsed, rss = timed([str(python), str(ROOT / "entrypoint.py")], env)
            made = len(standin.requests) - before
            timed([str(python), str(ROOT / "entrypoint.py")], env)  # the same step again: nothing to do
            rerun = len(standin.requests) - before - made
            standin.add_release("demo", "new-checkout")
            bare_elapsed, _ = timed([str(python), "-c", BARE_PUT, put_url, TOKEN], bare_env)
            standin.add_release("demo", "new-checkout")
            floor_elapsed, _ = timed([str(python), "-c", PYDANTIC_FLOOR, put_url, TOKEN], bare_env)
            if index >= 3:
                action_times.append(elapsed)
                action_rss.append(rss)
                bare_times.append(bare_elapsed)
                floor_times.append(floor_elapsed)
                calls.append(made)
                rerun_calls.append(rerun)
    standin.stop()

    action, floor, bare = (statistics.median(t) for t in (action_times, floor_times, bare_times))
    figures = {
        "runs": args.runs,
        "action_median_ms": round(action * 1000, 1),
        "floor_median_ms": round(floor * 1000, 1),
        "bare_put_median_ms": round(bare * 1000, 1),
        "action_to_floor_ratio": round(action / floor, 3),
        "action_to_bare_ratio": round(action / bare, 2),
        "action_peak_rss_mib": round(max(action_rss), 1),
        "http_calls_per_run": statistics.mode(calls),
        "http_calls_per_rerun": statistics.mode(rerun_calls),
        "action_import_ms": round(median_import(python, "ld_release_phase.cli", str(ROOT / "src")) * 1000, 1),
        "requests_import_ms": round(median_import(python, "requests", str(ROOT / "src")) * 1000, 1),
        "runtime_installed_mb": round(installed_size_mb(python), 1),
        "python": subprocess.run(
            [str(python), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip(),
    }
    missed = [
        name
        for name, (relation, bound) in TARGETS.items()
        if not (figures[name] <= bound if relation == "<=" else figures[name] == bound)
    ]
    if args.json:
        print(json.dumps(figures | {"missed": missed}, indent=2))
    else:
        print(f"{'figure':<24} {'value':>14}  target")
        for name, value in figures.items():
            relation, bound = TARGETS.get(name, ("", ""))
            verdict = ("  missed" if name in missed else "  met") if relation else ""
            print(f"{name:<24} {value!s:>14}  {relation} {bound}{verdict}".rstrip())
    if missed:
        raise SystemExit(f"targets missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
