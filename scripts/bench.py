"""Benchmark: the whole action as the runner runs it, next to a bare ``requests`` one-off PUT.

Both run as child processes with the same interpreter and packages: a virtual environment built
from the runtime lock alone by ``scripts/install-runtime.sh`` (what the image holds), kept in
``.bench/`` between runs. Both talk to the LaunchDarkly stand-in on loopback; before each action
run the release is reset so every run reads the release and writes the phase (two calls).

Reports medians of wall time, their ratio, peak memory (max RSS) per process, import time, the
number of HTTP calls per action run, and the installed size of the runtime set.

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
sys.path[:0] = [str(ROOT / "tests")]

from harness import TOKEN, image_python, inputs_for, runner_env  # noqa: E402
from standin import StandIn  # noqa: E402

BENCH_DIR = ROOT / ".bench"
BASE_PACKAGES = {"pip", "setuptools", "pkg_resources", "_distutils_hack", "distutils"}
# The PUT both probes make, word for word, so they differ only in what they import.
_PUT = """
response = requests.put(
    sys.argv[1],
    json={"status": "Started"},
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    python = runtime_python()
    standin = StandIn(token=TOKEN)
    standin.add_release("demo", "new-checkout")
    url = standin.start()
    phase_id = standin.phase("demo", "new-checkout", "Testing")["_id"]
    put_url = f"{url}/api/v2/projects/demo/flags/new-checkout/release/phases/{phase_id}"
    inputs = inputs_for(url, phase="Testing")
    action_times, action_rss, bare_times, bare_rss, floor_times, calls = [], [], [], [], [], []

    with tempfile.TemporaryDirectory() as tmp:
        env = runner_env(inputs, Path(tmp))
        bare_env = {"HOME": tmp}
        for index in range(args.runs + 3):  # three warm-up rounds, interleaved to share any drift
            standin.add_release("demo", "new-checkout")
            before = len(standin.requests)
            elapsed, rss = timed([str(python), str(ROOT / "entrypoint.py")], env)
            made = len(standin.requests) - before
            standin.add_release("demo", "new-checkout")
            bare_elapsed, bare_peak = timed([str(python), "-c", BARE_PUT, put_url, TOKEN], bare_env)
            standin.add_release("demo", "new-checkout")
            floor_elapsed, _ = timed([str(python), "-c", PYDANTIC_FLOOR, put_url, TOKEN], bare_env)
            if index >= 3:
                action_times.append(elapsed)
                action_rss.append(rss)
                bare_times.append(bare_elapsed)
                bare_rss.append(bare_peak)
                floor_times.append(floor_elapsed)
                calls.append(made)
    standin.stop()

    figures = {
        "runs": args.runs,
        "action_median_ms": round(statistics.median(action_times) * 1000, 1),
        "bare_requests_median_ms": round(statistics.median(bare_times) * 1000, 1),
        "ratio": round(statistics.median(action_times) / statistics.median(bare_times), 2),
        "pydantic_floor_ms": round(statistics.median(floor_times) * 1000, 1),
        "pydantic_floor_ratio": round(statistics.median(floor_times) / statistics.median(bare_times), 2),
        "action_peak_rss_mib": round(max(action_rss), 1),
        "bare_peak_rss_mib": round(max(bare_rss), 1),
        "action_import_ms": round(median_import(python, "ld_release_phase.cli", str(ROOT / "src")) * 1000, 1),
        "requests_import_ms": round(median_import(python, "requests", str(ROOT / "src")) * 1000, 1),
        "http_calls_per_run": statistics.mode(calls),
        "runtime_installed_mb": round(installed_size_mb(python), 1),
        "python": subprocess.run(
            [str(python), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip(),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    targets = {
        "ratio": "<= 1.3",
        "action_peak_rss_mib": "<= 40",
        "http_calls_per_run": "== 2",
        "runtime_installed_mb": "<= 15",
    }
    print(f"{'figure':<26} {'value':>12}  target")
    for name, value in figures.items():
        print(f"{name:<26} {value!s:>12}  {targets.get(name, '')}")


if __name__ == "__main__":
    main()
