# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo standin image test lint typecheck unit lock bench clean

install: $(STAMP)

# The virtual environment is rebuilt whenever a lock or the project's metadata changes. The
# project itself is installed in place, for the `ld-release-phase` command and `python -m`.
$(STAMP): requirements/dev.txt requirements/runtime.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# The LaunchDarkly stand-in, to try the command against (see "Try it without an account" in the README).
standin: $(STAMP)
	$(BIN)/python tools/standin.py --port 8765 --token api-demo-token --new-flag brand-new-flag

# The action's image, as the runner builds it from action.yml's `image: Dockerfile`. Another tag
# (`make image IMAGE=name:tag`) keeps builds of different checkouts apart on one engine; the
# container tests and `make bench` build and run the same IMAGE.
IMAGE ?= ld-release-phase:dev
image:
	docker build --quiet --tag $(IMAGE) . >/dev/null

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions action.yml environment-release/action.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml examples/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(BIN)/zizmor --offline --min-severity medium --config zizmor.yml . examples/*.yml

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

# Regenerate both hashed locks (needs the package index).
lock: $(STAMP)
	cd requirements && ../$(BIN)/uv pip compile runtime.in --override overrides.txt \
		--generate-hashes --universal --quiet -o runtime.txt
	cd requirements && ../$(BIN)/uv pip compile dev.in --override overrides.txt \
		--generate-hashes --python-version 3.11 --quiet -o dev.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
