"""Faults through the stand-in: what is retried, how long it waits, and how it ends.

These run the action in-process (the same ``main`` the entrypoint calls) with a fake clock,
so a 10-second rate-limit wait is asserted, not slept.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from expect import assert_clean, assert_clean_failure, assert_clean_success
from harness import TOKEN, ActionRun, FakeClock, inputs_for, run_entrypoint, run_in_process
from standin import Fault, StandIn


def retry_lines(run: ActionRun) -> list[str]:
    return [line for line in run.log_lines if line.startswith("Retrying:")]


def test_retry_after_seconds_is_honoured(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()
    standin.fail_next(Fault(429, headers={"Retry-After": "7"}, method="PUT"))

    run = run_in_process(inputs_for(standin.url), tmp_path, clock, standin=standin)

    assert run.returncode == 0
    assert len(clock.sleeps) == 1
    assert 7.0 <= clock.sleeps[0] <= 8.0
    assert [r.method for r in standin.requests] == ["GET", "PUT", "PUT"]
    assert run.outputs["started"] == "true"
    (line,) = retry_lines(run)
    assert "HTTP 429" in line and "retrying in 7." in line and "attempt 2 of 6" in line


def test_retry_after_as_an_http_date_is_honoured(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock(wall=1_700_000_000.0)
    standin.fail_next(Fault(429, headers={"Retry-After": "Tue, 14 Nov 2023 22:13:40 GMT"}, method="GET"))

    run = run_in_process(inputs_for(standin.url), tmp_path, clock, standin=standin)

    assert run.returncode == 0
    assert 20.0 <= clock.sleeps[0] <= 21.0  # the date is 20 s after the fake clock's "now"


@pytest.mark.parametrize(
    ("reset_in", "low", "high"),
    [(12, 12.0, 13.5), (-3600, 0.0, 0.25)],  # in the past: clock skew, the "reset" already passed
    ids=["in 12 s", "an hour ago"],
)
def test_ratelimit_reset_epoch_millis_is_waited_for(
    standin: StandIn, tmp_path: Path, reset_in: int, low: float, high: float
) -> None:
    clock = FakeClock()
    reset_ms = int((clock.time() + reset_in) * 1000)
    standin.fail_next(Fault(429, headers={"X-Ratelimit-Reset": str(reset_ms)}, method="PUT"))

    run = run_in_process(inputs_for(standin.url), tmp_path, clock, standin=standin)

    assert run.returncode == 0
    assert low <= clock.sleeps[0] <= high


def test_rate_limit_without_headers_waits_about_ten_seconds(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()
    standin.fail_next(Fault(429, method="PUT"))

    run = run_in_process(inputs_for(standin.url), tmp_path, clock, standin=standin)

    assert run.returncode == 0
    assert 10.0 <= clock.sleeps[0] <= 11.0


def test_optimistic_locking_conflict_is_retried(standin: StandIn, tmp_path: Path) -> None:
    body = json.dumps({"code": "optimistic_locking_error", "message": "conflict", "id": "r-409"}).encode()
    standin.fail_next(Fault(409, body, method="PUT"))

    run = run_in_process(inputs_for(standin.url), tmp_path, FakeClock(), standin=standin)

    assert run.returncode == 0
    assert "optimistic_locking_error" in retry_lines(run)[0]
    assert len(standin.writes) == 2


def test_server_errors_back_off_exponentially_with_jitter(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()
    standin.fail_next(*[Fault(status, method="PUT") for status in (500, 502, 503, 504)])

    run = run_in_process(inputs_for(standin.url), tmp_path, clock, standin=standin)

    assert run.returncode == 0
    assert len(clock.sleeps) == 4
    for attempt, slept in enumerate(clock.sleeps):
        ceiling = 0.5 * 2**attempt
        assert ceiling / 2 <= slept <= ceiling
    assert len(retry_lines(run)) == 4


def test_dropped_connection_is_retried(standin: StandIn, tmp_path: Path) -> None:
    standin.fail_next(Fault(drop=True, method="PUT"))

    run = run_in_process(inputs_for(standin.url), tmp_path, FakeClock(), standin=standin)

    assert run.returncode == 0
    assert "connection failed" in retry_lines(run)[0]


def test_read_timeout_is_retried(standin: StandIn, tmp_path: Path) -> None:
    standin.fail_next(Fault(200, delay=0.6, method="GET"))

    run = run_in_process(
        inputs_for(standin.url, request_timeout="0.2s"), tmp_path, FakeClock(), standin=standin
    )

    assert run.returncode == 0
    assert "no complete answer within 0.2s" in retry_lines(run)[0]


def test_when_retries_run_out_one_error_names_the_last_failure(standin: StandIn, tmp_path: Path) -> None:
    standin.fail_next(
        Fault(503, method="PUT"),
        Fault(
            429,
            json.dumps({"code": "rate_limited", "message": "slow down"}).encode(),
            {"Retry-After": "1"},
            method="PUT",
        ),
    )

    run = run_in_process(inputs_for(standin.url, max_retries="1"), tmp_path, FakeClock(), standin=standin)

    assert_clean_failure(run, 5)
    assert "failed after 2 attempts: HTTP 429 rate_limited: slow down" in run.error.message
    assert "rate limiting" in run.error.message  # the hint
    assert len(standin.writes) == 2


def test_max_retries_zero_makes_a_single_attempt(standin: StandIn, tmp_path: Path) -> None:
    standin.fail_next(Fault(500, method="GET"))

    run = run_in_process(inputs_for(standin.url, max_retries="0"), tmp_path, FakeClock(), standin=standin)

    assert_clean_failure(run, 5)
    assert "failed after 1 attempt:" in run.error.message
    assert len(standin.requests) == 1


@pytest.mark.parametrize("status", [400, 404, 405, 410, 422])
def test_other_client_errors_are_never_retried(standin: StandIn, tmp_path: Path, status: int) -> None:
    standin.fail_next(Fault(status, method="PUT"))

    run = run_in_process(inputs_for(standin.url), tmp_path, FakeClock(), standin=standin)

    assert run.returncode in (4, 5)
    assert len(standin.writes) == 1
    assert retry_lines(run) == []


def test_a_wait_longer_than_the_retry_budget_fails_at_once(standin: StandIn, tmp_path: Path) -> None:
    clock = FakeClock()
    standin.fail_next(Fault(429, headers={"Retry-After": "3600"}, method="PUT"))

    run = run_in_process(inputs_for(standin.url), tmp_path, clock, standin=standin)

    assert_clean_failure(run, 5)
    assert clock.sleeps == []
    assert "failed after 1 attempt" in run.error.message


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html>Bad gateway</html>", "is not JSON: <html>Bad gateway</html>"),
        (b"", "is not JSON: (empty body)"),
        (b'{"name": "x"}', "is not a release: phases: Field required"),
        (b'{"phases": [{"_name": "no id"}]}', "is not a release: phases.0._id: Field required"),
        (b"[1, 2]", "is not a release"),
    ],
)
def test_malformed_answers_are_api_failures_not_tracebacks(
    standin: StandIn, tmp_path: Path, body: bytes, says: str
) -> None:
    standin.fail_next(Fault(200, body, method="GET"))

    run = run_in_process(inputs_for(standin.url), tmp_path, FakeClock(), standin=standin)

    assert_clean_failure(run, 5)
    assert says in run.error.message
    assert standin.writes == []


def test_update_answer_without_the_phase_is_an_api_failure(standin: StandIn, tmp_path: Path) -> None:
    standin.fail_next(Fault(200, json.dumps({"name": "x", "phases": []}).encode(), method="PUT"))

    run = run_in_process(inputs_for(standin.url), tmp_path, FakeClock(), standin=standin)

    assert_clean_failure(run, 5)
    assert "does not include phase 'Testing'" in run.error.message


def test_redirects_are_not_followed_so_the_token_stays_home(standin: StandIn, tmp_path: Path) -> None:
    elsewhere = StandIn(token=TOKEN)
    elsewhere.add_release("demo", "new-checkout")
    elsewhere.start()
    try:
        standin.fail_next(
            Fault(307, b"", {"Location": f"{elsewhere.url}/api/v2/flags/demo/new-checkout/release"})
        )
        run = run_in_process(inputs_for(standin.url), tmp_path, FakeClock())
    finally:
        elsewhere.stop()

    assert_clean_failure(run, 5)
    assert "HTTP 307" in run.error.message and "not followed" in run.error.message
    assert elsewhere.requests == []


def test_oversized_answers_are_refused(standin: StandIn, tmp_path: Path) -> None:
    standin.fail_next(Fault(200, b"[" + b"0," * (5 * 1024 * 1024) + b"0]", method="GET"))

    run = run_in_process(inputs_for(standin.url), tmp_path, FakeClock(), standin=standin)

    assert_clean_failure(run, 5)
    assert "larger than 8 MiB" in run.error.message


def test_unreachable_host_is_retried_then_fails_with_a_network_hint(tmp_path: Path) -> None:
    clock = FakeClock()
    run = run_in_process(inputs_for("http://127.0.0.1:9", max_retries="2"), tmp_path, clock)

    assert_clean_failure(run, 5)
    assert "failed after 3 attempts: connection failed" in run.error.message
    assert "network" in run.error.message
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("body_only", [False, True], ids=["slow headers", "slow body"])
def test_a_server_that_trickles_its_answer_cannot_hold_the_step(
    standin: StandIn, tmp_path: Path, body_only: bool
) -> None:
    release = json.dumps(standin.served(standin.release())).encode()
    # At 20 bytes a second the answer would take minutes; each attempt may take one second.
    standin.fail_next(*[Fault(200, release, trickle=0.05, trickle_body=body_only, method="GET")] * 2)

    run = run_entrypoint(inputs_for(standin.url, request_timeout="1s", max_retries="1"), tmp_path)

    assert_clean(run, 5)
    assert "failed after 2 attempts: no complete answer within 1s" in run.error.message
    assert standin.writes == []


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Ratelimit-Reset": "9" * 400},
        {"Retry-After": "1e400"},
        {"Retry-After": "NaN"},
        {"Retry-After": "-5", "X-Ratelimit-Reset": "-5"},
        {"Retry-After": "Tue, 14 Nov 99999 22:13:40 GMT"},
    ],
)
def test_an_absurd_rate_limit_header_is_a_clean_failure(
    standin: StandIn, tmp_path: Path, headers: dict[str, str]
) -> None:
    standin.fail_next(Fault(429, headers=headers, method="GET"))

    run = run_entrypoint(inputs_for(standin.url, max_retries="0"), tmp_path)

    assert_clean(run, 5)
    assert "HTTP 429" in run.error.message


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Ratelimit-Reset": "\u00b2"},  # superscript two: str.isdigit() says yes, int() says no
        {"X-Ratelimit-Reset": "\u0661\u0667\u0660\u0660"},  # Arabic-Indic digits
        {"Retry-After": "\u0661\u0662"},  # float() reads these as 12
        {"Retry-After": "1_2"},  # and this as 12
    ],
    ids=["superscript", "arabic-indic reset", "arabic-indic retry-after", "underscore"],
)
def test_rate_limit_headers_count_ascii_digits_only(
    standin: StandIn, tmp_path: Path, headers: dict[str, str]
) -> None:
    clock = FakeClock()
    standin.fail_next(Fault(429, headers=headers, method="PUT"))

    run = run_in_process(inputs_for(standin.url), tmp_path, clock, standin=standin)

    assert_clean_success(run)
    assert 10.0 <= clock.sleeps[0] <= 11.0  # no advice: the default wait
    assert len(standin.writes) == 2


def test_a_lone_surrogate_from_launchdarkly_is_shown_not_crashed_on(standin: StandIn, tmp_path: Path) -> None:
    standin.rename_phase("Testing", to="Testing \ud800")
    standin.rename_release(to="Pipeline \udfff")

    ok = run_entrypoint(inputs_for(standin.url, phase="next"), tmp_path / "a")
    standin.fail_next(Fault(400, b'{"code": "x\\ud800", "message": "bad \\udc00"}', method="PUT"))
    failed = run_entrypoint(inputs_for(standin.url, phase="QA"), tmp_path / "b")

    assert_clean(ok, 0)
    assert ok.outputs["phase-name"] == "Testing \ufffd"
    assert_clean(failed, 5)
    assert "bad \ufffd" in failed.error.message


@pytest.mark.parametrize(
    "fault", [Fault(409, method="PUT"), Fault(drop=True, method="PUT")], ids=["409", "drop"]
)
def test_a_phase_moved_on_meanwhile_is_read_again_and_left_alone(
    live_standin: StandIn, tmp_path: Path, fault: Fault
) -> None:
    live_standin.fail_next(fault)

    def another_job_moves_it_on() -> None:  # while this step's PUT is in flight
        live_standin.start_phase("Testing")
        live_standin.start_phase("QA")

    live_standin.on_read(2, another_job_moves_it_on)

    run = run_in_process(
        inputs_for(live_standin.url, phase="Testing"), tmp_path, FakeClock(), standin=live_standin
    )

    assert_clean_success(run)
    assert [r.method for r in live_standin.requests] == ["GET", "PUT", "GET"]  # no second PUT
    assert (run.outputs["status"], run.outputs["changed"], run.outputs["started"]) == (
        "completed",
        "false",
        "true",
    )
    # Read again after the failed PUT: the phase stands where asked, and who moved it is not claimed.
    assert run.annotations("notice")[0].message == (
        "Phase 'Testing' is completed, as read again after a failed start; whether this step's start or "
        "another's did it cannot be told, so nothing is claimed."
    )


@pytest.mark.parametrize(
    "fault",
    [Fault(409, method="PUT", applied=True), Fault(drop=True, method="PUT", applied=True)],
    ids=["409", "carried out, answer dropped"],
)
def test_a_start_found_by_the_read_after_a_failed_put_is_not_claimed_as_this_steps_change(
    live_standin: StandIn, tmp_path: Path, fault: Fault
) -> None:
    # The phase starts while this step's PUT fails: LaunchDarkly refused it (409: another job's
    # start won), or its answer was lost. Either way this step cannot say it changed anything,
    # so a gate on `changed` opens in one job at most.
    live_standin.fail_next(fault)

    run = run_in_process(
        inputs_for(live_standin.url, phase="Testing"), tmp_path, FakeClock(), standin=live_standin
    )

    assert_clean_success(run)
    assert [r.method for r in live_standin.requests] == ["GET", "PUT", "GET"]  # not sent twice
    assert (run.outputs["status"], run.outputs["started"], run.outputs["changed"]) == (
        "active",
        "true",
        "false",
    )
    assert "Read again: phase 'Testing' is now active, so nothing is sent again." in run.log_lines


def test_changed_is_false_when_launchdarklys_answer_does_not_show_the_start(
    live_standin: StandIn, tmp_path: Path
) -> None:
    live_standin.keep_the_next_put()  # accepted, but still ready-to-start

    run = run_in_process(
        inputs_for(live_standin.url, phase="Testing"), tmp_path, FakeClock(), standin=live_standin
    )

    assert_clean_success(run)
    assert (run.outputs["changed"], run.outputs["started"], run.outputs["status"]) == (
        "false",
        "false",
        "ready-to-start",
    )
    assert run.annotations("notice")[0].message == (
        "Phase 'Testing': LaunchDarkly took the start, and shows the phase ready-to-start."
    )
