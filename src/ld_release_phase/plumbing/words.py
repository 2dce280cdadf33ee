"""Sentences that name inputs, with the naming left to whoever shows them.

A sentence such as "Set 'phase' to one of these names" reads "Set --phase to one of these
names" on a command line. The sentence is written once, as :class:`Words`: plain text with each
input held as a :class:`Ref`; the surface that shows it (:mod:`..surfaces`) decides how a
reference reads. Nothing is hidden inside the text, so text from outside cannot pose as one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

# The token's two names: the input a workflow step gives, the variable the command reads.
TOKEN_INPUT = "access-token"  # noqa: S105 - a name, not a secret
TOKEN_ENV = "LD_ACCESS_TOKEN"  # noqa: S105 - a name, not a secret


class Ref:
    """An input named in a sentence, optionally with a value to give it (``phase: next``).

    A plain class: every run builds this module, and a named tuple or dataclass costs its
    creation at import."""

    __slots__ = ("input", "value")

    def __init__(self, input_name: str, value: str | None = None):
        self.input = input_name
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ref) and (self.input, self.value) == (other.input, other.value)

    def __hash__(self) -> int:
        return hash((self.input, self.value))

    def __repr__(self) -> str:
        return f"Ref({self.input!r}, {self.value!r})"


class TokenSource(Ref):
    """How to give the access token, said the surface's way: from a secret in a workflow, from
    an environment variable on a command line."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(TOKEN_INPUT)


Part = str | Ref
Naming = Callable[[Ref], str]


class Words(tuple[Part, ...]):
    """A sentence (or several lines) as text and input references, in order."""

    __slots__ = ()

    def __new__(cls, *parts: Part | Words) -> Words:
        flat: list[Part] = []
        for part in parts:
            if isinstance(part, Words):
                flat.extend(part)
            elif part != "":
                flat.append(part)
        return super().__new__(cls, flat)

    def __add__(self, other: object) -> Words:
        if isinstance(other, str | Ref | Words):
            return Words(self, other)
        return NotImplemented

    def __radd__(self, other: object) -> Words:
        if isinstance(other, str | Ref):
            return Words(other, self)
        return NotImplemented

    # Words are not text: comparing them with a string, or looking for one in them, would
    # quietly compare parts. Render them first (``str(words)``, or a surface's ``text``).
    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            raise TypeError("render Words before searching them: str(words)")
        return super().__contains__(item)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            raise TypeError("render Words before comparing them with text: str(words)")
        return super().__eq__(other)

    __hash__ = tuple.__hash__

    def join(self, items: Iterable[Part | Words]) -> Words:
        """The items with these words between them, as ``str.join``."""
        joined: list[Part | Words] = []
        for index, item in enumerate(items):
            if index:
                joined.append(self)
            joined.append(item)
        return Words(*joined)

    def render(self, naming: Naming) -> str:
        return "".join(part if isinstance(part, str) else naming(part) for part in self)

    def __str__(self) -> str:
        """As a workflow names inputs: for debugging and tests; surfaces render with their own."""
        return self.render(quoted)


def ref(input_name: str, value: str | None = None) -> Ref:
    return Ref(input_name, value)


def quoted(reference: Ref) -> str:
    """How a workflow step names an input: ``'phase'``, or ``phase: next`` with a value."""
    if reference.value is None:
        return f"'{reference.input}'"
    return f"{reference.input}: {reference.value}"
