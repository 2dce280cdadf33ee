"""The image's build stage: stage in STAGING exactly what the action can use at run time.

The image is ``FROM scratch`` plus STAGING: no shell, no package manager, no Debian userland.
What goes in is derived from this stage's own files, so it holds on any architecture:

- the interpreter, and every shared library that it and the staged extension modules link,
  as ``ldd`` resolves them here (the dynamic loader included), with the symbolic links on the
  way to each, and a loader cache for the staged libraries alone;
- the standard library modules the action and its packages can import, compiled (sourceless
  bytecode, so nothing is compiled at run time). The set is a static closure (``modulefinder``,
  which also reads the imports inside functions) from every module of the action, of each locked
  package and of start-up, from the modules the interpreter imports from its own C code, and
  from every codec; unioned with what each kind of run imported when run here. Left out: what
  runs only when a module is itself run as a script, and what only an interactive session uses;
- the locked packages, compiled, with their ``dist-info`` (certifi's CA bundle among their
  files), but not the tests some of them ship;
- for each Debian package a staged file belongs to, its entry in ``var/lib/dpkg/status.d/``, the
  checksums of the files staged from it and its copyright file, as distroless images keep them,
  so that scanners see each library's package and version; ``etc/os-release`` says which Debian;
- ``/action`` (``entrypoint.py`` and ``src/``, compiled), an empty ``/tmp`` anyone may write to,
  and the few files of ``/etc`` a process expects (``root`` and ``nobody``, name lookup order).

Each kind of run (``KINDS_OF_RUN`` in tools/container.py) is run here, the way the runner runs
the action, against the LaunchDarkly stand-in on loopback. A run that ends with the wrong exit
code fails the build, and so does a library that belongs to no Debian package.

    python -B scripts/stage_image.py ACTION_DIR STAGING
"""

from __future__ import annotations

import ast
import compileall
import contextlib
import importlib.metadata
import io
import modulefinder
import os
import py_compile
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tools"))

from container import KINDS_OF_RUN, standin_for_runs  # noqa: E402
from harness import run_entrypoint  # noqa: E402

STDLIB = Path(sysconfig.get_path("stdlib"))
SITE = Path(sysconfig.get_path("purelib"))
# Modules the interpreter imports from its own C code, which no Python source names: time and
# datetime's strptime; how an uncaught exception is printed; pickling and copying; _decimal's
# imports; _warnings; the \N{...} escape's name database; big integers' conversions.
IMPORTED_FROM_C = [
    "_strptime",
    "traceback",
    "copyreg",
    "_compat_pickle",
    "numbers",
    "collections",
    "contextvars",
    "warnings",
    "unicodedata",
    "_pylong",
]
# Python, not the action, decides which codec a name means (an answer's charset, an IDNA host):
# every codec is kept.
CODECS = "encodings"
# sysconfig imports its build's data under a name it computes: the one file of that name here.
SYSCONFIG_DATA = "_sysconfigdata_*.py"
# The files of /etc a process may read, besides the loader's cache written here.
ETC_FROM_DEBIAN = ["etc/os-release", "etc/debian_version", "etc/nsswitch.conf"]
ACCOUNTS = {"etc/passwd": ("root", "nobody"), "etc/group": ("root", "nogroup")}
# What only an interactive session uses: line editing and the new REPL (which site sets up for
# one), help() and breakpoint(). No step has a terminal, and when one of these is missing an
# interactive session goes on without it.
INTERACTIVE = ["_pyrepl", "readline", "rlcompleter", "pydoc", "pdb"]


# -- the runs -------------------------------------------------------------------------------


def exercise(entrypoint: Path, work: Path) -> set[str]:
    """Run each kind of run once; the names of the modules the runs imported."""
    imported: set[str] = set()
    for index, kind in enumerate(KINDS_OF_RUN):
        standin = standin_for_runs()
        url = standin.start()
        if kind.prepare is not None:
            kind.prepare(standin)
        try:
            run = run_entrypoint(
                kind.all_inputs(url),
                work / str(index),
                kind.env | {"PYTHONPROFILEIMPORTTIME": "1"},
                python=sys.executable,
                script=entrypoint,
                args=kind.arguments(url),
            )
        finally:
            standin.stop()
        if run.returncode != kind.code:
            raise SystemExit(
                f"build: the '{kind.what}' run ended with exit {run.returncode}, not {kind.code}"
            )
        imported |= set(re.findall(r"^import time:[^|]*\|[^|]*\| *(\S+)$", run.stderr, re.MULTILINE))
    return imported


# -- the modules ------------------------------------------------------------------------------


def module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_under(root: Path) -> list[str]:
    return [module_name(path.relative_to(root)) for path in sorted(root.rglob("*.py"))]


def started_with() -> set[str]:
    """Every module in ``sys.modules`` once the interpreter has started, under each name it has
    there (``os.path``, say), and the module each of those names is."""
    listing = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; print(*{n for k, m in sys.modules.items() for n in (k, m.__name__)})",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(listing.stdout.split())


def named_in_calls(source: Path) -> set[str]:
    """Modules named by a string in ``importlib.import_module("x")`` or ``__import__("x")``."""
    try:
        tree = ast.parse(source.read_bytes())
    except (SyntaxError, ValueError):
        return set()
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            value = node.args[0].value
            if called in ("import_module", "__import__") and isinstance(value, str) and value[:1] != ".":
                named.add(value)
    return named


def _is_main_block(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
        and any(isinstance(side, ast.Constant) and side.value == "__main__" for side in node.test.comparators)
    )


def _names_in(nodes: Iterable[ast.AST]) -> set[str]:
    """Every name the nodes use: as a variable, an attribute or a string (``__all__``, getattr)."""
    names = set()
    for node in (inner for outer in nodes for inner in ast.walk(outer)):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
    return names


def without_script_parts(tree: ast.Module) -> ast.Module:
    """The module as importing it runs it: without its ``if __name__ == "__main__":`` block, nor
    the private functions and classes only that block uses (a module's self-test or command)."""
    script = [node for node in tree.body if _is_main_block(node)]
    body = [node for node in tree.body if not _is_main_block(node)]
    used_by_script = _names_in(script)
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    tree.body = [
        node
        for node in body
        if not (
            isinstance(node, definitions)
            and node.name.startswith("_")
            and node.name in used_by_script
            # its own name inside it (a recursive call) does not count as a use
            and node.name not in _names_in(other for other in body if other is not node)
        )
    ]
    return tree


class ImportsOfImports(modulefinder.ModuleFinder):
    """``modulefinder``, reading each module as importing it runs it: only entrypoint.py is ever
    run as a script."""

    def load_module(self, fqname: str, fp: Any, pathname: str, file_info: tuple[str, str, str]) -> Any:
        if fqname != "__main__" and fp is not None and pathname.endswith(".py"):
            fp = io.StringIO(ast.unparse(without_script_parts(ast.parse(fp.read(), pathname))))
        return super().load_module(fqname, fp, pathname, file_info)


def closure(script: Path, roots: Iterable[str], search_path: list[str]) -> dict[str, Path]:
    """Each module reachable from ``script`` and ``roots``, and its file (a source or an
    extension module); what only an interactive session uses is left out."""
    finder = ImportsOfImports(path=search_path, excludes=INTERACTIVE)
    finder.run_script(str(script))
    pending, seen = set(roots), set[str]()
    while pending:
        for name in sorted(pending - seen):
            # Not found: a name at start-up that is another module's (os.path), or none here.
            with contextlib.suppress(ImportError):
                finder.import_hook(name)
        seen |= pending
        found = set(files_of(finder).values())
        pending = set().union(*(named_in_calls(path) for path in found if path.suffix == ".py")) - seen
    return files_of(finder)


def files_of(finder: modulefinder.ModuleFinder) -> dict[str, Path]:
    """Each module found that is a file (a source or an extension module), and its file."""
    files = {name: getattr(module, "__file__", None) for name, module in finder.modules.items()}
    return {name: Path(file) for name, file in files.items() if file}


def is_extension(path: Path) -> bool:
    return path.name.endswith(tuple(EXTENSION_SUFFIXES))


def locked_distributions() -> list[importlib.metadata.Distribution]:
    """The installed distributions the runtime lock names (not the base's own, such as pip)."""
    lock = (HERE.parent / "requirements" / "runtime.txt").read_text()
    return [importlib.metadata.distribution(name) for name in re.findall(r"^([\w.-]+)==", lock, re.MULTILINE)]


def package_files(dist: importlib.metadata.Distribution) -> list[Path]:
    """A distribution's files in site-packages, but its tests (as the base image has none of
    its own) and any file the install removed (install-runtime.sh's accelerator)."""
    files = (Path(str(dist.locate_file(file))).resolve() for file in dist.files or [])
    return sorted(
        path
        for path in files
        if path.is_relative_to(SITE)
        and path.exists()
        and not {"test", "tests"} & set(path.relative_to(SITE).parts)
    )


def extension_imports(extensions: Iterable[Path]) -> set[str]:
    """Standard library modules whose names appear in the packages' compiled extension modules,
    which can import them by name from code no ``modulefinder`` reads."""
    names = {name for name in sys.stdlib_module_names if len(name) > 2}
    found: set[str] = set()
    for extension in extensions:
        data = extension.read_bytes()
        found |= {name for name in names if name.encode() in data}
    return found - set(INTERACTIVE)


def modules_to_stage(
    action_dir: Path, distributions: list[importlib.metadata.Distribution], ran: set[str]
) -> dict[str, Path]:
    """The closure over every module of the action, of each locked package, of start-up, of
    what the interpreter imports from C, of every codec, and of what the runs imported."""
    source = action_dir / "src"
    files = [path for dist in distributions for path in package_files(dist)]
    roots = modules_under(source) + [
        module_name(path.relative_to(SITE)) for path in files if path.suffix == ".py"
    ]
    roots += [*started_with(), *IMPORTED_FROM_C, *ran, *extension_imports(filter(is_extension, files))]
    roots += [f"{CODECS}.{name}" for name in modules_under(STDLIB / CODECS)]
    roots += [path.stem for path in STDLIB.glob(SYSCONFIG_DATA)]
    tools = {HERE, HERE.parent / "tools"}
    search_path = [str(source), *(entry for entry in sys.path if entry and Path(entry) not in tools)]
    return closure(action_dir / "entrypoint.py", roots, search_path)


# -- staging ----------------------------------------------------------------------------------


class Stager:
    """Copies files into STAGING at the same paths, with every symbolic link on the way."""

    def __init__(self, staging: Path):
        self.staging = staging
        self.copied: set[Path] = set()  # the real files, as this stage sees them

    def inside(self, path: Path) -> Path:
        return self.staging / path.relative_to("/")

    def copy(self, path: Path) -> None:
        current = Path("/")
        parts = path.relative_to("/").parts
        for index, part in enumerate(parts):
            current /= part
            if current.is_symlink():
                link = self.inside(current)
                if not link.is_symlink():
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(os.readlink(current))
                target = Path(os.path.normpath(current.parent / os.readlink(current)))
                self.copy(target.joinpath(*parts[index + 1 :]))
                return
        target = self.inside(current)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(current, target)
        self.copied.add(current)

    def compile(self, source: Path) -> None:
        """Sourceless bytecode at the source's place; tracebacks still name the source's path."""
        target = self.inside(source.with_suffix(".pyc"))
        target.parent.mkdir(parents=True, exist_ok=True)
        py_compile.compile(str(source), cfile=str(target), dfile=str(source), doraise=True)


def linked_libraries(binaries: Iterable[Path]) -> set[Path]:
    """Every shared library the binaries load, and the dynamic loader, as ``ldd`` resolves them."""
    libraries = set()
    for binary in binaries:
        shown = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
        if "not found" in shown:
            raise SystemExit(f"build: {binary} links a library this stage lacks:\n{shown}")
        libraries |= {Path(path) for path in re.findall(r"(/\S+) \(0x", shown)}
    return libraries


def debian_spellings(path: Path) -> list[Path]:
    """The path, and the same file under a merged-/usr alias (/lib for /usr/lib): dpkg knows each
    file under the one its package ships it as."""
    first, *rest = path.relative_to("/").parts
    spellings = [path]
    if first == "usr" and rest and Path("/", rest[0]).resolve() == Path("/usr", rest[0]):
        spellings.append(Path("/", *rest))
    return spellings


def stage_debian_metadata(stager: Stager, libraries: set[Path]) -> None:
    """For each Debian package a staged file came from: its status entry, the checksums of the
    staged files and its copyright file. Each of ``libraries`` must be one of those files."""
    # Python, under its own prefix, is no Debian package.
    debian = [path for path in stager.copied if not path.is_relative_to(sys.prefix)]
    spellings = {spelling: path for path in debian for spelling in debian_spellings(path)}
    search = subprocess.run(
        ["dpkg-query", "--search", *map(str, spellings)], capture_output=True, text=True, check=False
    ).stdout
    owned: dict[str, set[str]] = {}
    for line in search.splitlines():
        packages, _, path = line.partition(": ")
        if not line.startswith("diversion ") and Path(path) in spellings:
            for package in packages.split(", "):
                owned.setdefault(package, set()).add(path)
    unowned = {path for path in libraries if not path.is_relative_to(sys.prefix)} - {
        spellings[Path(path)] for paths in owned.values() for path in paths
    }
    if unowned:
        raise SystemExit(
            f"build: no Debian package owns {sorted(map(str, unowned))}: scanners would miss them"
        )
    status_dir = stager.inside(Path("/var/lib/dpkg/status.d"))
    status_dir.mkdir(parents=True)
    for package, paths in sorted(owned.items()):
        name = package.split(":")[0]
        copyright_file = Path("/usr/share/doc", name, "copyright")
        if copyright_file.exists():
            stager.copy(copyright_file)
            paths.add(str(copyright_file))
        status = subprocess.run(
            ["dpkg-query", "--status", package], capture_output=True, text=True, check=True
        ).stdout
        # Conffiles lists files of the package's that the image does not have.
        status = re.sub(r"^Conffiles:\n(?: .*\n)*", "", status, flags=re.MULTILINE)
        (status_dir / name).write_text(status)
        sums = Path("/var/lib/dpkg/info", f"{package}.md5sums")
        lines = sums.read_text().splitlines() if sums.exists() else []
        (status_dir / f"{name}.md5sums").write_text(
            "".join(f"{line}\n" for line in lines if "/" + line.split(maxsplit=1)[1] in paths)
        )


def stage_system(stager: Stager, libraries: set[Path]) -> None:
    for name in ETC_FROM_DEBIAN:
        stager.copy(Path("/", name))
    for name, accounts in ACCOUNTS.items():
        lines = Path("/", name).read_text().splitlines()
        kept = [line for line in lines if line.split(":")[0] in accounts]
        stager.inside(Path("/", name)).write_text("".join(f"{line}\n" for line in kept))
    tmp = stager.inside(Path("/tmp"))
    tmp.mkdir()
    tmp.chmod(0o1777)
    # The loader looks libraries up in its cache: one for the staged libraries' folders.
    config = stager.inside(Path("/etc/ld.so.conf"))
    config.write_text("".join(f"{folder}\n" for folder in sorted({str(path.parent) for path in libraries})))
    subprocess.run(["ldconfig", "-X", "-r", str(stager.staging)], check=True)
    config.unlink()


def interpreters() -> list[Path]:
    """The interpreter, under each name in its folder that runs it (python, python3)."""
    real = Path(sys.executable).resolve()
    return sorted(path for path in real.parent.glob("python*") if path.resolve() == real)


def shadowed(source: Path) -> bool:
    """Whether an extension module of the same name is imported instead of this source."""
    return any(source.with_name(source.stem + suffix).exists() for suffix in EXTENSION_SUFFIXES)


def main() -> None:
    action_dir, staging = (Path(arg).resolve() for arg in sys.argv[1:3])
    subprocess.run(["sh", str(HERE / "install-runtime.sh"), sys.executable, "--no-compile"], check=True)
    distributions = locked_distributions()
    with tempfile.TemporaryDirectory() as work:
        ran = exercise(action_dir / "entrypoint.py", Path(work))

    stager = Stager(staging)
    modules = modules_to_stage(action_dir, distributions, ran).values()
    standard = {path for path in modules if path.is_relative_to(STDLIB) and not path.is_relative_to(SITE)}
    packages = {path for dist in distributions for path in package_files(dist)}
    for path in sorted(standard | packages):
        if path.suffix != ".py":
            stager.copy(path)  # an extension module, dist-info, data (certifi's bundle)
        elif not shadowed(path):
            stager.compile(path)
    for interpreter in interpreters():
        stager.copy(interpreter)
    extensions = sorted(path for path in stager.copied if is_extension(path))
    libraries = linked_libraries([Path(sys.executable).resolve(), *extensions])
    for library in sorted(libraries):
        stager.copy(library)
    real_libraries = {path.resolve() for path in libraries}
    stage_system(stager, real_libraries)
    stage_debian_metadata(stager, real_libraries)
    # Checked against nothing: the image never changes, whatever timestamps its build gives.
    unchecked = py_compile.PycInvalidationMode.UNCHECKED_HASH
    compileall.compile_dir(action_dir / "src", quiet=1, force=True, invalidation_mode=unchecked)
    shutil.copytree(action_dir, stager.inside(action_dir), symlinks=True)


if __name__ == "__main__":
    main()
