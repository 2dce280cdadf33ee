"""Reading the text of inputs: durations, LaunchDarkly's address, and JSON or YAML documents.

Each parser turns one raw string into a value or raises :func:`problem`, a message written for a
person (what was wrong, what would be right) that the input model attaches to the input.
Values from the user are echoed through the run's :class:`~.text.Redactor`, so a token pasted
into the wrong input is never shown.

A value is read as what it will mean where it goes, or refused: ``base-uri`` by the URL parser
that sends it; YAML as GitHub's own workflow YAML is read (1.2: ``010`` is not octal, ``yes`` is
not a boolean), a number YAML versions disagree on refused by name; a key given twice refused
rather than one of the two silently dropped.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError
from urllib3.util import parse_url

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
    """A preset's address, or an ``https://`` URL (``http://`` only to a loopback address).

    Checked by the parser that sends it (urllib3's, through requests), not by another that reads
    some URLs differently: ``urlsplit`` drops a tab or a line break inside a URL without a word.
    Spaces and control characters are refused outright.
    """
    preset = BASE_URI_PRESETS.get(value.lower())
    if preset:
        return preset
    shown = redactor.quote(value)
    if any(char.isspace() or not char.isprintable() for char in value):
        raise problem(failures.base_uri_has_spaces(shown))
    try:
        parts = parse_url(value)
    except ValueError:  # urllib3's LocationParseError
        raise problem(failures.base_uri_malformed(shown)) from None
    host = (parts.host or "").removeprefix("[").removesuffix("]")
    if parts.scheme not in ("https", "http") or not host:
        raise problem(failures.base_uri_not_https(shown))
    if parts.auth is not None or parts.query is not None or parts.fragment is not None:
        raise problem(failures.base_uri_not_bare(shown))
    if (parts.path or "/") != "/":
        raise problem(failures.base_uri_not_bare(shown))
    if parts.scheme == "http" and not is_loopback(host):
        raise problem(failures.base_uri_plain_remote(shown))
    try:  # what requests itself makes of the address it will call (the host's IDNA form, too)
        requests.PreparedRequest().prepare_url(value.rstrip("/") + "/api/v2", None)
    except (requests.RequestException, ValueError):
        raise problem(failures.base_uri_malformed(shown)) from None
    return value.rstrip("/")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _DuplicateKey(Exception):  # not a ValueError: JSON's own errors send the text on to YAML
    def __init__(self, key: object, where: str = ""):
        super().__init__(key)
        self.key = key
        self.where = where


class _NumberForm(Exception):
    def __init__(self, text: str, where: str):
        super().__init__(text)
        self.text = text
        self.where = where


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused if it names a key twice (``json`` would keep the last)."""
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise _DuplicateKey(key)
        mapping[key] = value
    return mapping


def load_structured(source: str, what: str, redactor: Redactor | None = None) -> object:
    """A JSON or YAML document: JSON first (fast, no extra import), then YAML as 1.2 reads it.

    YAML aliases (``*name``) are refused: a few kilobytes of them expand to millions of values.
    So are a key given twice in one mapping, and a YAML number in a form YAML 1.1 and 1.2 read
    differently. Nesting too deep for the parser is refused too, as the input error it is;
    ``what`` says what the document should have been.
    """
    quote = (redactor or Redactor()).quote
    try:
        return json.loads(source, object_pairs_hook=_unique_keys)
    except ValueError:
        pass
    except RecursionError:
        raise problem(failures.document_too_deep(what)) from None
    except _DuplicateKey as duplicate:
        raise problem(failures.duplicate_key(quote(str(duplicate.key)), "")) from None
    import yaml  # noqa: PLC0415 - only runs passing YAML pay for importing it

    try:
        return yaml.load(source, Loader=_loader())  # noqa: S506 - a SafeLoader
    except _DuplicateKey as duplicate:
        raise problem(failures.duplicate_key(quote(str(duplicate.key)), duplicate.where)) from None
    except _NumberForm as number:
        raise problem(failures.yaml_number_form(quote(number.text), number.where)) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        said = getattr(error, "problem", None) or "invalid syntax"
        raise problem(failures.document_unreadable(where, said)) from None
    except RecursionError:
        raise problem(failures.document_too_deep(what)) from None


def _at(mark: Any) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}"


# YAML 1.2's core schema, as GitHub reads workflow files: these alone are booleans and numbers.
# (YAML 1.1, PyYAML's default, also reads yes/no/on/off as booleans, 010 as octal, 1:00 as 60
# and 1_000 as 1000; in 1.2 those are text.)
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(
    r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
)
# The one spelling of an integer every YAML version reads the same: plain decimal digits.
_PLAIN_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_YAML_NUMBERS = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


@functools.cache
def _loader() -> type:
    import yaml  # noqa: PLC0415 - see load_structured

    class Yaml12Loader(yaml.SafeLoader):
        """PyYAML's safe loader with YAML 1.2's booleans and numbers, without aliases, and
        without a key given twice in one mapping."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                said = failures.YAML_ALIASES_REFUSED
                raise yaml.composer.ComposerError(None, None, said, mark)
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    key = self.construct_object(key_node)
                    if key in seen:
                        raise _DuplicateKey(key, _at(key_node.start_mark))
                    seen.add(key)
            return super().construct_mapping(node, deep)

        def construct_yaml_int(self, node: Any) -> int:
            text = str(node.value)
            if not _PLAIN_INT.fullmatch(text):
                raise _NumberForm(text, _at(node.start_mark))
            return int(text)

        def construct_yaml_bool(self, node: Any) -> bool:
            return str(node.value).lower() == "true"

    Yaml12Loader.yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag not in _YAML_NUMBERS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
    Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
    Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789"))
    Yaml12Loader.add_constructor("tag:yaml.org,2002:int", Yaml12Loader.construct_yaml_int)
    Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", Yaml12Loader.construct_yaml_bool)
    return Yaml12Loader


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
