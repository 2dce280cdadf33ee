"""Benchmark: the action's step as users run it (the image) and as a process, beside its floors.

Child processes against the LaunchDarkly stand-in (live mode) on loopback, interleaved run by
run so that they share any drift of the machine:

- the action in a venv: ``entrypoint.py`` with ``INPUT_*`` variables, with the image's Python
  minor version and the runtime lock alone (``scripts/install-runtime.sh``, kept in ``.bench/``),
  ``src/`` compiled; the release is reset first, so it reads the release and starts the phase;
- the floor of the required stack: ``requests`` + ``pydantic`` + one model + the same PUT, the
  least any action built on these packages can cost;
- a bare ``requests`` PUT;
- when a Docker engine answers: the same step in the image (``make image``), started as the
  runner starts it, and the same ``docker run`` with the image's Python doing nothing
  (``--entrypoint python ... -c pass``: same environment, mounts and network), which is what
  Docker costs whatever the action does.

Then what a runner pays before the step, for the image and for its base image alone: the MB a
registry sends (every layer, gzipped) and the seconds to load each, gzipped, into an engine that
holds none of its layers: a second engine with storage, state, socket and network of its own,
started for this and removed at the end.

It prints the medians, the ratios, peak memory, the calls per run (and per idempotent re-run),
import times, the installed size, and the image's size and load time beside its base's, then
holds the action to its targets: exit 1 if one is missed.

    make bench            # or: .venv/bin/python scripts/bench.py --runs 40
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools")]

from container import IMAGE, Step, base_image, build_image, engine_problem, image_size, runner_step  # noqa: E402
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
    # (container step - docker doing nothing) / the same step in a venv: what the image adds.
    "container_to_venv_ratio": ("<=", 1.15),
    # What a runner pulls before the step, and how long its engine takes to load that.
    "image_gzipped_mb": ("<=", 15.0),
    "image_to_base_load_ratio": ("<=", 0.5),
}
LOAD_ROUNDS = 3


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")
    return f"{os.cpu_count()} cores" + (f", {model}" if model else "")


class Probes:
    """The commands measured each round, and the stand-in they run against."""

    def __init__(self, python: Path, standin: StandIn, tmp: Path):
        self.standin = standin
        url = standin.url
        phase_id = standin.phase_id("Testing")
        self.put_url = f"{url}/api/v2/projects/demo/flags/new-checkout/release/phases/{phase_id}"
        self.inputs = action_defaults() | inputs_for(url, phase="Testing")
        self.python = python
        self.env = runner_env(self.inputs, tmp)
        self.bare_env = {"HOME": str(tmp)}
        self.docker = self._docker_steps(tmp)

    def _docker_steps(self, tmp: Path) -> tuple[Step, Step] | None:
        """The runner's ``docker run`` of the step, and of the image's Python doing nothing with
        the same environment, mounts and network; None (saying why) when no engine answers."""
        problem = engine_problem()
        if problem is not None:
            print(f"container figures skipped: {problem}", file=sys.stderr)
            return None
        image = build_image()
        step = runner_step(self.inputs, tmp / "container", image=image, remove=True)
        noop = runner_step(
            self.inputs,
            tmp / "noop",
            image=image,
            remove=True,
            docker_options=["--entrypoint", "/usr/local/bin/python"],
            args=["-c", "pass"],
        )
        return step, noop

    def fresh(self) -> None:
        """A release no step has touched: the next step reads it and starts the phase."""
        self.standin.add_release("demo", "new-checkout")

    def one_round(self) -> dict[str, float]:
        action = [str(self.python), str(ROOT / "entrypoint.py")]
        self.fresh()
        before = len(self.standin.requests)
        elapsed, rss = timed(action, self.env)
        made = len(self.standin.requests) - before
        timed(action, self.env)  # the same step again: nothing to do
        rerun = len(self.standin.requests) - before - made
        self.fresh()
        bare, _ = timed([str(self.python), "-c", BARE_PUT, self.put_url, TOKEN], self.bare_env)
        self.fresh()
        floor, _ = timed([str(self.python), "-c", PYDANTIC_FLOOR, self.put_url, TOKEN], self.bare_env)
        sample = {"action": elapsed, "rss": rss, "bare": bare, "floor": floor, "calls": made, "rerun": rerun}
        if self.docker is not None:
            step, noop = self.docker
            self.fresh()
            sample["container"], _ = timed(step.command, step.env)
            sample["noop"], _ = timed(noop.command, noop.env)
        return sample


def measure(python: Path, runs: int) -> dict[str, list[float]]:
    standin = StandIn(token=TOKEN, dialect="live")
    standin.add_release("demo", "new-checkout")
    standin.start()
    samples: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            probes = Probes(python, standin, Path(tmp))
            for index in range(runs + 3):  # three warm-up rounds, interleaved to share any drift
                sample = probes.one_round()
                if index >= 3:
                    for name, value in sample.items():
                        samples.setdefault(name, []).append(value)
    finally:
        standin.stop()
    return samples


def figures_of(samples: dict[str, list[float]], python: Path, runs: int) -> dict[str, Any]:
    action, floor, bare = (statistics.median(samples[name]) for name in ("action", "floor", "bare"))
    figures: dict[str, Any] = {
        "runs": runs,
        "action_median_ms": round(action * 1000, 1),
        "floor_median_ms": round(floor * 1000, 1),
        "bare_put_median_ms": round(bare * 1000, 1),
        "action_to_floor_ratio": round(action / floor, 3),
        "action_to_bare_ratio": round(action / bare, 2),
        "action_peak_rss_mib": round(max(samples["rss"]), 1),
        "http_calls_per_run": statistics.mode(samples["calls"]),
        "http_calls_per_rerun": statistics.mode(samples["rerun"]),
        "action_import_ms": round(median_import(python, "ld_release_phase.cli", str(ROOT / "src")) * 1000, 1),
        "requests_import_ms": round(median_import(python, "requests", str(ROOT / "src")) * 1000, 1),
        "runtime_installed_mb": round(installed_size_mb(python), 1),
        "python": subprocess.run(
            [str(python), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip(),
        "machine": machine(),
    }
    if "container" in samples:
        container, noop = statistics.median(samples["container"]), statistics.median(samples["noop"])
        figures |= {
            "container_step_median_ms": round(container * 1000, 1),
            "docker_noop_median_ms": round(noop * 1000, 1),
            "container_to_venv_ratio": round((container - noop) / action, 3),
        }
    return figures


def gzipped_layers_mb(archive: Path) -> float:
    """What a registry sends for a ``docker save`` archive: each of its layers, gzipped at the
    default level."""
    total = 0
    with tarfile.open(archive) as saved:
        manifest = saved.extractfile("manifest.json")
        assert manifest is not None
        for layer in json.load(manifest)[0]["Layers"]:
            source = saved.extractfile(layer)
            assert source is not None
            compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip's framing
            while chunk := source.read(1 << 20):
                total += len(compressor.compress(chunk))
            total += len(compressor.flush())
    return total / 1e6


@contextlib.contextmanager
def empty_engine(root: Path) -> Iterator[list[str]]:
    """A second Docker engine with its own storage, state, containerd and socket, holding no
    image: the ``docker`` command that talks to it. Stopped, and its files removed, on exit.

    It only loads images, so it has no bridge and no firewall rules, and it runs in a network
    namespace of its own: an engine started without a bridge deletes the host's default one,
    which the machine's own engine needs."""
    socket = root / "docker.sock"
    (root / "daemon.json").write_text("{}")  # none of this machine's engine settings
    command = [
        "unshare",
        "--net",
        "dockerd",
        "--data-root",
        str(root / "data"),
        "--exec-root",
        str(root / "exec"),
    ]
    command += ["--pidfile", str(root / "dockerd.pid"), "--host", f"unix://{socket}"]
    command += ["--config-file", str(root / "daemon.json"), "--bridge", "none", "--iptables=false"]
    command += ["--containerd-namespace", "bench", "--containerd-plugins-namespace", "bench-plugins"]
    docker = ["docker", "--host", f"unix://{socket}"]
    with (root / "dockerd.log").open("wb") as log:
        daemon = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while subprocess.run([*docker, "info"], capture_output=True, check=False).returncode != 0:
            if daemon.poll() is not None or time.monotonic() > deadline:
                said = (root / "dockerd.log").read_text(errors="replace").splitlines()[-5:]
                raise RuntimeError("a second engine did not start: " + " / ".join(said))
            time.sleep(0.2)
        yield docker
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        with contextlib.suppress(OSError):
            mounts = Path("/proc/mounts").read_text().split("\n")
            for mount in reversed([line.split()[1] for line in mounts if f" {root}/" in line]):
                subprocess.run(["umount", "--lazy", mount], check=False)
        shutil.rmtree(root, ignore_errors=True)


def load_seconds(docker: list[str], archive: Path, image: str) -> float:
    """Seconds to load a gzipped ``docker save`` archive, then the image is removed again."""
    started = time.perf_counter()
    subprocess.run([*docker, "load", "--quiet", "--input", str(archive)], capture_output=True, check=True)
    elapsed = time.perf_counter() - started
    subprocess.run([*docker, "image", "rm", "--force", image], capture_output=True, check=True)
    return elapsed


def pull_figures(image: str, base: str) -> dict[str, Any]:
    """The image and its base beside each other: MB on disk, MB a registry sends, and the median
    seconds to load each into an engine holding none of its layers, loads interleaved."""
    figures: dict[str, Any] = {"image_mb": round(image_size(image) / 1e6, 1), "base_image": base}
    names = {"image": image, "base": base}
    with tempfile.TemporaryDirectory(prefix="bench-", dir="/tmp") as work:
        archives: dict[str, Path] = {}
        for which, name in names.items():
            saved = Path(work) / f"{which}.tar"
            subprocess.run(["docker", "save", "--output", str(saved), name], check=True)
            figures[f"{which}_gzipped_mb"] = round(gzipped_layers_mb(saved), 1)
            subprocess.run(["gzip", "-6", str(saved)], check=True)
            archives[which] = saved.with_suffix(".tar.gz")
        if os.geteuid() != 0 or not (shutil.which("dockerd") and shutil.which("unshare")):
            print("load figures skipped: a second engine needs root, dockerd and unshare", file=sys.stderr)
            return figures
        loads: dict[str, list[float]] = {which: [] for which in names}
        # A socket's path may not be much longer than 100 characters: a short folder of its own.
        with empty_engine(Path(tempfile.mkdtemp(prefix="engine-", dir="/tmp"))) as docker:
            for _ in range(LOAD_ROUNDS):
                for which, name in names.items():
                    loads[which].append(load_seconds(docker, archives[which], name))
    image_load, base_load = (statistics.median(loads[which]) for which in names)
    return figures | {
        "image_load_s": round(image_load, 2),
        "base_load_s": round(base_load, 2),
        "image_to_base_load_ratio": round(image_load / base_load, 3),
    }


def missed_targets(figures: dict[str, Any]) -> list[str]:
    def met(value: float, relation: str, bound: float) -> bool:
        return value <= bound if relation == "<=" else value == bound

    return [
        name
        for name, (relation, bound) in TARGETS.items()
        if name in figures and not met(figures[name], relation, bound)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    python = runtime_python()
    # Bytecode compiled ahead, as the image's build does, so no run pays for compiling.
    subprocess.run([str(python), "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    figures = figures_of(measure(python, args.runs), python, args.runs)
    if "container_step_median_ms" in figures:  # the engine answered and the image is built
        try:
            figures |= pull_figures(IMAGE, base_image())
        except (RuntimeError, subprocess.CalledProcessError) as problem:
            raise SystemExit(f"the image's size and load time could not be measured: {problem}") from None
    missed = missed_targets(figures)
    if args.json:
        print(json.dumps(figures | {"missed": missed}, indent=2))
    else:
        print(f"{'figure':<26} {'value':>14}  target")
        for name, value in figures.items():
            relation, bound = TARGETS.get(name, ("", ""))
            verdict = ("  missed" if name in missed else "  met") if relation else ""
            print(f"{name:<26} {value!s:>14}  {relation} {bound}{verdict}".rstrip())
    if missed:
        raise SystemExit(f"targets missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
