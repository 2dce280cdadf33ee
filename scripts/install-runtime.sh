#!/bin/sh
# Install exactly the locked runtime set, and nothing else, into PYTHON's environment.
# The image's build and the tests that prove the locked set alone runs the action both use it.
#   sh scripts/install-runtime.sh PYTHON [PIP-OPTION ...]    e.g. --no-compile
set -eu
python="${1:-python}"
[ "$#" -gt 0 ] && shift
here="$(cd "$(dirname "$0")" && pwd)"
"$python" -m pip install --no-cache-dir --disable-pip-version-check --no-deps --require-hashes \
    --only-binary=:all: "$@" -r "$here/../requirements/runtime.txt"
# PyYAML ships an optional C accelerator: 2.6 MB of unstripped debug info. The action only
# calls yaml.safe_load, whose loader is pure Python, so the accelerator is never used.
"$python" -B -c 'import pathlib, yaml; [p.unlink() for p in pathlib.Path(yaml.__file__).parent.glob("_yaml*.so")]'
