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
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, SecretStr

from ld_release_phase.plumbing.api import ApiClient, Exchange, PlannedRequest
from ld_release_phase.plumbing.clock import Clock
from ld_release_phase.plumbing.retry import Retrying, RetryPolicy
from ld_release_phase.plumbing.transport import TransportFactory
from ld_release_phase.surfaces.base import Result, Surface

Run = Callable[[Mapping[str, str], Surface, Clock, TransportFactory], Result]
Client = TypeVar("Client", bound=ApiClient)


class WouldSend:
    """A dry run's request, shown by the surface instead of sent (an event of any operation)."""

    __slots__ = ("request",)

    def __init__(self, request: PlannedRequest):
        self.request = request


class Listener:
    """An operation's events, worded by its render (``lines``) and shown by the surface; its
    client's calls and retries, shown by the surface as they are."""

    def __init__(self, surface: Surface, lines: Callable[[Any], list[str]]):
        self._surface = surface
        self._lines = lines

    def progress(self, event: object) -> None:
        if isinstance(event, WouldSend):
            self._surface.show_request(event.request)
        for line in self._lines(event):
            self._surface.say(line)

    def exchange(self, exchange: Exchange) -> None:
        self._surface.exchange(exchange)

    def retrying(self, retry: Retrying) -> None:
        self._surface.retrying(retry)


class Connection(Protocol):
    """What every operation's inputs say of reaching LaunchDarkly."""

    @property
    def base_uri(self) -> str: ...
    @property
    def access_token(self) -> SecretStr: ...
    @property
    def max_retries(self) -> int: ...
    @property
    def request_timeout(self) -> float: ...


def connect(
    client: type[Client],
    inputs: Connection,
    listener: Listener,
    *,
    surface: Surface,
    clock: Clock,
    transport: TransportFactory,
) -> Client:
    """The operation's client, on the transport to the inputs' address, with their retries."""
    return client(
        transport(inputs.base_uri, inputs.access_token.get_secret_value()),
        policy=RetryPolicy(max_retries=inputs.max_retries, timeout=inputs.request_timeout),
        listener=listener,
        redactor=surface.redactor,
        clock=clock,
    )


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
