"""The phase operation on a surface: inputs in, the core carried out, its progress and result
handed to the surface as it wants them."""

from __future__ import annotations

from collections.abc import Mapping

from ld_release_phase.operation import Listener, Operation, connect
from ld_release_phase.plumbing.clock import Clock
from ld_release_phase.plumbing.transport import TransportFactory
from ld_release_phase.surfaces.base import Result, Surface

from . import render
from .client import PipelineClient
from .core import carry_out
from .inputs import REQUIRED_INPUTS, ActionInputs, parse_inputs


def run(raw: Mapping[str, str], surface: Surface, clock: Clock, transport: TransportFactory) -> Result:
    """Validate, carry out and render one phase step; raises the Failure it ends with."""
    inputs = parse_inputs(raw, redactor=surface.redactor)
    surface.check_files()
    listener = Listener(surface, render.lines)
    client = connect(PipelineClient, inputs, listener, surface=surface, clock=clock, transport=transport)
    return render.result(carry_out(inputs, client, listener.progress, clock), inputs)


OPERATION = Operation(
    command="phase",
    description="Start a phase of a LaunchDarkly release pipeline.",
    inputs=ActionInputs,
    required=REQUIRED_INPUTS,
    run=run,
)
