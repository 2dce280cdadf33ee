"""What an operation gives the entry: its name, its inputs, and how to run it on a surface.

Each family of operations (``phases``, the first action's; later others) declares one
:class:`Operation` in its ``step`` module; :mod:`.cli` lists them, picks the one a run asks for,
and builds the command's flags and help from it. Adding an operation is a room of its own and
one line in that list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pydantic import BaseModel

from ld_release_phase.plumbing.clock import Clock
from ld_release_phase.plumbing.transport import TransportFactory
from ld_release_phase.surfaces.base import Result, Surface

Run = Callable[[Mapping[str, str], Surface, Clock, TransportFactory], Result]


class Operation:
    __slots__ = ("command", "description", "inputs", "names", "required", "run")

    def __init__(
        self,
        *,
        command: str,
        description: str,
        inputs: type[BaseModel],
        required: tuple[str, ...],
        run: Run,
    ):
        self.command = command  # the subcommand, and the ``args`` its action.yml passes
        self.description = description
        self.inputs = inputs
        self.names: tuple[str, ...] = tuple(
            field.alias or name for name, field in inputs.model_fields.items()
        )
        self.required = required
        self.run = run
