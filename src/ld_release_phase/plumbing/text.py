"""Text that reaches a person or a later step, made safe in one order: redact, then cut, then escape.

Every piece of text this action shows may hold something from outside (LaunchDarkly's answers,
inputs, the environment). Redacting after cutting would leave a token's prefix at the cut, and
redacting after escaping would miss a token whose characters were escaped, so each method of
:class:`Redactor` that cuts or escapes redacts first. The runner owns the redactor and registers
the access token in it before anything is printed; the layers that quote or cut text from
outside (the inputs, the client) are handed the same redactor.
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from urllib.parse import quote as percent_encode

REDACTED = "***"
# A secret shorter than this is not redacted as a substring: it would shred ordinary words.
# (The runner's own mask still hides it.)
MIN_SECRET_LENGTH = 4
# The longest log line or annotation this action writes; GitHub shows far less on one line.
LINE_LIMIT = 2000

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
# The runner acts on "##[name]" anywhere in a line that is not a "::" command.
_LEGACY_COMMAND = "##["
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


class Redactor:
    """The secrets of one run, and the text operations that must not show them."""

    def __init__(self) -> None:
        self._secrets: list[str] = []

    def register(self, secret: str) -> None:
        """Redact ``secret`` from all text shown from now on, in every spelling it could take."""
        if len(secret) < MIN_SECRET_LENGTH:
            return
        forms = {secret, json.dumps(secret)[1:-1], escape_markdown(secret), *_encoded_forms(secret)}
        self._secrets.extend(forms - set(self._secrets))
        self._secrets.sort(key=len, reverse=True)  # longest first: a secret's part never splits it

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def clean(self, text: str) -> str:
        """Redacted, and writable as UTF-8: a lone surrogate (from a JSON ``\\ud800``) becomes U+FFFD."""
        return self.redact(_LONE_SURROGATE.sub("\ufffd", text))

    def cut(self, text: str, limit: int) -> str:
        """Redacted, then at most ``limit`` characters, saying how much was cut."""
        text = self.clean(text)
        if len(text) <= limit:
            return text
        return f"{text[:limit]}… [{len(text) - limit} more characters cut]"

    def quote(self, value: str, limit: int = 80) -> str:
        """A value echoed back: redacted, cut, then JSON-quoted so it shows as one inert line."""
        text = self.clean(value)
        shown = text if len(text) <= limit else text[:limit] + "..."
        return json.dumps(shown, ensure_ascii=False)

    def one_line(self, text: str, limit: int = LINE_LIMIT) -> str:
        """One log line from text of any origin: redacted, cut, line breaks and control characters
        shown as escapes (so no line of it can start a command), and ``##[`` made inert."""
        return neutralise(fold(self.cut(text, limit)))

    def markdown(self, text: str, limit: int = 500) -> str:
        """Text from outside, inert inside Markdown and a table cell: redacted, cut, invisible
        and control characters shown as escapes (so a line break cannot end a cell, nor a bidi
        override reorder one), then escaped."""
        flat = " ".join(fold(self.cut(text, limit)).split())
        return escape_markdown(flat)


def _encoded_forms(secret: str) -> set[str]:
    """The secret as a URL or base64 would carry it, as the runner's own mask knows it.

    Percent-encoded: as URL encoders write it, and with every byte escaped (either case of hex).
    Base64: a secret inside a longer encoded text starts at one of three byte alignments; for
    each, the runner's form (padded, as if the secret ended the text) and the part of it that
    the secret's bytes alone decide, whatever comes after them.
    """
    raw = secret.encode()
    every_byte = "".join(f"%{byte:02X}" for byte in raw)
    forms = {percent_encode(secret, safe=""), every_byte, every_byte.lower()}
    for shift in range(3):
        aligned = raw[shift:] if len(raw) > shift else raw
        whole = aligned[: len(aligned) - len(aligned) % 3]
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms |= {encode(aligned).decode(), encode(whole).decode()}
    # Too short to be told from ordinary text, an encoded form is left to the runner's mask.
    return {form for form in forms if len(form) >= 2 * MIN_SECRET_LENGTH}


def fold(text: str) -> str:
    """Line breaks and every other character that does not print shown as escapes: one line,
    whatever came in. That is control characters (ANSI escapes, BEL), invisible ones (zero-width
    spaces, soft hyphens, bidi overrides, tag characters) and spaces other than the space
    (a no-break space): what a reader cannot see, or would see wrongly, is shown as ``\\u200b``."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def visible(text: str) -> str:
    """Text of several lines, each :func:`fold`-ed: the line breaks kept, everything else that
    does not print shown as an escape."""
    return "\n".join(fold(line) for line in text.split("\n"))


def neutralise(text: str) -> str:
    """Make the runner's legacy ``##[command]`` syntax inert wherever it stands in a line."""
    return text.replace(_LEGACY_COMMAND, "##\\[")


def escape_markdown(text: str) -> str:
    # With '[' escaped no link or image can form, so '(' and ')' are safe.
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def human_duration(seconds: float) -> str:
    """A duration for log lines: 90 -> '1m30s', 5 -> '5s', 0.25 -> '0.25s'."""
    if seconds < 60:
        return f"{round(seconds, 1):g}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs else "")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def comparable(text: str) -> str:
    """Text as names are compared: Unicode-normalized (NFC), so that an accent typed as one
    character or as a letter and a combining mark is the same name."""
    return unicodedata.normalize("NFC", text)


# Common letters of Cyrillic and Greek that look like Latin ones (by code point, so that this
# file shows no look-alike itself), for telling a look-alike from a typo.
_LOOK_ALIKES = str.maketrans(
    {
        chr(code): latin
        for latin, codes in {
            "A": (0x0410, 0x0391),
            "a": (0x0430,),
            "B": (0x0412, 0x0392),
            "C": (0x0421,),
            "c": (0x0441,),
            "d": (0x0501,),
            "E": (0x0415, 0x0395),
            "e": (0x0435,),
            "H": (0x041D, 0x0397),
            "h": (0x04BB,),
            "I": (0x0406, 0x0399),
            "i": (0x0456,),
            "J": (0x0408,),
            "j": (0x0458,),
            "K": (0x041A, 0x039A),
            "M": (0x041C, 0x039C),
            "N": (0x039D,),
            "O": (0x041E, 0x039F),
            "o": (0x043E, 0x03BF),
            "P": (0x0420, 0x03A1),
            "p": (0x0440,),
            "q": (0x051B,),
            "S": (0x0405,),
            "s": (0x0455,),
            "T": (0x0422, 0x03A4),
            "v": (0x03BD,),
            "w": (0x051D,),
            "X": (0x0425, 0x03A7),
            "x": (0x0445,),
            "Y": (0x0423, 0x03A5),
            "y": (0x0443,),
            "Z": (0x0396,),
        }.items()
        for code in codes
    }
)


def _skeleton(text: str) -> str:
    """What text looks like: compatibility forms folded (NFKC: fullwidth and mathematical
    letters), common look-alike letters as the Latin ones, invisible characters left out, case
    ignored."""
    folded = unicodedata.normalize("NFKC", text).translate(_LOOK_ALIKES)
    return "".join(char for char in folded if char.isprintable() or char == " ").casefold()


def closest(word: str, choices: list[str]) -> str | None:
    """The choice ``word`` was most likely meant to be, if any: one that looks the same (other
    code points for the same letters, an invisible character), one close to it (a typo, another
    case), or the only one it begins or abbreviates (``Prod``, ``Prdn`` for ``Production``).
    Only ever a suggestion: the caller says it, and picks nothing."""
    import difflib  # noqa: PLC0415 - only a run with a mistake in it pays for importing it

    choices = [choice for choice in dict.fromkeys(choices) if choice != word]
    looks = _skeleton(word)
    alike = [choice for choice in choices if _skeleton(choice) == looks]
    if len(alike) == 1:
        return alike[0]
    key = comparable(word).casefold()
    folded: dict[str, str] = {}
    for choice in choices:
        folded.setdefault(comparable(choice).casefold(), choice)
    match = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.75)
    if match:
        return folded[match[0]]
    if not key.strip():
        return None
    for fits in (str.startswith, _abbreviates):
        found = [choice for known, choice in folded.items() if fits(known, key)]
        if len(found) == 1:
            return found[0]
    return None


def _abbreviates(name: str, short: str) -> bool:
    """Whether ``short`` is ``name``'s first letter and then others of it, in order."""
    if len(short) < 2 or not name.startswith(short[0]):
        return False
    rest = iter(name[1:])
    return all(char in rest for char in short[1:])


def did_you_mean(word: str, choices: list[str]) -> str:
    """`` Did you mean 'X'?`` for the closest choice, or nothing. When the two differ in
    characters a reader may not tell apart (other scripts, accents, invisible ones), the
    sentence names the code points that differ."""
    match = closest(word, choices)
    if match is None:
        return ""
    return f" Did you mean '{fold(match)}'?" + _differences(word, match)


def _differences(given: str, match: str) -> str:
    """The characters ``match`` has where ``given`` has others, by code point, when any of them
    is not plain printable ASCII (a typo in ASCII letters is plain to see)."""
    import difflib  # noqa: PLC0415 - see closest

    said = []
    for kind, i1, i2, j1, j2 in difflib.SequenceMatcher(None, given, match, autojunk=False).get_opcodes():
        theirs, ours = match[j1:j2], given[i1:i2]
        if kind == "equal" or all(" " <= char <= "~" for char in theirs + ours):
            continue
        if kind == "insert":
            said.append(f"it has {_code_points(theirs)}, which the value given lacks")
        elif kind == "delete":
            said.append(f"the value given has {_code_points(ours)}, which it lacks")
        else:
            said.append(f"it has {_code_points(theirs)} where the value given has {_code_points(ours)}")
    if not said:
        return ""
    more = f"; and {len(said) - 3} more differences" if len(said) > 3 else ""
    return f" By code point: {'; '.join(said[:3])}{more}."


def _code_points(text: str) -> str:
    """``U+043E CYRILLIC SMALL LETTER O``, for each character."""
    return " ".join(
        f"U+{ord(char):04X}" + (f" {name}" if (name := unicodedata.name(char, "")) else "") for char in text
    )
