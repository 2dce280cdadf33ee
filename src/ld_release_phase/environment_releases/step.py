"""The environment-release operation on a surface: inputs in, the core carried out, its
progress and result handed to the surface."""

from __future__ import annotations

from collections.abc import Mapping

from ld_release_phase.operation import Operation
from ld_release_phase.plumbing.api import Exchange
from ld_release_phase.plumbing.clock import Clock
from ld_release_phase.plumbing.retry import Retrying, RetryPolicy
from ld_release_phase.plumbing.transport import TransportFactory
from ld_release_phase.surfaces.base import Result, Surface

from . import render
from .client import ReleasesClient
from .core import carry_out
from .events import Progress, WouldSend
from .inputs import REQUIRED_INPUTS, ReleaseInputs, parse_inputs


class _Listener:
    def __init__(self, surface: Surface):
        self._surface = surface

    def progress(self, event: Progress) -> None:
        if isinstance(event, WouldSend):
            self._surface.show_request(event.request)
        for line in render.lines(event):
            self._surface.say(line)

    def exchange(self, exchange: Exchange) -> None:
        self._surface.exchange(exchange)

    def retrying(self, retry: Retrying) -> None:
        self._surface.retrying(retry)


def run(raw: Mapping[str, str], surface: Surface, clock: Clock, transport: TransportFactory) -> Result:
    """Validate, carry out and render one environment-release step; raises its Failure."""
    inputs = parse_inputs(raw, redactor=surface.redactor)
    surface.check_files()
    listener = _Listener(surface)
    client = ReleasesClient(
        transport(inputs.base_uri, inputs.access_token.get_secret_value()),
        policy=RetryPolicy(max_retries=inputs.max_retries, timeout=inputs.request_timeout),
        listener=listener,
        redactor=surface.redactor,
        clock=clock,
    )
    return render.result(carry_out(inputs, client, listener.progress, clock), inputs)


OPERATION = Operation(
    command="environment-release",
    description="Start, stop or read a LaunchDarkly environment release (beta).",
    inputs=ReleaseInputs,
    required=REQUIRED_INPUTS,
    run=run,
)
