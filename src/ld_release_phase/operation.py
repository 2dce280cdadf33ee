"""What an operation gives the entry: its name, its inputs, and how to run it on a surface.

Each family of operations (``phases``, the first action's; ``environment_releases``, the
second's) declares one :class:`Operation` in its ``step`` module; :mod:`.cli` lists them, picks
the one a run asks for, and builds the command's flags and help from it. Adding an operation is
a room of its own and one line in that list. An operation listed by its module alone
(:meth:`Operation.lazy`) is imported only by the runs that use it, so one action's step does
not pay for building another's models.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from pydantic import BaseModel

from ld_release_phase.plumbing.clock import Clock
from ld_release_phase.plumbing.transport import TransportFactory
from ld_release_phase.surfaces.base import Result, Surface

Run = Callable[[Mapping[str, str], Surface, Clock, TransportFactory], Result]


class _Declared:
    __slots__ = ("inputs", "names", "required", "run")

    def __init__(self, inputs: type[BaseModel], required: tuple[str, ...], run: Run):
        self.inputs = inputs
        self.names: tuple[str, ...] = tuple(
            field.alias or name for name, field in inputs.model_fields.items()
        )
        self.required = required
        self.run = run


class Operation:
    __slots__ = ("_declared", "_module", "command", "description")

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
        self._declared: _Declared | None = _Declared(inputs, required, run)
        self._module = ""

    @classmethod
    def lazy(cls, *, command: str, description: str, module: str) -> Operation:
        """The operation ``module`` declares as ``OPERATION``, imported when first used."""
        operation = cls.__new__(cls)
        operation.command, operation.description = command, description
        operation._declared, operation._module = None, module
        return operation

    @property
    def _spec(self) -> _Declared:
        if self._declared is None:
            declared: Operation = importlib.import_module(self._module).OPERATION
            self._declared = declared._spec
        return self._declared

    @property
    def inputs(self) -> type[BaseModel]:
        return self._spec.inputs

    @property
    def names(self) -> tuple[str, ...]:
        return self._spec.names

    @property
    def required(self) -> tuple[str, ...]:
        return self._spec.required

    @property
    def run(self) -> Run:
        return self._spec.run
