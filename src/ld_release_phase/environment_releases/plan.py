"""Decisions made against the flag before a start: which variations, which rule, what to send,
and whether a running release is this step's own. Pure functions; no I/O."""

from __future__ import annotations

import json
from typing import Any

from ld_release_phase.plumbing.text import did_you_mean

from . import failures
from .inputs import AdvancementMode, ReleaseInputs, has_kind_clause
from .models import EnvironmentRelease, Flag, FlagEnvironment, Rule, Serving, Variation

_LIST_LIMIT = 12


class Plan:
    """What a start asks for, resolved against the flag."""

    __slots__ = ("body", "original", "rule", "target")

    def __init__(self, target: Variation, original: Variation, rule: Rule | None, body: dict[str, Any]):
        self.target = target
        self.original = original
        self.rule = rule
        self.body = body


class Request:
    """What a start asks for before the original variation is known: the target and the rule,
    resolved against the flag. A release running on the rule already serves a rollout there, so
    the original is taken from what is served only once no such release is found."""

    __slots__ = ("original", "rule", "target")

    def __init__(self, target: Variation, original: Variation | None, rule: Rule | None):
        self.target = target
        self.original = original
        self.rule = rule


def listing(names: list[str]) -> str:
    shown_names = [f"'{name}'" for name in names[:_LIST_LIMIT]]
    more = len(names) - len(shown_names)
    return ", ".join(shown_names) + (f" and {more} more" if more > 0 else "") if shown_names else "(none)"


def shown(variation: Variation) -> str:
    """A variation for people: its name and value, e.g. ``Available (true)``."""
    value = json.dumps(variation.value, ensure_ascii=False)
    return f"{variation.name} ({value})" if variation.name else value


def request_of(inputs: ReleaseInputs, flag: Flag, environment: FlagEnvironment) -> Request:
    """The target, the rule and a named original, resolved; every name checked against the flag."""
    target = resolve_variation(flag, inputs.target_variation, "target-variation")
    rule = resolve_rule(environment, inputs.rule, inputs.unit) if inputs.rule else None
    original = (
        resolve_variation(flag, inputs.original_variation, "original-variation")
        if inputs.original_variation
        else None
    )
    if original is not None and original.id == target.id:
        raise failures.same_variation(shown(target))
    return Request(target, original, rule)


def plan_start(inputs: ReleaseInputs, flag: Flag, environment: FlagEnvironment, request: Request) -> Plan:
    """The start's body, every name resolved to LaunchDarkly's ids."""
    target, rule = request.target, request.rule
    original = request.original or _served_now(flag, environment, rule)
    if original.id == target.id:
        raise failures.same_variation(shown(target))
    body: dict[str, Any] = {"originalVariationId": original.id, "targetVariationId": target.id}
    if inputs.release_plan:
        body["releasePlanKey"] = inputs.release_plan
    else:
        body |= _inline(inputs, rule)
    if inputs.bypass_health_checks:
        body["bypassHealthChecks"] = [check.value for check in inputs.bypass_health_checks]
    if inputs.comment:
        body["comment"] = inputs.comment
    return Plan(target, original, rule, body)


def _inline(inputs: ReleaseInputs, rule: Rule | None) -> dict[str, Any]:
    steps = inputs.steps or ()
    if rule is not None:
        phases: list[dict[str, Any]] = [{"ruleId": rule.id, "steps": [step.body() for step in steps]}]
    else:
        phases = [
            {
                "clauses": [clause.body() for clause in phase.clauses],
                **({"description": phase.description} if phase.description is not None else {}),
                "steps": [step.body() for step in (phase.steps or steps)],
            }
            for phase in inputs.phases or ()
        ]
    body: dict[str, Any] = {"randomizationUnit": inputs.unit, "phases": phases}
    if len(phases) > 1:
        body["advancementMode"] = (inputs.advancement_mode or AdvancementMode.AUTOMATIC).value
    if inputs.metrics:
        body["metrics"] = [metric.body() for metric in inputs.metrics]
    if inputs.cleanup is not None:
        body["cleanupBehavior"] = inputs.cleanup.value
    return body


def resolve_variation(flag: Flag, wanted: str, input_name: str) -> Variation:
    """The variation ``wanted`` names: its id, its name (exact, then ignoring case), or its value
    as JSON writes it (``true``, ``"blue"`` or ``blue``, ``3``)."""
    by_id = [variation for variation in flag.variations if variation.id == wanted]
    by_name = [v for v in flag.variations if v.name == wanted] or [
        v for v in flag.variations if v.name and v.name.casefold() == wanted.casefold()
    ]
    by_value = [v for v in flag.variations if _value_text(v.value) == wanted or v.value == wanted]
    for found in (by_id, by_name, by_value):
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise failures.variation_ambiguous(input_name, wanted, [variation.id for variation in found])
    names = [v.name for v in flag.variations if v.name] + [_value_text(v.value) for v in flag.variations]
    available = listing([f"{shown(v)} (id {v.id})" for v in flag.variations])
    raise failures.variation_not_found(input_name, wanted, available, did_you_mean(wanted, names))


def _value_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def resolve_rule(environment: FlagEnvironment, wanted: str, unit: str) -> Rule:
    """The rule ``wanted`` names, by id or description; enabled and holding the kind clause."""
    by_id = [rule for rule in environment.rules if rule.id == wanted]
    described = [rule for rule in environment.rules if rule.description == wanted] or [
        rule
        for rule in environment.rules
        if rule.description and rule.description.casefold() == wanted.casefold()
    ]
    found = by_id or described
    if len(found) > 1:
        raise failures.rule_ambiguous(wanted, [rule.id for rule in found])
    if not found:
        descriptions = [rule.description for rule in environment.rules if rule.description]
        available = listing(
            [f"{rule.description or '(no description)'} (id {rule.id})" for rule in environment.rules]
        )
        raise failures.rule_not_found(wanted, available, did_you_mean(wanted, descriptions))
    rule = found[0]
    if rule.disabled:
        raise failures.rule_disabled(_rule_name(rule))
    if not has_kind_clause([clause.model_dump(by_alias=True) for clause in rule.clauses], unit):
        raise failures.rule_lacks_kind_clause(_rule_name(rule), unit)
    return rule


def _rule_name(rule: Rule) -> str:
    return f"'{rule.description}' ({rule.id})" if rule.description else rule.id


def _served_now(flag: Flag, environment: FlagEnvironment, rule: Rule | None) -> Variation:
    """What the release's rule serves today, or for new rules the flag's default rule."""
    serving: Serving | Rule | None = rule if rule is not None else environment.fallthrough
    where = f"Rule {_rule_name(rule)}" if rule is not None else "The flag's default rule"
    index = serving.variation if serving is not None else None
    if index is None or not 0 <= index < len(flag.variations):
        raise failures.original_is_a_rollout(where)
    return flag.variations[index]


def is_ours(release: EnvironmentRelease, request: Request, inputs: ReleaseInputs) -> bool:
    """Whether a running release is the one this step starts: the same target (and original,
    when one is named), and the same rule, or new rules of the same descriptions and steps. A
    plan's key is not in the release, so for a plan the variations must do."""
    if release.target_variation_id != request.target.id:
        return False
    if request.original is not None and release.original_variation_id != request.original.id:
        return False
    if inputs.release_plan:
        return True
    if request.rule is not None:
        return len(release.phases) == 1 and release.phases[0].rule_id == request.rule.id
    wanted = inputs.phases or ()
    if len(release.phases) != len(wanted):
        return False
    default_steps = inputs.steps or ()
    return all(
        (asked.description is None or phase.description == asked.description)
        and [step.allocation for step in phase.steps]
        == [step.allocation for step in (asked.steps or default_steps)]
        for phase, asked in zip(release.phases, wanted, strict=True)
    )
