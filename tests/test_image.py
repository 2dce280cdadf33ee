"""The image's recipe, and its contents proved without a Docker engine.

The Dockerfile's build stage installs the hashed runtime lock with ``scripts/install-runtime.sh``;
the image gets those packages, the modules they and the action can import, and ``/action``
(``entrypoint.py`` and ``src/``). These tests do the same into a fresh virtual environment and a
fresh directory (no dev dependencies, no repository checkout), then run the action from there
against the stand-in, and check that the modules the build finds from the code alone include
every module a run imports. The built image itself is run in ``test_container.py``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import ROOT, image_python, inputs_for, run_entrypoint
from standin import StandIn

DOCKERFILE = (ROOT / "Dockerfile").read_text()
FORBIDDEN = {"pygithub", "cryptography", "pynacl", "pyjwt", "cffi"}
SIZE_TARGET_MB = 15.0
# What a fresh environment (and the base image) holds before the lock is installed.
BASE_PACKAGES = {"pip", "setuptools", "pkg_resources", "_distutils_hack", "distutils"}


def locked_packages() -> dict[str, str]:
    text = (ROOT / "requirements" / "runtime.txt").read_text()
    return {name.lower(): version for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)}


def copied_from_context() -> list[str]:
    """What the Dockerfile copies from the build context (not from its build stage)."""
    lines = re.findall(r"^COPY (?!--from)(.+)$", DOCKERFILE, re.M)
    return [source for line in lines for source in line.split()[:-1]]


# What the image's /action holds: the build stage's /action, compiled.
ACTION_FILES = ["entrypoint.py", "src"]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(python, action directory) laid out as the image has them."""
    root = tmp_path_factory.mktemp("image")
    subprocess.run([image_python(), "-m", "venv", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    subprocess.run(
        ["sh", str(ROOT / "scripts" / "install-runtime.sh"), str(python)], check=True, capture_output=True
    )
    action_dir = root / "action"
    action_dir.mkdir()
    shutil.copy2(ROOT / "entrypoint.py", action_dir / "entrypoint.py")
    shutil.copytree(ROOT / "src", action_dir / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return python, action_dir


def installed(python: Path) -> dict[str, str]:
    listing = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pairs = (line.split("==") for line in listing.splitlines() if "==" in line)
    return {name.lower().replace("_", "-"): version for name, version in pairs} | {}


def test_the_environment_holds_exactly_the_locked_set(image: tuple[Path, Path]) -> None:
    python, _ = image
    present = {name: v for name, v in installed(python).items() if name not in {"pip", "setuptools"}}

    assert present == locked_packages()
    assert not FORBIDDEN & set(present)


def test_the_locked_set_alone_runs_the_action(
    image: tuple[Path, Path], standin: StandIn, tmp_path: Path
) -> None:
    python, action_dir = image
    entrypoint = action_dir / "entrypoint.py"
    assert entrypoint.exists()

    run = run_entrypoint(
        inputs_for(standin.url, phase="next", audiences="- environmentKey: test\n"),
        tmp_path,
        python=str(python),
        script=entrypoint,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["phase-name"] == "Testing"
    assert standin.writes[0].json() == {"status": "Started", "audiences": [{"audienceId": "aud-test"}]}


def test_the_installed_runtime_fits_the_size_target(image: tuple[Path, Path]) -> None:
    python, _ = image
    site = next((python.parent.parent / "lib").glob("python3*/site-packages"))
    ours = [p for p in site.iterdir() if p.name.split("-")[0].lower() not in BASE_PACKAGES]
    size = sum(
        f.stat().st_size
        for path in ours
        for f in ([path] if path.is_file() else path.rglob("*"))
        if f.is_file()
    )

    assert size / 1e6 <= SIZE_TARGET_MB, f"runtime set is {size / 1e6:.1f} MB"


def test_dockerfile_builds_from_one_pinned_base_into_an_image_of_nothing_else() -> None:
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?$", DOCKERFILE, re.M)
    final_stage = DOCKERFILE.rsplit("\nFROM ", 1)[1]

    # The first FROM names the base, as Dependabot and the container tooling read it.
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", stages[0][0]), stages
    assert stages == [(stages[0][0], "build"), ("scratch", "")]
    assert not re.search(r"^USER ", DOCKERFILE, re.M)
    assert 'ENTRYPOINT ["/usr/local/bin/python", "/action/entrypoint.py"]' in final_stage
    assert "PYTHONUNBUFFERED=1" in final_stage
    assert "PIP_" not in final_stage
    assert re.findall(r"^[A-Z]+ ", final_stage, re.M) == ["ENV ", "COPY ", "ENTRYPOINT "]  # nothing runs
    assert re.findall(r"^COPY .+$", final_stage, re.M) == ["COPY --from=build /staging/ /"]


# Lists the modules each kind of run imports, run in this environment as the image's build runs
# them, and the modules the build finds from the code alone, without those runs.
_CLOSURE_PROBE = """
import importlib.util, json, sys, tempfile
from pathlib import Path

action_dir = Path(sys.argv[2])
sys.path[:0] = [sys.argv[1], str(action_dir / "src")]
import stage_image

with tempfile.TemporaryDirectory() as work:
    ran = stage_image.exercise(action_dir / "entrypoint.py", Path(work))
found = stage_image.modules_to_stage(action_dir, stage_image.locked_distributions(), set())
# Built-in and frozen modules need no file; optional ones a run tried but does not have, none.
specs = {name: importlib.util.find_spec(name) for name in ran}
files = [name for name, spec in specs.items() if spec is not None and spec.has_location]
print(json.dumps({"ran": sorted(files), "found": sorted(found)}))
"""


def test_the_modules_found_from_the_code_include_every_module_any_kind_of_run_imports(
    image: tuple[Path, Path],
) -> None:
    python, action_dir = image

    probe = subprocess.run(
        [str(python), "-c", _CLOSURE_PROBE, str(ROOT / "scripts"), str(action_dir)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr
    modules = json.loads(probe.stdout)

    assert len(modules["ran"]) > 100  # the runs ran, and imported what a run imports
    assert sorted(set(modules["ran"]) - set(modules["found"])) == []


def test_dockerignore_lets_through_exactly_what_the_build_copies() -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]

    assert sorted(path.rstrip("/") for path in copied_from_context()) == sorted(allowed)
