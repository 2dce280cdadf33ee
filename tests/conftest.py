from __future__ import annotations

import functools
import json
import os
import subprocess
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from hypothesis import settings

from harness import TOKEN
from oracle_releases import check_traffic
from standin import StandIn

# CI replays the same examples every run, so a submission's result does not depend on luck;
# local runs keep exploring new ones (and remember failures in .hypothesis/).
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@functools.cache
def _oracle() -> ModuleType:
    """LaunchDarkly's generated models: slow to import, so once per session, in tests only."""
    from launchdarkly_api import models

    module: ModuleType = models
    return module


# Fields the live service was recorded leaving out, though the spec marks them required: the
# oracle gets stand-ins for these alone, so every other field is still checked.
_LIVE_OMISSIONS = {"_audiences": [], "_creationDate": 0}


def assert_matches_launchdarkly(standin: StandIn) -> None:
    """Every body the action sent, and every answer served, has LaunchDarkly's shape."""
    models = _oracle()
    for record in standin.requests:
        path = record.path.split("?", 1)[0]
        if "/environments/" in path or _is_a_flag(path):
            continue  # the environment-release endpoints: checked by oracle_releases below
        if "/release-pipelines/" in path:
            if record.status == 200 and not record.scripted:
                models.ReleasePipeline.from_dict(json.loads(record.response))
            continue
        if record.method == "PUT" and record.status != 0:
            body = record.json()
            model = (
                models.CreatePipelineReleaseInput
                if path.endswith("/release")
                else models.UpdatePhaseStatusInput
            )
            # A round trip through the generated model keeps only fields LaunchDarkly knows:
            # anything lost on the way was a field the real API would silently ignore.
            assert model.from_dict(body).to_dict() == body, f"body has fields LaunchDarkly ignores: {body}"
        if record.status == 200 and not record.scripted:
            served: dict[str, Any] = json.loads(record.response)
            if standin.dialect == "live":
                served["phases"] = [_LIVE_OMISSIONS | phase for phase in served["phases"]]
            models.PipelineRelease.from_dict(served)
    check_traffic(standin.requests)


def _is_a_flag(path: str) -> bool:
    """``/api/v2/flags/{project}/{flag}``: the flag itself, not its pipeline release."""
    return path.startswith("/api/v2/flags/") and path.count("/") == 5


def _serve(dialect: str) -> Iterator[StandIn]:
    server = StandIn(token=TOKEN, dialect=dialect)
    server.add_release("demo", "new-checkout")
    server.start()
    try:
        yield server
    finally:
        server.stop()
    assert_matches_launchdarkly(server)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """The stand-in answering in the spec's status spelling (``Started``)."""
    yield from _serve("spec")


@pytest.fixture
def live_standin() -> Iterator[StandIn]:
    """The stand-in answering in the live service's kebab-case status spelling (``active``)."""
    yield from _serve("live")


@pytest.fixture(params=["live", "spec"])
def any_standin(request: pytest.FixtureRequest) -> Iterator[StandIn]:
    """The stand-in in each dialect in turn: the default path must work against both."""
    yield from _serve(request.param)


@pytest.fixture(scope="session")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for localhost, as a proxy or private CA would present."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)
