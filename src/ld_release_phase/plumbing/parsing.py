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
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from ld_release_phase import failures

from .text import Redactor, did_you_mean, human_duration
from .words import Words

BASE_URI_PRESETS = {
    "commercial": "https://app.launchdarkly.com",
    "federal": "https://app.launchdarkly.us",
    "eu": "https://app.eu.launchdarkly.com",
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
# How many of a document's problems are listed; the rest would only bury the first.
_PROBLEMS_SHOWN = 10


def problem(message: Words | str, *, about: str = "") -> PydanticCustomError:
    """An input's problem, for a person; ``about`` names the input when a check spans several.

    The words travel in the error's context, so that the surface names inputs in them its way."""
    words = Words(message)
    context: dict[str, object] = {"words": words} | ({"input": about} if about else {})
    return PydanticCustomError("action_input", str(words), context)


def problem_words(detail: Any) -> Words:
    """The words of one of pydantic's error details: a :func:`problem`'s own, else its message."""
    words = (detail.get("ctx") or {}).get("words")
    return words if isinstance(words, Words) else Words(str(detail["msg"]))


def span(low: float, high: float) -> str:
    return f"{human_duration(low)} to {human_duration(high)}"


def parse_duration(value: str, *, low: float, high: float, redactor: Redactor) -> float:
    """Seconds from ``90``, ``90s``, ``1500ms``, ``15m`` or ``1h``, between ``low`` and ``high``."""
    match = _DURATION.fullmatch(value.strip().lower())
    if not match:
        raise problem(failures.not_a_duration(redactor.quote(value)))
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not low <= seconds <= high:
        raise problem(failures.duration_out_of_range(low, high, redactor.quote(value)))
    return seconds


def parse_base_uri(value: str, redactor: Redactor) -> str:
    """A preset's address, or an ``https://`` URL (``http://`` only to a loopback address)."""
    preset = BASE_URI_PRESETS.get(value.lower())
    if preset:
        return preset
    shown = redactor.quote(value)
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise problem(failures.base_uri_malformed(shown)) from None
    if parts.scheme not in ("https", "http") or not host:
        raise problem(failures.base_uri_not_https(shown))
    if parts.username is not None or parts.query or parts.fragment or parts.path not in ("", "/"):
        raise problem(failures.base_uri_not_bare(shown))
    if parts.scheme == "http" and not is_loopback(host):
        raise problem(failures.base_uri_plain_remote(shown))
    return value.rstrip("/")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_structured(source: str, what: str) -> object:
    """A JSON or YAML document: JSON first (fast, no extra import), then YAML without aliases.

    YAML aliases (``*name``) are refused: a few kilobytes of them expand to millions of values.
    Nesting too deep for the parser is refused too, as the input error it is; ``what`` says
    what the document should have been.
    """
    try:
        return json.loads(source)
    except ValueError:
        pass
    except RecursionError:
        raise problem(failures.document_too_deep(what)) from None
    import yaml  # noqa: PLC0415 - only runs passing YAML pay for importing it

    try:
        return yaml.load(source, Loader=_loader_without_aliases())  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        said = getattr(error, "problem", None) or "invalid syntax"
        raise problem(failures.document_unreadable(where, said)) from None
    except RecursionError:
        raise problem(failures.document_too_deep(what)) from None


@functools.cache
def _loader_without_aliases() -> type:
    import yaml  # noqa: PLC0415 - see load_structured

    class SafeLoaderWithoutAliases(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                said = failures.YAML_ALIASES_REFUSED
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
            said = failures.not_a_field(title, guess, allowed)
        elif kind == "value_error":
            path = path.rstrip(".")
            said = str(detail["ctx"]["error"]) if "ctx" in detail else detail["msg"]
        else:
            shown = redactor.cut(json.dumps(detail["input"], ensure_ascii=False, default=str), 60)
            said = f"{detail['msg'][:1].lower()}{detail['msg'][1:]}; got {shown}"
        lines.append(f"{path}: {said}")
    return failures.entry_problems(lines[:_PROBLEMS_SHOWN])


Model = TypeVar("Model", bound=BaseModel)


def validate_inputs(
    model: type[Model], names: tuple[str, ...], raw: Mapping[str, str], redactor: Redactor
) -> Model:
    """Raw input strings, keyed by input name, validated as ``model``; one failure naming every
    problem otherwise. An input left empty takes its default, as the runner fills in action.yml's."""
    values = {name: value for name in names if (value := raw.get(name, "").strip())}
    try:
        return model.model_validate(values, context={"redactor": redactor})
    except ValidationError as error:
        problems = [
            (_input_named_by(model, detail), problem_words(detail))
            for detail in error.errors(include_url=False, include_input=False)
        ]
    raise failures.invalid_inputs(problems)


def _input_named_by(model: type[BaseModel], detail: Any) -> str:
    """The input an error is about: its field's alias, or the input a cross-field check names."""
    named = (detail.get("ctx") or {}).get("input")
    if named:
        return str(named)
    field = str(detail["loc"][0]) if detail["loc"] else "inputs"
    known = model.model_fields.get(field)
    return (known.alias or field) if known else field
