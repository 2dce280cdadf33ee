"""Run the action the way the GitHub runner does, and read back what the runner would see."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from standin import StandIn

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "entrypoint.py"
TOKEN = "api-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


class FakeClock:
    """A clock whose sleeps return at once but are counted, so waits can be asserted."""

    def __init__(self, wall: float = 1_700_000_000.0):
        self.now = 0.0
        self.wall = wall
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.wall + self.now

    def monotonic(self) -> float:
        return self.now


@dataclass
class Command:
    name: str
    properties: dict[str, str]
    message: str


@dataclass
class ActionRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    commands: list[Command] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)

    def annotations(self, kind: str) -> list[Command]:
        return [command for command in self.commands if command.name == kind]

    @property
    def error(self) -> Command:
        errors = self.annotations("error")
        assert len(errors) == 1, f"expected exactly one ::error, got {errors}\n{self.stdout}"
        return errors[0]

    def everything(self) -> str:
        """All text the run left anywhere a person or a later step could read it.

        ``::add-mask::`` lines are left out: the runner consumes them and never shows them.
        """
        shown = [line for line in self.stdout.splitlines() if not line.lstrip().startswith("::add-mask::")]
        return "\n".join([*shown, self.stderr, self.summary, *self.outputs.values()])


def parse_output_file(text: str) -> dict[str, str]:
    """Parse ``$GITHUB_OUTPUT`` exactly as the runner's file-command reader does."""
    outputs: dict[str, str] = {}
    # The runner ends a line at LF, or at CRLF (the CR is dropped); a lone CR is kept.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            key, value = line[:equals], line[equals + 1 :]
        elif heredoc >= 0:
            key, delimiter = line[:heredoc], line[heredoc + 2 :]
            value_lines = []
            while True:
                if index >= len(lines):
                    raise ValueError(f"Matching delimiter not found '{delimiter}'")
                candidate = lines[index]
                index += 1
                if candidate == delimiter:
                    break
                value_lines.append(candidate)
            value = "\n".join(value_lines)
        else:
            raise ValueError(f"Invalid format '{line}'")
        assert key, f"empty key in {line!r}"
        outputs[key] = value
    return outputs


_COMMAND = re.compile(r"^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$")


def _unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    return _unescape_data(text.replace("%3A", ":").replace("%2C", ","))


_LEGACY = re.compile(r"##\[([A-Za-z-]+)(?: ([^\]]*))?\](.*)$")


def parse_log(stdout: str) -> tuple[list[Command], list[str]]:
    """Split stdout into workflow commands and plain lines as the runner does: ``::name::`` at a
    line's start, the legacy ``##[name]`` anywhere in a line, and ``stop-commands`` in either form."""
    commands: list[Command] = []
    plain: list[str] = []
    resume_token: str | None = None
    for line in stdout.splitlines():
        stripped = line.lstrip()
        if resume_token is not None:
            if stripped == f"::{resume_token}::":
                resume_token = None
            else:
                plain.append(line)
            continue
        match = _COMMAND.match(stripped)
        legacy = None if match else _LEGACY.search(line)
        if legacy:
            # The runner's legacy form: "##[name key=value;key=value]data", anywhere in a line.
            name, props, message = legacy.groups()
            properties = dict(item.partition("=")[::2] for item in filter(None, (props or "").split(";")))
            command = Command(name, {k.strip(): v for k, v in properties.items()}, message)
        elif match:
            name, props, message = match.groups()
            properties = {}
            for item in filter(None, (props or "").split(",")):
                key, _, value = item.partition("=")
                properties[key] = _unescape_property(value)
            command = Command(name, properties, _unescape_data(message))
        else:
            plain.append(line)
            continue
        if command.name == "stop-commands":
            resume_token = command.message
            continue
        commands.append(command)
    return commands, plain


def read_run(returncode: int, stdout: str, stderr: str, output_file: Path, summary_file: Path) -> ActionRun:
    commands, plain = parse_log(stdout)
    return ActionRun(
        returncode,
        stdout,
        stderr,
        parse_output_file(output_file.read_bytes().decode("utf-8")) if output_file.is_file() else {},
        summary_file.read_text(encoding="utf-8") if summary_file.is_file() else "",
        commands,
        plain,
    )


def input_variables(inputs: dict[str, str]) -> dict[str, str]:
    """Inputs as the runner passes them: ``INPUT_<NAME>``, upper-cased, spaces as ``_``, hyphens kept."""
    return {f"INPUT_{name.replace(' ', '_').upper()}": value for name, value in inputs.items()}


def runner_env(inputs: dict[str, str], tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the runner gives a Docker action: INPUT_* (hyphens kept) and file commands."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "output.txt").write_text("")
    (tmp / "summary.md").write_text("")
    (tmp / "home").mkdir(exist_ok=True)
    env = input_variables(inputs)
    # Coverage's own variables, when a measured test run set them, so child runs are counted
    # too; the action never reads them.
    env = {key: value for key, value in os.environ.items() if key.startswith("COVERAGE_")} | env
    env |= {
        "GITHUB_OUTPUT": str(tmp / "output.txt"),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "HOME": str(tmp / "home"),
        "GITHUB_ACTIONS": "true",
        "CI": "true",
    }
    return env | (extra or {})


def image_python() -> str:
    """An interpreter of the image's Python minor version (the Dockerfile's FROM), if this
    machine has one: on PATH, or among pyenv's versions. Otherwise the current interpreter."""
    base = re.search(r"^FROM python:(\d+\.\d+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert base is not None, "the Dockerfile's base is a python:<version> image"
    minor = base.group(1)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{minor}") or ""]
    candidates += sorted(str(p) for p in pyenv_root.glob(f"versions/{minor}.*/bin/python{minor}"))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import venv"], capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    return sys.executable


def run_entrypoint(
    inputs: dict[str, str],
    tmp: Path,
    extra_env: dict[str, str] | None = None,
    *,
    python: str = sys.executable,
    script: Path = ENTRYPOINT,
    args: Sequence[str] = (),
    encoding: str = "utf-8",
) -> ActionRun:
    """Run ``entrypoint.py`` in a child process with nothing but the runner's environment;
    its log is read in ``encoding``."""
    result = subprocess.run(
        [python, str(script), *args],
        env=runner_env(inputs, tmp, extra_env),
        capture_output=True,
        encoding=encoding,
        timeout=120,
        check=False,
        cwd=tmp,
    )
    return read_run(result.returncode, result.stdout, result.stderr, tmp / "output.txt", tmp / "summary.md")


def run_in_process(
    inputs: dict[str, str],
    tmp: Path,
    clock: FakeClock | None = None,
    extra_env: dict[str, str] | None = None,
    *,
    standin: StandIn | None = None,
    args: Sequence[str] = (),
) -> ActionRun:
    """The same run inside this process, with a fake clock so retries and waits cost nothing.

    With ``standin``, the stand-in answers as the client's transport, in memory; without it,
    the run goes over the network to ``base-uri`` as the action's own would."""
    from ld_release_phase.cli import main
    from ld_release_phase.plumbing.transport import HttpTransport

    stream = io.StringIO()
    transport = standin.transport if standin is not None else HttpTransport
    code = main(list(args), runner_env(inputs, tmp, extra_env), stream, clock or FakeClock(), transport)
    return read_run(code, stream.getvalue(), "", tmp / "output.txt", tmp / "summary.md")


class BoundStep:
    """A step bound to a stand-in, a folder of its own and a fake clock: ``step.run(phase="QA")``
    runs the action in this process against the stand-in in memory; ``step.run_entrypoint(...)``
    runs ``entrypoint.py`` as the runner runs the container, over loopback."""

    def __init__(self, standin: StandIn, tmp: Path):
        self.standin = standin
        self.clock = FakeClock()
        self._tmp = tmp
        self._runs = 0

    def inputs(self, **overrides: str) -> dict[str, str]:
        return inputs_for(self.standin.url, **overrides)

    def _folder(self) -> Path:
        self._runs += 1
        return self._tmp / f"run-{self._runs}"

    def run(self, env: dict[str, str] | None = None, **inputs: str) -> ActionRun:
        return run_in_process(self.inputs(**inputs), self._folder(), self.clock, env, standin=self.standin)

    def run_entrypoint(self, env: dict[str, str] | None = None, **inputs: str) -> ActionRun:
        return run_entrypoint(self.inputs(**inputs), self._folder(), env)


PHASE_ACTION = "action.yml"
RELEASE_ACTION = "environment-release/action.yml"


def action_defaults(action_file: str = PHASE_ACTION) -> dict[str, str]:
    """Every input's default in an action's ``action.yml``, as the runner fills it in when a
    step omits it."""
    import yaml

    action = yaml.safe_load((ROOT / action_file).read_text())
    return {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}


def inputs_for(url: str, **overrides: str) -> dict[str, str]:
    inputs = {
        "access-token": TOKEN,
        "project": "demo",
        "flag": "new-checkout",
        "phase": "Testing",
        "base-uri": url,
    }
    inputs |= {name.replace("_", "-"): value for name, value in overrides.items()}
    return inputs


def release_inputs_for(url: str, **overrides: str) -> dict[str, str]:
    """The environment-release action's inputs against the stand-in: the demo flag in production."""
    inputs = {
        "access-token": TOKEN,
        "project": "demo",
        "flag": "new-checkout",
        "environment": "production",
        "base-uri": url,
    }
    return inputs | {name.replace("_", "-"): value for name, value in overrides.items()}


def as_github_shows(stdout: str) -> list[str]:
    """The log as a run's page shows it: each group folded to its title (``▸``), annotations as
    ``Notice:``, ``Warning:`` or ``Error:`` and their message, masks and fences unseen."""
    shown: list[str] = []
    folded, fence = False, None
    for line in stdout.splitlines():
        if fence is not None:
            if line == fence:
                fence = None
            elif not folded:
                shown.append(line)
            continue
        match = _COMMAND.match(line.lstrip())
        name, message = (match.group(1), _unescape_data(match.group(3))) if match else ("", "")
        if name == "stop-commands":
            fence = f"::{message}::"
        elif name == "group":
            shown.append("▸ " + message)
            folded = True
        elif name == "endgroup":
            folded = False
        elif name in ("notice", "warning", "error"):
            shown += f"{name.title()}: {message}".splitlines()
        elif not match and not folded:
            shown.append(line)
    return shown
