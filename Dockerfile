# The image a release publishes (and that `uses: ./` or `@main` builds in the job).
# Pinned to an exact Python and Debian release; Dependabot proposes each update.

# Build stage: install the locked packages, run each kind of run, and stage in /staging exactly
# what a run can use: the interpreter and the libraries it links, the modules the action and its
# packages can import (compiled), the packages, /action (see scripts/stage_image.py).
FROM python:3.13.3-slim-bookworm AS build
ENV PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
COPY action.yml /build/
COPY environment-release/action.yml /build/environment-release/
COPY requirements/runtime.txt /build/requirements/
COPY scripts/install-runtime.sh scripts/stage_image.py /build/scripts/
COPY tools/container.py tools/harness.py tools/standin.py tools/standin_releases.py /build/tools/
COPY entrypoint.py /action/
COPY src/ /action/src/
RUN python -B /build/scripts/stage_image.py /action /staging

# The image: nothing but what the build staged. No shell, no package manager.
FROM scratch
# Python's is the one folder with a program in it. Unbuffered, so log lines reach the runner as
# they happen. Everything a run can import is compiled, and each step's container is thrown
# away, so nothing is written.
ENV PATH=/usr/local/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=build /staging/ /
# No USER: the runner's file-command files belong to the runner's user (uid 1001, mode 0644),
# which only root in the container can write to.
ENTRYPOINT ["/usr/local/bin/python", "/action/entrypoint.py"]
