"""What happens on the wire, as raw sockets on loopback produce it (``tools/wire.py``): each
failure is said and retried for what it is, not for which exception of requests carries it.

The runs are ``entrypoint.py`` in a child process, as the runner starts the container.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from expect import assert_clean, assert_clean_failure, assert_clean_success
from harness import ActionRun, inputs_for, run_entrypoint
from standin import StandIn
from wire import (
    ANSWER,
    BROKEN_TLS_BODY,
    CORRUPT_GZIP,
    CUT_HANDSHAKE,
    DISAGREEING_TLS,
    PLAIN_ON_TLS,
    RESET_HANDSHAKE,
    TWO_LENGTHS,
    Act,
    WireServer,
    interim,
)


def retry_lines(run: ActionRun) -> list[str]:
    return [line for line in run.log_lines if line.startswith("Retrying:")]


def methods(standin: StandIn) -> list[str]:
    return [record.method for record in standin.requests]


@pytest.mark.parametrize("cut", [CUT_HANDSHAKE, RESET_HANDSHAKE], ids=["closed", "reset"])
def test_a_connection_cut_during_the_tls_handshake_is_a_dropped_connection_and_retried(
    live_standin: StandIn, private_ca: tuple[str, str], tmp_path: Path, cut: Act
) -> None:
    with WireServer(live_standin, [cut], tls=private_ca) as server:
        run = run_entrypoint(inputs_for(server.url), tmp_path, {"REQUESTS_CA_BUNDLE": private_ca[0]})

    assert_clean_success(run)
    assert run.outputs["started"] == "true"
    (retried,) = retry_lines(run)
    assert "connection failed" in retried
    assert "certificate" not in run.everything()
    assert methods(live_standin) == ["GET", "PUT"]


def test_tls_broken_off_while_the_answer_is_read_is_a_dropped_connection_and_retried(
    live_standin: StandIn, private_ca: tuple[str, str], tmp_path: Path
) -> None:
    with WireServer(live_standin, [BROKEN_TLS_BODY], tls=private_ca) as server:
        run = run_entrypoint(inputs_for(server.url), tmp_path, {"REQUESTS_CA_BUNDLE": private_ca[0]})

    assert_clean_success(run)
    (retried,) = retry_lines(run)
    assert "connection failed (broken off while the answer was read" in retried
    assert methods(live_standin) == ["GET", "GET", "PUT"]


def test_a_put_whose_fresh_connection_is_cut_in_the_handshake_is_read_again_then_sent(
    live_standin: StandIn, private_ca: tuple[str, str], tmp_path: Path
) -> None:
    with WireServer(live_standin, [ANSWER, CUT_HANDSHAKE], tls=private_ca) as server:
        run = run_entrypoint(inputs_for(server.url), tmp_path, {"REQUESTS_CA_BUNDLE": private_ca[0]})

    assert_clean_success(run)
    # The cut PUT never arrived; the read after it found the phase not started, so it was sent.
    assert methods(live_standin) == ["GET", "GET", "PUT"]
    assert (run.outputs["status"], run.outputs["changed"]) == ("active", "true")


def test_a_plain_http_server_on_an_https_address_is_said_so_and_not_retried(
    live_standin: StandIn, private_ca: tuple[str, str], tmp_path: Path
) -> None:
    with WireServer(live_standin, [], tls=private_ca, then=PLAIN_ON_TLS) as server:
        run = run_entrypoint(inputs_for(server.url), tmp_path)
        connections = server.connections

    assert_clean_failure(run, 5, "No TLS at the https address", "did not answer in TLS")
    assert "certificate" not in run.error.message
    assert "http://127.0.0.1:PORT" in run.error.message  # the hint
    assert connections == 1
    assert live_standin.requests == []


def test_a_tls_handshake_that_cannot_agree_is_said_so_and_not_retried(
    live_standin: StandIn, private_ca: tuple[str, str], tmp_path: Path
) -> None:
    with WireServer(live_standin, [], tls=private_ca, then=DISAGREEING_TLS) as server:
        run = run_entrypoint(inputs_for(server.url), tmp_path, {"REQUESTS_CA_BUNDLE": private_ca[0]})
        connections = server.connections

    assert_clean_failure(run, 5, "TLS handshake failed", "could not agree on a TLS connection")
    assert "certificate" not in run.error.message
    assert connections == 1
    assert live_standin.requests == []


@pytest.mark.parametrize("statuses", [(103,), (102,), (100, 102, 103)], ids=["103", "102", "several"])
def test_interim_answers_before_the_real_one_are_skipped(
    live_standin: StandIn, tmp_path: Path, statuses: tuple[int, ...]
) -> None:
    with WireServer(live_standin, [interim(*statuses), interim(*statuses)]) as server:
        run = run_entrypoint(inputs_for(server.url), tmp_path)

    assert_clean_success(run)
    assert (run.outputs["status"], run.outputs["changed"]) == ("active", "true")
    assert methods(live_standin) == ["GET", "PUT"]
    assert retry_lines(run) == []


@pytest.mark.parametrize("answer", [CORRUPT_GZIP, TWO_LENGTHS], ids=["corrupt gzip", "two lengths"])
def test_a_put_carried_out_but_answered_unreadably_is_read_again_not_repeated(
    live_standin: StandIn, tmp_path: Path, answer: Act
) -> None:
    with WireServer(live_standin, [ANSWER, answer]) as server:
        run = run_entrypoint(inputs_for(server.url), tmp_path)

    assert_clean_success(run)
    assert methods(live_standin) == ["GET", "PUT", "GET"]  # the start is not sent twice
    (retried,) = retry_lines(run)
    assert "was sent, but its answer cannot be read" in retried
    assert "Read again: phase 'Testing' is now active, so nothing is sent again." in run.log_lines
    assert (run.outputs["started"], run.outputs["changed"]) == ("true", "false")


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
@pytest.mark.parametrize("bundle", ["missing", "not a certificate"])
def test_a_ca_bundle_that_cannot_be_loaded_is_the_environments_error_naming_the_variable(
    live_standin: StandIn, tmp_path: Path, variable: str, bundle: str
) -> None:
    path = tmp_path / "ca.pem"
    if bundle == "not a certificate":
        path.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    with WireServer(live_standin, []) as server:
        url = server.url.replace("http://127.0.0.1", "https://localhost")
        run = run_entrypoint(inputs_for(url), tmp_path / "run", {variable: str(path)})
        connections = server.connections

    assert_clean_failure(run, 1, f"Cannot use ${variable}", str(path))
    assert "Please report" not in run.everything()
    assert "Nothing was sent to LaunchDarkly." in run.error.message
    assert connections == 0


def test_the_wire_server_answers_as_the_standin_does(live_standin: StandIn, tmp_path: Path) -> None:
    """The harness itself: with no act scripted, a step runs through it as against the stand-in."""
    with WireServer(live_standin, []) as server:
        run = run_entrypoint(inputs_for(server.url), tmp_path)

    assert_clean(run, 0)
    assert methods(live_standin) == ["GET", "PUT"]
