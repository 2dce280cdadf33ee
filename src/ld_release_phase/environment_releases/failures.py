"""What an environment-release step says when something fails: each sentence once.

LaunchDarkly's own texts for these refusals are not published, so each is said in the action's
words, with LaunchDarkly's ``code``, ``message`` and request id quoted after them.
"""

from __future__ import annotations

from ld_release_phase.failures import (
    ExitCode,
    Failure,
    NotFound,
    RefusalHints,
    Refused,
    bad_input,
    not_found,
    say,
)
from ld_release_phase.plumbing.text import human_duration, plural
from ld_release_phase.plumbing.words import Words, ref

REFUSAL_HINTS = RefusalHints(
    bad_request="Check the release's inputs against the flag in LaunchDarkly.",
    access="The token's role must allow updateRules on the flag in this environment (and "
    "updateFallthrough when the cleanup updates the default rule, or the release starts from a plan). "
    "This beta API also needs the LD-API-Version: beta header, which this action always sends; a "
    "proxy may be stripping it.",
)
_NOT_RECORDED = (
    " (Built from LaunchDarkly's published specification; this refusal has not been seen from the live "
    "service.)"
)


# -- inputs: what is wrong, said after the input's name -------------------------------------


def document_too_large(kib: int) -> str:
    return f"is over {kib} KiB."


def not_a_list(what: str, kind: str) -> str:
    return f"must be {what}; got {kind}."


def too_many_entries(count: int, limit: int) -> str:
    return f"lists {count} entries; at most {limit} are accepted."


def entry_problem(where: str, said: str) -> str:
    return f"has a problem:\n{where}: {said}"


def not_an_allocation(where: str, shown: str) -> str:
    return f"has a problem:\n{where}.allocation: must be a percentage such as 10% or 12.5%; got {shown}."


def allocation_out_of_range(where: str, shown: str) -> str:
    return f"has a problem:\n{where}.allocation: must be from 0.001% to 100%; got {shown}."


def allocations_not_rising(where: str, index: int, before: str) -> str:
    return (
        f"has a problem:\n{where}[{index}].allocation: each step's allocation must be above the one before "
        f"({before}%)."
    )


def allocation_above_ceiling(where: str, highest: str, ceiling: str, guarded: bool) -> str:
    why = " A guarded release keeps the rest as its control group." if guarded else ""
    return f"rises to {highest}% in {where}; at most {ceiling}% is allowed.{why}"


def comment_too_long(limit: int) -> str:
    return f"is over {limit} characters."


def not_a_release_id(shown: str) -> str:
    return f"must be a release id (a UUID, as the release-id output gives it); got {shown}."


def only_with(name: str, operations: tuple[str, ...]) -> Words:
    named = Words(" or ").join(ref("operation", operation) for operation in operations)
    return say("is only used with ", named, f"; leave {name} empty otherwise.")


RESOLUTION_REQUIRED = "is required to stop a release: say how its phases end."
TARGET_REQUIRED = "is required to start a release: the variation to release, by id, name or value."
STEPS_REQUIRED_FOR_RULE = say("is required with ", ref("rule"), ": the allocations and how long each lasts.")


def steps_required_for_phase(index: int) -> Words:
    return say(
        f"is required: phases[{index}] has no steps of its own. Give ",
        ref("steps"),
        " or steps in the phase.",
    )


def one_way_to_start(given: list[str]) -> Words:
    if not given:
        return say(
            "is needed, or ",
            ref("phases"),
            " or ",
            ref("release-plan"),
            ": one of them says what the release runs on.",
        )
    return say(f"is given with {', '.join(given[:-1])}: start from one of rule, phases or release-plan.")


def plan_supplies(names: list[str]) -> str:
    return f"is supplied by the release plan; leave {', '.join(names)} empty when release-plan is set."


def kind_clause_missing(where: str, unit: str) -> str:
    clause = f'{{"contextKind": "{unit}", "attribute": "kind", "op": "in", "values": ["{unit}"]}}'
    return (
        f"has a problem:\n{where}.clauses: LaunchDarkly requires every phase's rule to hold the clause "
        f"{clause} for the randomization unit '{unit}'. Add it to the phase's clauses."
    )


# -- the flag -----------------------------------------------------------------------------


def no_flag(refused: NotFound, project: str, flag: str) -> NotFound:
    return not_found(
        refused,
        f"LaunchDarkly has no flag '{flag}' in project '{project}'.",
        "Check the project and flag keys.",
    )


def no_environment(flag: str, environment: str, known: str) -> Failure:
    return Failure(
        title="Environment not found",
        message=f"Flag '{flag}' has no environment '{environment}'. Its environments are: {known}.",
        hint=say("Set ", ref("environment"), " to one of these keys."),
        exit_code=ExitCode.NOT_FOUND,
    )


def variation_not_found(input_name: str, wanted: str, available: str, suggestion: str) -> Failure:
    return bad_input(
        input_name,
        f"The flag has no variation with id, name or value '{wanted}'.{suggestion} "
        f"Its variations are: {available}.",
        say("Set ", ref(input_name), " to one of these names, values or ids."),
    )


def variation_ambiguous(input_name: str, wanted: str, ids: list[str]) -> Failure:
    return bad_input(
        input_name,
        f"'{wanted}' names {len(ids)} variations (ids {', '.join(ids)}).",
        say("Set ", ref(input_name), " to one of these ids."),
    )


def same_variation(name: str) -> Failure:
    return bad_input(
        "target-variation",
        f"The release would move traffic from variation {name} to itself.",
        say(
            "Set ", ref("original-variation"), " to the variation served today, or release another variation."
        ),
    )


def original_is_a_rollout(where: str) -> Failure:
    return bad_input(
        "original-variation",
        f"{where} serves a percentage rollout, not one variation, so the variation the release starts from "
        "cannot be taken from it.",
        say("Set ", ref("original-variation"), " to the variation the release moves traffic from."),
    )


def rule_not_found(wanted: str, available: str, suggestion: str) -> Failure:
    return Failure(
        title="Rule not found",
        message=f"The flag has no rule with id or description '{wanted}' in this environment.{suggestion} "
        f"Its rules are: {available}.",
        hint=say("Set ", ref("rule"), " to one of these, or give new-rule ", ref("phases"), "."),
        exit_code=ExitCode.NOT_FOUND,
    )


def rule_ambiguous(wanted: str, ids: list[str]) -> Failure:
    return bad_input(
        "rule",
        f"{len(ids)} rules are described as '{wanted}' (ids {', '.join(ids)}).",
        say("Set ", ref("rule"), " to one of these ids."),
    )


def rule_disabled(rule: str) -> Failure:
    return bad_input(
        "rule",
        f"Rule {rule} is disabled; LaunchDarkly releases only on an enabled rule.",
        "Enable the rule in LaunchDarkly, or release on new-rule phases.",
    )


def rule_lacks_kind_clause(rule: str, unit: str) -> Failure:
    clause = f'{{"contextKind": "{unit}", "attribute": "kind", "op": "in", "values": ["{unit}"]}}'
    return bad_input(
        "rule",
        f"Rule {rule} does not hold the clause {clause}, which LaunchDarkly requires for the randomization "
        f"unit '{unit}'.",
        "Add that clause to the rule in LaunchDarkly, or release on new-rule phases that hold it.",
    )


def flag_off(flag: str, environment: str, refused: Refused | None = None) -> Failure:
    quoted = f" LaunchDarkly answered: HTTP 409 {refused.detail}." if refused is not None else ""
    return Failure(
        title="Flag is off",
        message=f"Flag '{flag}' is off in environment '{environment}', and a release needs it on.{quoted}",
        hint=f"Turn the flag on in '{environment}' in LaunchDarkly, then run again. Nothing was started.",
        exit_code=ExitCode.BAD_INPUT,
    )


# -- the environment's releases -------------------------------------------------------------


def another_release_running(environment: str, described: str, release_id: str) -> Failure:
    return Failure(
        title="Another release is running",
        message=f"Environment '{environment}' already runs release {release_id} ({described}), which is not "
        "the one this step starts. LaunchDarkly runs one release of a flag per environment at a time.",
        hint=say(
            "Stop it first: ",
            ref("operation", "stop"),
            " with ",
            ref("release-id", release_id),
            " and a ",
            ref("resolution"),
            ". Nothing was started.",
        ),
        exit_code=ExitCode.BAD_INPUT,
    )


def start_uncertain(cause: str) -> Failure:
    return Failure(
        title="The start may not have reached LaunchDarkly",
        message=f"The start was sent once and its answer was lost ({cause}); the releases read afterwards "
        "show no release of this step. It is not sent twice: a start is not idempotent.",
        hint="Run the step again: it reads the environment's releases before it starts anything.",
        exit_code=ExitCode.API_FAILURE,
    )


def approvals_required(environment: str, refused: Refused) -> Failure:
    return Failure(
        title="The environment requires approvals",
        message=f"Environment '{environment}' requires approvals for changes, so LaunchDarkly refused the "
        f"release: HTTP 405 {refused.detail}.{_NOT_RECORDED}",
        hint="Use a token whose role is granted bypassRequiredApproval, or start the release through "
        "LaunchDarkly's approval flow.",
        exit_code=ExitCode.AUTH,
    )


def health_checks_failed(checks: list[str], kinds: list[str], refused: Refused) -> Failure:
    listing = "; ".join(checks) or refused.detail
    return Failure(
        title="Release health checks failed",
        message=f"LaunchDarkly's health checks refused the start (HTTP 400 health_checks_failed): {listing}."
        f"{_NOT_RECORDED}",
        hint=say(
            "Check that the flag is being evaluated (and the metrics receive events) in this environment; "
            "to start anyway, set ",
            ref("bypass-health-checks", " ".join(kinds)) if kinds else ref("bypass-health-checks"),
            "."
            if kinds
            else " to the kinds LaunchDarkly names (flag_evaluations_any, "
            "flag_evaluations_with_context, metric_events_any, metric_events_with_context).",
        ),
        exit_code=ExitCode.API_FAILURE,
    )


def plans_unavailable(refused: Refused) -> Failure:
    return Failure(
        title="Release plans are not available",
        message=f"LaunchDarkly answered HTTP 422 {refused.detail}: environment release plans are not yet "
        f"available for this account.{_NOT_RECORDED}",
        hint=say(
            "Configure the release inline with ",
            ref("rule"),
            " or ",
            ref("phases"),
            " instead of ",
            ref("release-plan"),
            ".",
        ),
        exit_code=ExitCode.API_FAILURE,
    )


def no_release(environment: str) -> Failure:
    return Failure(
        title="No environment release",
        message=f"The flag has no environment release in '{environment}' (releases that ended more than 90 "
        "days ago are not kept).",
        hint=say("Start one with ", ref("operation", "start"), ", or check ", ref("environment"), "."),
        exit_code=ExitCode.NOT_FOUND,
    )


def release_gone(refused: NotFound, release_id: str) -> NotFound:
    return not_found(
        refused,
        f"Release {release_id} was not found for this flag and environment.",
        say("Check ", ref("release-id"), ": a release that ended more than 90 days ago is gone."),
    )


def current_phase_between_phases(resolution: str) -> Failure:
    return bad_input(
        "resolution",
        f"The release is between phases, so there is no current phase for {resolution} to resolve; "
        "LaunchDarkly refuses it there.",
        "Use roll_forward_all_phases or roll_back_all_phases_and_remove_pending_phases.",
    )


# -- waiting ------------------------------------------------------------------------------

_WHY_REVERTED = {
    "reverted_regression_detected": "a metric regressed and the release rolled back",
    "reverted_manual": "someone rolled it back",
    "reverted_discarded": "the flag changed underneath it (turned off, archived or deleted)",
    "reverted_insufficient_data": "too little data came in to judge it",
}
_WHY_WAITING = {
    "waiting_phase_ended": (
        "a phase of this manual release ended, and only a person can advance it to the next phase in "
        "LaunchDarkly (no API can)",
        "Advance the release in LaunchDarkly, or stop it with a roll-forward or roll-back resolution.",
    ),
    "waiting_regression_detected": (
        "a metric regressed, and since it does not roll back by itself the release paused",
        "Look at the regression in LaunchDarkly; then dismiss it there or stop the release (roll back).",
    ),
}


def reverted(release_id: str, reason: str | None, waited: float) -> Failure:
    why = _WHY_REVERTED.get(reason or "", f"LaunchDarkly gives the reason '{reason or 'none'}'")
    return Failure(
        title="Release reverted",
        message=f"Release {release_id} reverted to the original variation after "
        f"{human_duration(waited)}: {why}.",
        hint="Look at the release in LaunchDarkly before starting it again.",
        exit_code=ExitCode.NOT_REACHED,
    )


def waiting(release_id: str, reason: str | None) -> Failure:
    why, hint = _WHY_WAITING.get(
        reason or "",
        (
            f"it waits for someone (LaunchDarkly's reason: '{reason or 'none'}')",
            "Look at it in LaunchDarkly.",
        ),
    )
    return Failure(
        title="Release is waiting for a person",
        message=f"Release {release_id} will not complete by itself: {why}.",
        hint=hint,
        exit_code=ExitCode.NOT_REACHED,
    )


def wait_timed_out(release_id: str, waited: float, polls: int, status: str) -> Failure:
    return Failure(
        title="Timed out waiting for the release",
        message=f"Release {release_id} had not completed after {human_duration(waited)} "
        f"({plural(polls, 'poll')}); it was {status}.",
        hint=say("Raise ", ref("wait-timeout"), ": the release's steps may last longer than the wait."),
        exit_code=ExitCode.NOT_REACHED,
    )
