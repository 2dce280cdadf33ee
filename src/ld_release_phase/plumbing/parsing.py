"""Reading the text of inputs: durations, LaunchDarkly's address, and JSON or YAML documents.

Each parser turns one raw string into a value or raises :func:`problem`, a message written for a
person (what was wrong, what would be right) that the input model attaches to the input.
Values from the user are echoed through the run's :class:`~.text.Redactor`, so a token pasted
into the wrong input is never shown.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from .text import Redactor, did_you_mean, human_duration

BASE_URI_PRESETS = {
    "commercial": "https://app.launchdarkly.com",
    "federal": "https://app.launchdarkly.us",
    "eu": "https://app.eu.launchdarkly.com",
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
# How many of a document's problems are listed; the rest would only bury the first.
_PROBLEMS_SHOWN = 10


def problem(message: str, *, about: str = "") -> PydanticCustomError:
    """An input's problem, for a person; ``about`` names the input when a check spans several."""
    return PydanticCustomError("action_input", message, {"input": about} if about else None)


def span(low: float, high: float) -> str:
    return f"{human_duration(low)} to {human_duration(high)}"


def parse_duration(value: str, *, low: float, high: float, redactor: Redactor) -> float:
    """Seconds from ``90``, ``90s``, ``1500ms``, ``15m`` or ``1h``, between ``low`` and ``high``."""
    match = _DURATION.fullmatch(value.strip().lower())
    if not match:
        raise problem(
            f"must be a duration such as 90 (seconds), 90s, 15m or 1h; got {redactor.quote(value)}."
        )
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not low <= seconds <= high:
        raise problem(f"must be from {span(low, high)}; got {redactor.quote(value)}.")
    return seconds


def parse_base_uri(value: str, redactor: Redactor) -> str:
    """A preset's address, or an ``https://`` URL (``http://`` only to a loopback address)."""
    preset = BASE_URI_PRESETS.get(value.lower())
    if preset:
        return preset
    shown = redactor.quote(value)
    hint = (
        "Use https://<host>, one of the presets commercial, federal or eu, or http:// only to a "
        "loopback address for local testing."
    )
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise problem(f"is not a valid URL; got {shown}. {hint}") from None
    if parts.scheme not in ("https", "http") or not host:
        raise problem(f"must be an https:// URL; got {shown}. {hint}")
    if parts.username is not None or parts.query or parts.fragment or parts.path not in ("", "/"):
        raise problem(
            f"must be LaunchDarkly's address alone, without a path, credentials, a query or a fragment "
            f"(the action adds /api/v2/... itself); got {shown}. {hint}"
        )
    if parts.scheme == "http" and not is_loopback(host):
        raise problem(
            f"must not be plain http:// to a remote host (the access token would travel unencrypted); "
            f"got {shown}. {hint}"
        )
    return value.rstrip("/")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_structured(source: str) -> object:
    """A JSON or YAML document: JSON first (fast, no extra import), then YAML without aliases.

    YAML aliases (``*name``) are refused: a few kilobytes of them expand to millions of values.
    Nesting too deep for the parser is refused too, as the input error it is.
    """
    try:
        return json.loads(source)
    except ValueError:
        pass
    except RecursionError:
        raise problem("is nested too deeply to be a list of audiences.") from None
    import yaml  # noqa: PLC0415 - only runs passing YAML pay for importing it

    try:
        return yaml.load(source, Loader=_loader_without_aliases())  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        said = getattr(error, "problem", None) or "invalid syntax"
        raise problem(f"is neither valid JSON nor valid YAML{where}: {said}.") from None
    except RecursionError:
        raise problem("is nested too deeply to be a list of audiences.") from None


@functools.cache
def _loader_without_aliases() -> type:
    import yaml  # noqa: PLC0415 - see load_structured

    class SafeLoaderWithoutAliases(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                said = "aliases (*name) are not accepted; write the values out"
                raise yaml.composer.ComposerError(None, None, said, mark)
            return super().compose_node(parent, index)

    return SafeLoaderWithoutAliases


def json_type(document: object) -> str:
    """What a parsed document is, in words: "a mapping", "a string", "a date", "empty"..."""
    if document is None:
        return "empty"
    names = {dict: "a mapping", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    return names.get(type(document), f"a {type(document).__name__}")


def describe_entry_errors(
    error: ValidationError, input_name: str, models: dict[int, type[BaseModel]], redactor: Redactor
) -> str:
    """Pydantic's errors about a list of entries as ``input[0].field: problem`` lines.

    ``models`` says which model the fields at each depth of the path belong to, so that an
    unknown field is answered with the fields that model has.
    """
    lines = []
    for detail in error.errors(include_url=False):
        location = detail["loc"]
        path = input_name + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)
        kind = detail["type"]
        if kind == "extra_forbidden":
            model = models[len(location)]
            title = model.model_config.get("title") or model.__name__
            allowed = list(model.model_fields)
            guess = did_you_mean(str(location[-1]), allowed)
            said = f"is not a field of {title}.{guess} Allowed: {', '.join(allowed)}"
        elif kind == "value_error":
            path = path.rstrip(".")
            said = str(detail["ctx"]["error"]) if "ctx" in detail else detail["msg"]
        else:
            shown = redactor.cut(json.dumps(detail["input"], ensure_ascii=False, default=str), 60)
            said = f"{detail['msg'][:1].lower()}{detail['msg'][1:]}; got {shown}"
        lines.append(f"{path}: {said}")
    return "has problems:\n" + "\n".join(lines[:_PROBLEMS_SHOWN])
