"""Decisions made against a flag's release: which phase, which audiences, what to send.

Pure functions over :class:`Release`; no I/O. Each failure says what exists, so the user can
correct the input from the message alone.
"""

from __future__ import annotations

from typing import Any

from ld_release_phase.plumbing.text import comparable, did_you_mean

from . import failures
from .inputs import AudienceInput
from .models import PhaseState, Release, ReleaseAudience, ReleasePhase

NEXT_PHASE = "next"
_LIST_LIMIT = 12


def _listing(names: list[str]) -> str:
    shown = [f"'{name}'" for name in names[:_LIST_LIMIT]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "") if shown else "(none)"


def phase_names(release: Release) -> str:
    return _listing([phase.name or phase.id for phase in release.phases])


def resolve_phase(release: Release, wanted: str) -> ReleasePhase:
    """The phase ``wanted`` names: its ``_id``, its exact name, ``next``, or its name in any case.

    Names are compared Unicode-normalized: ``Qualité`` typed with one code point for the ``é``
    names the phase LaunchDarkly spells with two (``e`` and a combining accent), and back.
    """
    by_id = release.phase_by_id(wanted)
    if by_id is not None:
        return by_id
    exact = _named(release.phases, wanted)
    if len(exact) == 1:
        return exact[0]
    if not exact and wanted.lower() == NEXT_PHASE:
        return _next_phase(release)
    folded = exact or _named(release.phases, wanted, any_case=True)
    if len(folded) == 1:
        return folded[0]
    if folded:
        raise failures.phase_ambiguous(release.name, wanted, [phase.id for phase in folded])
    names = [phase.name for phase in release.phases if phase.name]
    raise failures.phase_not_found(release.name, wanted, phase_names(release), did_you_mean(wanted, names))


def _named(phases: list[ReleasePhase], wanted: str, *, any_case: bool = False) -> list[ReleasePhase]:
    """The phases named ``wanted``: byte for byte if any is, else normalized; with ``any_case``,
    normalized and in any case."""

    def key(name: str) -> str:
        return comparable(name).casefold() if any_case else comparable(name)

    exact = [] if any_case else [phase for phase in phases if phase.name == wanted]
    return exact or [phase for phase in phases if key(phase.name) == key(wanted)]


def _next_phase(release: Release) -> ReleasePhase:
    for phase in release.phases:
        if not phase.is_started and not phase.is_complete:
            return phase
    raise failures.no_next_phase(release.name)


def resolve_audience(phase: ReleasePhase, entry: AudienceInput, index: int) -> str:
    """The id of the phase's audience that an ``audiences`` entry names (id, name or environment).

    When LaunchDarkly sent the phase without its audience list (the live service does so for
    phases not yet reached), an ``audienceId`` is passed on unchecked; a name cannot be looked up.
    """
    field = f"audiences[{index}]"
    if phase.audiences is None:
        if entry.audienceId is not None:
            return entry.audienceId
        raise failures.audiences_not_listed(field, phase.name)
    available = _listing(
        [f"{aud.name} (id {aud.id}, environment {aud.environment_key or '-'})" for aud in phase.audiences]
    )
    if entry.audienceId is not None:
        matches = [aud for aud in phase.audiences if aud.id == entry.audienceId]
        label = f"audienceId '{entry.audienceId}'"
    elif entry.audienceName is not None:
        matches = _by_name(phase.audiences, entry.audienceName)
        label = f"audienceName '{entry.audienceName}'"
    else:
        matches = [aud for aud in phase.audiences if aud.environment_key == entry.environmentKey]
        label = f"environmentKey '{entry.environmentKey}'"
    if len(matches) == 1:
        return matches[0].id
    guess = ""
    if not matches and entry.audienceName is not None:
        guess = did_you_mean(entry.audienceName, [aud.name for aud in phase.audiences])
    elif not matches and entry.environmentKey is not None:
        guess = did_you_mean(entry.environmentKey, [aud.environment_key for aud in phase.audiences])
    raise failures.audience_not_matched(
        field, label, phase.name, available, several=bool(matches), suggestion=guess
    )


def _by_name(audiences: list[ReleaseAudience], name: str) -> list[ReleaseAudience]:
    """The audiences named ``name``: exactly, else normalized, else in any case."""
    exact = [aud for aud in audiences if aud.name == name]
    same = exact or [aud for aud in audiences if comparable(aud.name) == comparable(name)]
    return same or [
        aud for aud in audiences if comparable(aud.name).casefold() == comparable(name).casefold()
    ]


def request_body(
    status: str, phase: ReleasePhase, audiences: tuple[AudienceInput, ...] | None
) -> dict[str, Any]:
    """The PUT body: ``status`` as spelt, plus ``audiences`` exactly as given, names resolved to ids."""
    body: dict[str, Any] = {"status": status}
    if audiences is not None:
        body["audiences"] = [
            {"audienceId": resolve_audience(phase, entry, index), **entry.configuration()}
            for index, entry in enumerate(audiences)
        ]
    return body


def already_in(phase: ReleasePhase, requested: PhaseState) -> bool:
    """Whether the phase already stands where the request would put it (so no write is needed).

    A completed phase counts as started: LaunchDarkly completes a phase when a later one starts,
    and a re-run of a "start this phase" step should not try to undo that. A paused phase has
    not: starting it again is a real change.
    """
    if requested is PhaseState.STARTED:
        return phase.is_started
    return phase.state is requested
