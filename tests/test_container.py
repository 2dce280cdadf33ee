"""The image as users run it: built with `make image`, started the way the GitHub runner starts a
Docker action (see ``tools/container.py``), against the stand-in on this machine's loopback.

Every run also checks what it changed inside the container: nothing, besides the runner's mount
points. Every kind of run is run there, every module of the action and of each locked package is
imported there, and the image's files are read from ``docker export`` as a scanner reads them.
Without a Docker engine these tests are skipped, saying why; where ``.ci/run`` has brought an
engine up it sets ``CONTAINER_TESTS=required``, and a missing engine fails instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_image import locked_packages

from container import (
    KINDS_OF_RUN,
    ContainerRun,
    KindOfRun,
    base_image,
    build_image,
    engine_problem,
    export_image,
    run_container,
    standin_for_runs,
)
from expect import assert_clean
from harness import ROOT, TOKEN, inputs_for
from standin import StandIn


@pytest.fixture(scope="module")
def image() -> str:
    problem = engine_problem()
    if problem is not None:
        if os.environ.get("CONTAINER_TESTS") == "required":
            pytest.fail(f"the container tests are required here, but {problem}")
        pytest.skip(f"the image was neither built nor run: {problem}")
    return build_image()


@pytest.fixture
def tls_standin(private_ca: tuple[str, str]) -> Iterator[StandIn]:
    server = StandIn(token=TOKEN, dialect="live")
    server.add_release("demo", "new-checkout")
    server.start(tls=private_ca)
    yield server
    server.stop()


def assert_clean_in_container(run: ContainerRun, code: int) -> None:
    """A clean end, and nothing written in the container's own filesystem."""
    assert_clean(run, code)
    assert run.changes == []


@pytest.mark.parametrize(("mode", "sent"), [("live", "active"), ("spec", "Started")])
def test_the_default_step_starts_the_phase_in_either_spelling(
    image: str, tmp_path: Path, mode: str, sent: str
) -> None:
    standin = StandIn(token=TOKEN, dialect=mode)
    standin.add_release("demo", "new-checkout")
    url = standin.start()
    try:
        run = run_container(inputs_for(url), tmp_path)
    finally:
        standin.stop()

    assert_clean_in_container(run, 0)
    assert [(r.method, r.json()) for r in standin.writes] == [("PUT", {"status": sent})]
    assert (run.outputs["started"], run.outputs["changed"]) == ("true", "true")
    assert run.stdout.splitlines()[0] == f"::add-mask::{TOKEN}"
    before, after = {"live": ("ready-to-start", "active"), "spec": ("NotStarted", "Started")}[mode]
    assert [n.message for n in run.annotations("notice")] == [f"Phase 'Testing': {before} → {after}."]
    assert "Testing" in run.summary


def test_a_rerun_writes_nothing(image: str, live_standin: StandIn, tmp_path: Path) -> None:
    first = run_container(inputs_for(live_standin.url), tmp_path / "1")
    again = run_container(inputs_for(live_standin.url), tmp_path / "2")

    assert_clean_in_container(first, 0)
    assert_clean_in_container(again, 0)
    assert len(live_standin.writes) == 1
    assert (again.outputs["changed"], again.outputs["status"]) == ("false", "active")


def test_a_refused_token_is_one_error_and_exit_3(image: str, live_standin: StandIn, tmp_path: Path) -> None:
    run = run_container(inputs_for(live_standin.url, access_token="api-revoked-0123456789"), tmp_path)

    assert_clean_in_container(run, 3)
    assert run.error.properties["title"] == "LaunchDarkly rejected the access token"
    assert "api-revoked-0123456789" not in run.everything()
    assert live_standin.writes == []
    assert run.outputs == {}


def test_a_dry_run_shows_the_request_and_writes_nothing(
    image: str, live_standin: StandIn, tmp_path: Path
) -> None:
    run = run_container(inputs_for(live_standin.url, dry_run="true"), tmp_path)

    assert_clean_in_container(run, 0)
    assert live_standin.writes == []
    assert any(line.startswith("Dry run: would send PUT ") for line in run.log_lines)
    assert run.outputs["changed"] == "false"


@pytest.mark.parametrize(
    ("docker_options", "mount_options"),
    [
        (["--user", "1002"], None),  # an image or a runner with a user other than root
        ([], {"/github/file_commands": "ro"}),  # a file system that refuses the write
    ],
    ids=["another user", "read-only file commands"],
)
def test_an_unwritable_output_file_is_one_plain_error_before_any_call(
    image: str,
    live_standin: StandIn,
    tmp_path: Path,
    docker_options: list[str],
    mount_options: dict[str, str] | None,
) -> None:
    run = run_container(
        inputs_for(live_standin.url), tmp_path, docker_options=docker_options, mount_options=mount_options
    )

    assert_clean_in_container(run, 1)
    assert run.error.properties["title"] == "Cannot write $GITHUB_OUTPUT"
    assert "$GITHUB_OUTPUT (/github/file_commands/set_output_" in run.error.message
    assert "Please report" not in run.stdout
    assert live_standin.requests == []


def test_https_to_a_private_ca_named_in_the_steps_env(
    image: str, tls_standin: StandIn, private_ca: tuple[str, str], tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "ca.pem").write_bytes(Path(private_ca[0]).read_bytes())
    url = tls_standin.url.replace("127.0.0.1", "localhost")

    run = run_container(inputs_for(url), tmp_path, {"REQUESTS_CA_BUNDLE": "/github/workspace/ca.pem"})

    assert_clean_in_container(run, 0)
    assert run.outputs["status"] == "active"


def test_a_read_only_container_without_home_or_tmpdir_still_runs(
    image: str, live_standin: StandIn, tmp_path: Path
) -> None:
    run = run_container(
        inputs_for(live_standin.url),
        tmp_path,
        {"HOME": "/nonexistent", "TMPDIR": "/nonexistent"},
        docker_options=["--read-only"],
    )

    assert_clean_in_container(run, 0)
    assert run.outputs["started"] == "true"


@pytest.mark.parametrize("kind", KINDS_OF_RUN, ids=[kind.what for kind in KINDS_OF_RUN])
def test_each_kind_of_run_ends_as_it_should_and_compiles_nothing(
    image: str, tmp_path: Path, kind: KindOfRun
) -> None:
    # Bytecode writing is switched back on: a module whose bytecode the image lacked would be
    # compiled now, and show in `docker diff`.
    standin = standin_for_runs()
    url = standin.start()
    if kind.prepare is not None:
        kind.prepare(standin)
    try:
        run = run_container(
            kind.all_inputs(url),
            tmp_path,
            kind.env | {"PYTHONDONTWRITEBYTECODE": ""},
            args=kind.arguments(url),
            action=kind.action,
        )
    finally:
        standin.stop()

    assert run.returncode == kind.code, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert run.changes == []


def test_https_needs_nothing_compiled_at_run_time(
    image: str, tls_standin: StandIn, private_ca: tuple[str, str], tmp_path: Path
) -> None:
    (tmp_path / "workspace").mkdir()
    (tmp_path / "workspace" / "ca.pem").write_bytes(Path(private_ca[0]).read_bytes())
    url = tls_standin.url.replace("127.0.0.1", "localhost")

    run = run_container(
        inputs_for(url),
        tmp_path,
        {"REQUESTS_CA_BUNDLE": "/github/workspace/ca.pem", "PYTHONDONTWRITEBYTECODE": ""},
    )

    assert run.returncode == 0, run.stdout
    assert run.changes == []


IDN_HOST = "bücher.test"


@pytest.fixture
def idn_standin(tmp_path: Path) -> Iterator[StandIn]:
    """The stand-in over HTTPS, with a certificate for an international host name."""
    ascii_host = IDN_HOST.encode("idna").decode()
    cert, key = tmp_path / "idn-cert.pem", tmp_path / "idn-key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    names = ["-subj", f"/CN={ascii_host}", "-addext", f"subjectAltName=DNS:{ascii_host}"]
    subprocess.run(
        [*request, *names, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    server = StandIn(token=TOKEN, dialect="live")
    server.add_release("demo", "new-checkout")
    server.start(tls=(str(cert), str(key)))
    yield server
    server.stop()


def test_an_international_host_name_is_reached_over_https(
    image: str, idn_standin: StandIn, tmp_path: Path
) -> None:
    port = idn_standin.url.rsplit(":", 1)[1]
    (tmp_path / "workspace").mkdir()
    shutil.copy(tmp_path / "idn-cert.pem", tmp_path / "workspace" / "ca.pem")
    # The name resolves, in the container alone, to the stand-in on loopback.
    resolve = ["--add-host", f"{IDN_HOST.encode('idna').decode()}:127.0.0.1"]

    run = run_container(
        inputs_for(f"https://{IDN_HOST}:{port}"),
        tmp_path,
        {"REQUESTS_CA_BUNDLE": "/github/workspace/ca.pem"},
        docker_options=resolve,
    )

    assert_clean_in_container(run, 0)
    assert run.outputs["started"] == "true"
    assert len(idn_standin.writes) == 1


def test_a_step_interrupted_while_waiting_is_one_error_and_exit_130(
    image: str, live_standin: StandIn, tmp_path: Path
) -> None:
    def interrupt_once_waiting(container: str) -> None:
        deadline = time.monotonic() + 30
        while len([r for r in live_standin.requests if r.method == "GET"]) < 2:  # the read, one poll
            assert time.monotonic() < deadline, "the step did not get to its first poll"
            time.sleep(0.05)
        # What the runner sends a step's `docker run` when the job is cancelled.
        subprocess.run(["docker", "kill", "--signal", "INT", container], capture_output=True, check=True)

    run = run_container(
        inputs_for(live_standin.url, wait_for="complete", wait_timeout="10m", poll_interval="1s"),
        tmp_path,
        during=interrupt_once_waiting,
    )

    assert_clean_in_container(run, 130)
    assert run.error.message


def test_the_image_holds_only_what_a_run_needs(image: str) -> None:
    listing = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "python", image, "-c", _INVENTORY],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    environment = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Env}}", image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert listing == ["entrypoint.py", "src"]
    assert "PIP_" not in environment
    assert "PYTHONDONTWRITEBYTECODE=1" in environment


_INVENTORY = """
import os
print(*sorted(os.listdir("/action")))
assert not os.path.exists("/build") and not os.path.exists("/staging")
"""

# Imports every module found under a folder, as pkgutil walks it: {"found": [...], "failed":
# {module: [exception, missing module or null]}}. A __main__ module's code is read, not run:
# running it would start the command.
_IMPORT_EVERY_MODULE = """
import importlib, importlib.util, json, pkgutil, re, sys

sys.path.insert(0, sys.argv[1])
found, failed = [], {}

def failure(name, error):
    said = re.search(r"No module named '([^']+)'", str(error))  # a shim may raise it without .name
    missing = getattr(error, "name", None) or (said and said.group(1))
    failed.setdefault(name, [type(error).__name__, missing, str(error)])  # the first, not a retry's

def could_not_walk(name):
    failure(name, sys.exc_info()[1])

for module in pkgutil.walk_packages([sys.argv[1]], onerror=could_not_walk):
    found.append(module.name)
    try:
        if module.name.rpartition(".")[2] == "__main__":
            importlib.util.find_spec(module.name).loader.get_code(module.name)
        else:
            importlib.import_module(module.name)
    except Exception as error:
        failure(module.name, error)
print(json.dumps({"found": found, "failed": failed}))
"""


def import_every_module(image: str, tmp_path: Path, folder: str) -> tuple[ContainerRun, dict[str, Any]]:
    """Every module under ``folder`` imported in the image, with bytecode writing on."""
    run = run_container(
        {},
        tmp_path,
        {"PYTHONDONTWRITEBYTECODE": ""},
        docker_options=["--entrypoint", "/usr/local/bin/python"],
        # -P: nothing from the working folder (the runner's /github would pass for a package)
        args=["-P", "-c", _IMPORT_EVERY_MODULE, folder],
        image=image,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result: dict[str, Any] = json.loads(run.stdout)
    return run, result


def test_every_module_of_the_action_imports_in_the_image(image: str, tmp_path: Path) -> None:
    in_the_source = {
        ".".join(path.relative_to(ROOT / "src").with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "src").rglob("*.py")
    }

    run, result = import_every_module(image, tmp_path, "/action/src")

    assert set(result["found"]) == in_the_source
    assert result["failed"] == {}
    assert run.changes == []


_FOUND_IN_BASE = """
import importlib.util, sys

def found(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False

print(*[name for name in sys.argv[1:] if found(name)])
"""


def test_every_module_of_each_locked_package_imports_unless_its_base_lacks_a_module_too(
    image: str, tmp_path: Path
) -> None:
    site = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "python", image, "-c", _SITE],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    run, result = import_every_module(image, tmp_path, site)
    missing = {name: why[1] for name, why in result["failed"].items() if why[0] == "ModuleNotFoundError"}
    in_the_base = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--entrypoint",
            "python",
            base_image(),
            "-c",
            _FOUND_IN_BASE,
            *missing.values(),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    assert {package.replace("-", "_") for package in locked_packages()} <= {
        name.split(".")[0].lower() for name in result["found"]
    } | {"pyyaml"}
    # What fails to import is an optional dependency outside the lock (mypy, socks, h2...),
    # missing from the base image too: never a module of Python's the image left out.
    assert set(result["failed"]) == set(missing), result["failed"]
    assert in_the_base == [], {name: why for name, why in missing.items() if why in in_the_base}
    assert run.changes == []


_SITE = "import sysconfig; print(sysconfig.get_path('purelib'))"


class ImageFiles:
    """The image's file system, read from ``docker export``, following its symbolic links."""

    def __init__(self, archive: tarfile.TarFile):
        self.archive = archive
        self.members = {member.name.rstrip("/"): member for member in archive.getmembers()}

    def resolve(self, path: str) -> str:
        """The path with every symbolic link on the way followed, inside the image."""
        resolved: list[str] = []
        pending = [part for part in path.strip("/").split("/") if part]
        for _ in range(200):
            if not pending:
                return "/".join(resolved)
            part = pending.pop(0)
            if part == "..":
                resolved = resolved[:-1]
                continue
            member = self.members.get("/".join([*resolved, part]))
            if member is not None and member.issym():
                base = [] if member.linkname.startswith("/") else resolved
                pending = [p for p in member.linkname.strip("/").split("/") if p not in ("", ".")] + pending
                resolved = list(base)
            else:
                resolved.append(part)
        raise AssertionError(f"{path}: symbolic links loop")

    def read(self, path: str) -> bytes:
        extracted = self.archive.extractfile(self.members[self.resolve(path)])
        assert extracted is not None, path
        return extracted.read()

    def files(self) -> list[tarfile.TarInfo]:
        return [member for member in self.members.values() if member.isfile()]


@pytest.fixture(scope="module")
def image_files(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageFiles]:
    with tarfile.open(export_image(image, tmp_path_factory.mktemp("export") / "image.tar")) as archive:
        yield ImageFiles(archive)


def test_the_image_holds_no_shell_no_package_manager_and_no_program_but_python(
    image_files: ImageFiles,
) -> None:
    programs = {
        image_files.resolve(member.name)
        for member in image_files.members.values()
        if {"bin", "sbin"} & set(member.name.split("/")[:-1]) and (member.isfile() or member.issym())
    }
    names = {member.name.rsplit("/", 1)[-1] for member in image_files.members.values() if not member.isdir()}
    tmp = image_files.members["tmp"]

    assert len(programs) == 1
    assert re.fullmatch(r"usr/local/bin/python3\.\d+", programs.pop())
    assert not names & {"sh", "bash", "dash", "busybox", "apt", "apt-get", "dpkg", "pip", "pip3"}
    assert tmp.isdir() and tmp.mode & 0o1777 == 0o1777  # anyone may write there, and not delete others' files


def test_scanners_find_every_debian_library_and_every_locked_package(image_files: ImageFiles) -> None:
    status_dir = "var/lib/dpkg/status.d"
    entries = [m.name for m in image_files.files() if m.name.startswith(status_dir + "/")]
    packages = {
        name.rsplit("/", 1)[1]: image_files.read(name).decode()
        for name in entries
        if not name.endswith(".md5sums")
    }
    checksums: dict[str, tuple[str, str]] = {}  # each file listed, resolved: (package, md5)
    for package in packages:
        for line in image_files.read(f"{status_dir}/{package}.md5sums").decode().splitlines():
            md5, path = line.split(maxsplit=1)
            checksums[image_files.resolve(path)] = (package, md5)
    # Every ELF file outside Python's own /usr/local came from a Debian package.
    debian_binaries = [
        member.name
        for member in image_files.files()
        if not member.name.startswith(("usr/local/", "action/"))
        and image_files.read(member.name)[:4] == b"\x7fELF"
    ]
    os_release = dict(
        line.split("=", 1) for line in image_files.read("etc/os-release").decode().splitlines() if "=" in line
    )
    metadata = [
        m.name
        for m in image_files.files()
        if re.fullmatch(r".*/site-packages/[^/]+\.dist-info/METADATA", m.name)
    ]
    installed = {}
    for name in metadata:
        fields = dict(re.findall(r"^(Name|Version): (.+)$", image_files.read(name).decode(), re.M))
        installed[fields["Name"].lower().replace("_", "-")] = fields["Version"]

    assert os_release["ID"] == "debian" and os_release["VERSION_ID"]
    assert debian_binaries
    for binary in debian_binaries:
        assert binary in checksums, f"{binary} belongs to no package in {status_dir}"
        package, md5 = checksums[binary]
        assert hashlib.md5(image_files.read(binary)).hexdigest() == md5, binary
        assert re.search(rf"^Package: {re.escape(package)}$", packages[package], re.M)
        assert re.search(r"^Version: \S+$", packages[package], re.M)
    assert installed == locked_packages()
