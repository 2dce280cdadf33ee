# The image a release publishes (and that `uses: ./` or `@main` builds in the job).
# Pinned to an exact Python and Debian release; Dependabot proposes each update.
FROM python:3.13.3-slim-bookworm

# Unbuffered, so log lines reach the runner as they happen; bytecode is compiled at build
# time below, so nothing is written at run time.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /action
COPY requirements/runtime.txt requirements/runtime.txt
COPY scripts/install-runtime.sh scripts/install-runtime.sh
RUN sh scripts/install-runtime.sh /usr/local/bin/python

COPY entrypoint.py ./
COPY src/ src/
RUN python -m compileall -q /action/src

# No USER: the runner's file-command files are owned by root.
ENTRYPOINT ["/usr/local/bin/python", "/action/entrypoint.py"]
