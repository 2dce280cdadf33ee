# The image a release publishes (and that `uses: ./` or `@main` builds in the job).
# Pinned to an exact Python and Debian release; Dependabot proposes each update.

# Build stage: install the locked packages and compile, for this Python, every module a run
# imports (see scripts/stage_image.py). Nothing of this stage but /staging reaches the image.
FROM python:3.13.3-slim-bookworm AS build
ENV PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
COPY action.yml /build/
COPY requirements/runtime.txt /build/requirements/
COPY scripts/install-runtime.sh scripts/stage_image.py /build/scripts/
COPY tools/harness.py tools/standin.py /build/tools/
COPY entrypoint.py /action/
COPY src/ /action/src/
RUN python -B /build/scripts/stage_image.py /action /staging

# The image: the base, plus the packages, the bytecode and the action from the build stage.
FROM python:3.13.3-slim-bookworm
# Unbuffered, so log lines reach the runner as they happen. Every module a run imports was
# compiled at build time, and each step's container is thrown away, so nothing is written.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=build /staging/ /
# No USER: the runner's file-command files belong to the runner's user (uid 1001, mode 0644),
# which only root in the container can write to.
ENTRYPOINT ["/usr/local/bin/python", "/action/entrypoint.py"]
