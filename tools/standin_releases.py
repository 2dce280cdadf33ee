"""LaunchDarkly's environment releases (beta) for the stand-in: flags, their rules, their releases.

Follows LaunchDarkly's published specification (``launchdarkly-api`` 25.0.1): nothing public
records the live service answering these endpoints. Where the spec is silent, the stand-in makes
the choice the spec implies, marked "the stand-in's choice" below. Refusals whose wording is not
published are in the stand-in's own words, with the code ``invalid_request`` unless the spec
names one (``health_checks_failed``, ``release_already_active``).

:meth:`EnvironmentReleases.handle` serves (the caller has checked the token and the beta header):

- ``GET /api/v2/flags/{p}/{f}`` (``?env=KEY`` keeps that environment alone),
- ``GET`` and ``POST /api/v2/projects/{p}/flags/{f}/environments/{e}/releases``,
- ``GET .../releases/{id}`` and ``PUT .../releases/{id}/stop``.

Releases move on as they are read: each read of a running release (a GET of it, or a list that
includes it) advances it one step, as if the step's duration had passed.

Tests change the state only through the verbs (``project``, ``flag`` and ``environment`` are
keyword arguments defaulting to ``demo``, ``new-checkout`` and ``production``): ``add_flag``,
``add_rule``, ``set_on``, ``set_fallthrough_rollout``, ``require_approvals``,
``fail_health_checks``, ``add_plan``, ``set_plans_available``, ``start_release``, ``hold``,
``release_hold``, ``advance``, ``regress``, ``discard``, ``insufficient_data``, ``age``; and read
it with ``release``, ``releases`` and ``flag`` (copies).

Standard library only: it runs in a bare interpreter too.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeGuard
from urllib.parse import quote, urlencode

JSON = dict[str, Any]
Answer = tuple[int, JSON | None]

DAY_MS = 86_400_000
RETENTION_MS = 90 * DAY_MS  # a release that ended longer ago than this is gone
FULL = 100_000  # allocations and rollout weights are thousandths of a percent
GUARDED_MAX = 50_000  # a guarded release keeps a control group as large as its target share
RUNNING = ("pending", "in_progress", "waiting")
ENDED = ("completed", "reverted")
RESOLUTIONS = (
    "roll_forward_all_phases",
    "roll_forward_current_phase_and_remove_pending_phases",
    "roll_back_all_phases_and_remove_pending_phases",
    "roll_back_current_phase_and_remove_pending_phases",
)
HEALTH_CHECK_KINDS = (
    "flag_evaluations_any",
    "flag_evaluations_with_context",
    "metric_events_any",
    "metric_events_with_context",
)
METRIC_CHECK_KINDS = ("metric_events_any", "metric_events_with_context")  # guarded releases only
ADVANCEMENT_MODES = ("automatic", "manual")
REMOVE_RULES = "remove_rules_and_update_default_rule"
LEAVE_RULES = "leave_rules_in_place"
# What a release plan supplies, so a start from a plan must leave them out.
PLAN_FIELDS = ("randomizationUnit", "phases", "metrics", "advancementMode", "cleanupBehavior")
PAGE_DEFAULT, PAGE_MAX = 25, 100


def _wall_clock() -> int:
    return int(time.time() * 1000)


def _new_id() -> str:
    return str(uuid.uuid4())


def error(code: str, message: str) -> JSON:
    """An error body in the style of the rest of the stand-in."""
    return {"code": code, "message": message, "id": "req-0123456789"}


# The rule add_flag_with_rule makes, by its description (how the README's steps name it).
BETA_RULE = "Beta users"


def kind_clause(unit: str = "user") -> JSON:
    """The clause every phase's rule must hold, so a release reaches only contexts of ``unit``."""
    return {"contextKind": unit, "attribute": "kind", "op": "in", "values": [unit]}


def steps(*allocations: int, duration_millis: int = 3_600_000) -> list[JSON]:
    """Steps as a start request spells them: allocations in thousandths of a percent."""
    return [{"allocation": allocation, "durationMillis": duration_millis} for allocation in allocations]


def new_rule_phase(description: str | None, *allocations: int, unit: str = "user") -> JSON:
    """A phase that creates a rule holding the kind clause for ``unit`` alone."""
    phase: JSON = {"clauses": [kind_clause(unit)], "steps": steps(*allocations)}
    if description is not None:
        phase["description"] = description
    return phase


class Scope(NamedTuple):
    project: str
    flag: str
    environment: str


class Refusal(Exception):
    """An answer other than success, raised where the rule that refuses is checked."""

    def __init__(self, status: int, message: str, code: str = "invalid_request", **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = error(code, message) | extra


def _not_found(message: str) -> Refusal:
    return Refusal(404, message, "not_found")


@dataclass
class _Release:
    """A release as served (``body``) and what the stand-in needs besides to act on the flag."""

    scope: Scope
    body: JSON
    target: int  # variation indexes
    original: int
    created_rules: set[str] = field(default_factory=set)  # rules the release added to the flag

    @property
    def id(self) -> str:
        return str(self.body["id"])

    @property
    def phases(self) -> list[JSON]:
        phases: list[JSON] = self.body["phases"]
        return phases

    def current_phase(self) -> JSON | None:
        index = self.body["currentPhaseIndex"]
        return None if index is None else self.phases[index]

    def in_status(self, *statuses: str) -> list[JSON]:
        return [phase for phase in self.phases if phase["status"] in statuses]


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_object(body: bytes) -> JSON:
    try:
        parsed = json.loads(body or b"null")
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise Refusal(400, "The request body must be a JSON object")
    return parsed


def _holds_kind_clause(clauses: list[JSON], unit: str) -> bool:
    return any(
        clause.get("contextKind") == unit
        and clause.get("attribute") == "kind"
        and clause.get("op") == "in"
        and clause.get("values") == [unit]
        and not clause.get("negate", False)
        for clause in clauses
    )


def _clause_shape(clause: JSON) -> list[Any]:
    """What makes two clauses the same, whatever their ids."""
    return [
        clause.get("contextKind"),
        clause["attribute"],
        clause["op"],
        clause["values"],
        bool(clause.get("negate")),
    ]


def _check_clauses(label: str, clauses: Any) -> list[JSON]:
    if not isinstance(clauses, list) or not clauses:
        raise Refusal(400, f"{label}: clauses must be a non-empty list")
    for clause in clauses:
        values = clause.get("values") if isinstance(clause, dict) else None
        primitives = isinstance(values, list) and all(
            isinstance(value, str | int | float) for value in values
        )
        if (
            not primitives
            or not isinstance(clause.get("attribute"), str)
            or not isinstance(clause.get("op"), str)
        ):
            raise Refusal(400, f"{label}: each clause needs attribute, op and values (JSON primitives)")
    return clauses


def _check_steps(label: str, phase_steps: Any, guarded: bool) -> None:
    if not isinstance(phase_steps, list) or not phase_steps:
        raise Refusal(400, f"{label}: steps must be a non-empty list")
    previous = 0
    for index, step in enumerate(phase_steps):
        where = f"{label}, step {index}"
        allocation = step.get("allocation") if isinstance(step, dict) else None
        duration = step.get("durationMillis") if isinstance(step, dict) else None
        if not _is_int(allocation) or not 1 <= allocation <= FULL:
            raise Refusal(400, f"{where}: allocation must be a whole number from 1 to {FULL}")
        if not _is_int(duration) or duration < 1:
            raise Refusal(400, f"{where}: durationMillis must be a whole number of at least 1")
        if allocation <= previous:
            raise Refusal(400, f"{where}: each step's allocation must be greater than the previous step's")
        if guarded and allocation > GUARDED_MAX:
            raise Refusal(400, f"{where}: a guarded release cannot exceed an allocation of {GUARDED_MAX}")
        previous = allocation


def _check_metrics(metrics: Any) -> list[JSON]:
    valid = isinstance(metrics, list) and all(
        isinstance(metric, dict)
        and isinstance(metric.get("metricKey"), str)
        and isinstance(metric.get("autoRollback", False), bool)
        for metric in metrics
    )
    if not valid:
        raise Refusal(400, "metrics must be a list of {metricKey, autoRollback?}")
    return list(metrics)


def _page_links(scope: Scope, limit: int, offset: int, total: int, extra: dict[str, str]) -> JSON:
    """``self`` and ``parent`` always; ``first``, ``prev``, ``next`` and ``last`` where they apply
    (the stand-in's choice: ``first`` always, ``last`` only when something matches)."""

    def page(start: int) -> JSON:
        return _link(f"{_releases_path(scope)}?{urlencode(extra | {'limit': limit, 'offset': start})}")

    links = {"self": page(offset), "parent": _link(_flag_path(scope.project, scope.flag)), "first": page(0)}
    if offset > 0:
        links["prev"] = page(max(offset - limit, 0))
    if offset + limit < total:
        links["next"] = page(offset + limit)
    if total > 0:
        links["last"] = page((total - 1) // limit * limit)
    return links


def _query_int(query: dict[str, list[str]], name: str, default: int, low: int, high: int | None) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        number = int(values[-1])
    except ValueError:
        number = low - 1
    if number < low or (high is not None and number > high):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise Refusal(400, f"{name} must be a whole number {bounds}")
    return number


def _kind_filter(query: dict[str, list[str]]) -> str | None:
    values = query.get("filter")
    if not values:
        return None
    words = values[-1].split()
    if len(words) != 3 or words[:2] != ["kind", "equals"] or words[2] not in ("progressive", "guarded"):
        raise Refusal(400, "filter supports only kind equals progressive or kind equals guarded")
    return words[2]


class EnvironmentReleases:
    """Flags and their environment releases, as LaunchDarkly's specification describes them."""

    def __init__(self, now: Callable[[], int] | None = None) -> None:
        self.now = now or _wall_clock
        self.lock = threading.RLock()
        self._flags: dict[tuple[str, str], JSON] = {}
        self._releases: dict[str, _Release] = {}  # in the order they started, oldest first
        self._plans: dict[tuple[str, str, str], JSON] = {}  # (project, environment, key)
        self._approvals: dict[tuple[str, str], bool] = {}  # (project, environment): token may bypass
        self._failing_checks: list[JSON] = []
        self._held: set[str] = set()
        # The stand-in's choice: plans are available until a test says otherwise, so that a plan
        # added with add_plan starts without a further verb.
        self._plans_available = True

    # -- serving ----------------------------------------------------------------------------

    def handle(
        self, method: str, segments: list[str], query: dict[str, list[str]], body: bytes
    ) -> Answer | None:
        """The answer for a path this serves, or None for one it does not."""
        with self.lock:
            match segments:
                case ["api", "v2", "flags", project, flag] if method == "GET":
                    return self._answer(lambda: self._get_flag(project, flag, query))
                case [
                    "api",
                    "v2",
                    "projects",
                    project,
                    "flags",
                    flag,
                    "environments",
                    environment,
                    "releases",
                    *rest,
                ]:
                    serve = self._release_route(method, Scope(project, flag, environment), rest, query, body)
                    return None if serve is None else self._answer(serve)
            return None

    def _release_route(
        self, method: str, scope: Scope, rest: list[str], query: dict[str, list[str]], body: bytes
    ) -> Callable[[], Answer] | None:
        def in_scope(serve: Callable[[], Answer]) -> Callable[[], Answer]:
            def checked() -> Answer:
                self._config(scope)  # 404 for an unknown project, flag or environment
                return serve()

            return checked

        match rest, method:
            case [], "GET":
                return in_scope(lambda: self._list(scope, query))
            case [], "POST":
                return in_scope(lambda: self._start(scope, body))
            case [release_id], "GET":
                return in_scope(lambda: self._get(scope, release_id))
            case [release_id, "stop"], "PUT":
                return in_scope(lambda: self._stop(scope, release_id, body))
        return None

    @staticmethod
    def _answer(serve: Callable[[], Answer]) -> Answer:
        try:
            return serve()
        except Refusal as refusal:
            return refusal.status, refusal.body

    def _get_flag(self, project: str, flag: str, query: dict[str, list[str]]) -> Answer:
        body = self._flag(project, flag)
        shown = copy.deepcopy(body)
        if query.get("env"):
            # The stand-in's choice: an unknown key keeps no environment rather than a 404.
            keep = query["env"][-1]
            shown["environments"] = {
                key: value for key, value in shown["environments"].items() if key == keep
            }
        return 200, shown

    def _list(self, scope: Scope, query: dict[str, list[str]]) -> Answer:
        limit = _query_int(query, "limit", PAGE_DEFAULT, 1, PAGE_MAX)
        offset = _query_int(query, "offset", 0, 0, None)
        kind = _kind_filter(query)
        matching = [
            release
            for release in self._newest_first(scope)
            if not self._gone(release) and kind in (None, release.body["kind"])
        ]
        page = matching[offset : offset + limit]
        for release in page:
            self._move_on(release)
        extra = {"filter": query["filter"][-1]} if kind else {}
        return 200, {
            "items": [copy.deepcopy(release.body) for release in page],
            "totalCount": len(matching),
            "_links": _page_links(scope, limit, offset, len(matching), extra),
        }

    def _get(self, scope: Scope, release_id: str) -> Answer:
        # The stand-in's choice: expand=metrics attaches no definitions, which the spec allows
        # (a metric whose pinned version is gone has none).
        release = self._visible(scope, release_id)
        self._move_on(release)
        return 200, copy.deepcopy(release.body)

    def _start(self, scope: Scope, body: bytes) -> Answer:
        release = self._begin(scope, _parse_object(body), by_person=False)
        return 201, copy.deepcopy(release.body)

    def _stop(self, scope: Scope, release_id: str, body: bytes) -> Answer:
        release = self._visible(scope, release_id)
        resolution = _parse_object(body).get("resolution")
        if resolution not in RESOLUTIONS:
            raise Refusal(400, f"resolution must be one of: {', '.join(RESOLUTIONS)}")
        # The stand-in's choice: the spec says the endpoint fails in such an environment, so
        # the 405 comes before the 200 for a release that already ended.
        self._refuse_without_approval(scope)
        if release.body["status"] in ENDED:
            return 200, copy.deepcopy(release.body)
        if "current_phase" in resolution and release.current_phase() is None:
            raise Refusal(
                400,
                "The release is between phases, so it has no current phase: use "
                "roll_forward_all_phases or roll_back_all_phases_and_remove_pending_phases",
            )
        self._resolve(release, resolution)
        return 200, copy.deepcopy(release.body)

    # -- starting ---------------------------------------------------------------------------

    def _begin(self, scope: Scope, request: JSON, *, by_person: bool) -> _Release:
        """Check a start request and start the release. The order of the checks is the
        stand-in's choice: the body first (400, 422), then approvals (405), the flag's state
        (409) and the health checks (400). A person in LaunchDarkly's UI (``by_person``) goes
        through approvals there and sees the health checks before starting."""
        config = self._config(scope)
        variations = self._flag(scope.project, scope.flag)["variations"]
        original = self._variation_index(variations, request, "originalVariationId")
        target = self._variation_index(variations, request, "targetVariationId")
        if original == target:
            raise Refusal(400, "originalVariationId and targetVariationId must be different variations")
        plan = self._release_config(scope, request)
        self._check_phases(config, plan)
        before = request.get("beforeRuleId")
        if before is not None and not any(rule["_id"] == before for rule in config["rules"]):
            raise Refusal(400, f"beforeRuleId {before} is not a rule of the flag in this environment")
        if not by_person:
            self._refuse_without_approval(scope)
        if not config["on"]:
            raise Refusal(409, "flag is off in the environment")
        running = self._running(scope)
        if running is not None:
            raise Refusal(409, f"release {running.id} is already active", "release_already_active")
        if not by_person:
            self._run_health_checks(bool(plan["metrics"]), request.get("bypassHealthChecks") or [])
        return self._create(scope, plan, original, target, before)

    @staticmethod
    def _variation_index(variations: list[JSON], request: JSON, name: str) -> int:
        wanted = request.get(name)
        if not isinstance(wanted, str):
            raise Refusal(400, f"{name} is required")
        for index, variation in enumerate(variations):
            if variation["_id"] == wanted:
                return index
        raise Refusal(400, f"{name} {wanted} is not a variation of the flag")

    def _release_config(self, scope: Scope, request: JSON) -> JSON:
        """The fields a plan supplies, from the plan or inline, checked for shape."""
        key = request.get("releasePlanKey")
        if key is None:
            plan = {name: request.get(name) for name in PLAN_FIELDS}
        else:
            plan = self._plan(scope, key, request)
        unit, phases, mode = plan["randomizationUnit"], plan["phases"], plan["advancementMode"]
        if not isinstance(unit, str) or not unit:
            raise Refusal(400, "randomizationUnit is required unless releasePlanKey is set")
        if not isinstance(phases, list) or not phases or not all(isinstance(p, dict) for p in phases):
            raise Refusal(400, "phases is required unless releasePlanKey is set")
        if mode is None and len(phases) > 1:
            raise Refusal(400, "advancementMode is required for a release of more than one phase")
        if mode not in (None, *ADVANCEMENT_MODES):
            raise Refusal(400, f"advancementMode must be one of: {', '.join(ADVANCEMENT_MODES)}")
        if plan["cleanupBehavior"] not in (None, REMOVE_RULES, LEAVE_RULES):
            raise Refusal(400, f"cleanupBehavior must be {REMOVE_RULES} or {LEAVE_RULES}")
        bypass = request.get("bypassHealthChecks") or []
        if not isinstance(bypass, list) or any(kind not in HEALTH_CHECK_KINDS for kind in bypass):
            raise Refusal(400, f"bypassHealthChecks may list only: {', '.join(HEALTH_CHECK_KINDS)}")
        # The stand-in's choice: a single-phase release, which ignores the mode, shows automatic.
        plan["advancementMode"] = mode or "automatic"
        plan["cleanupBehavior"] = plan["cleanupBehavior"] or LEAVE_RULES
        plan["metrics"] = _check_metrics(plan["metrics"] or [])
        return plan

    def _plan(self, scope: Scope, key: Any, request: JSON) -> JSON:
        if not self._plans_available:
            raise Refusal(422, "Environment release plans are not available for this account")
        # The stand-in's choice: a field counts as set unless it is absent or null.
        supplied = [name for name in PLAN_FIELDS if request.get(name) is not None]
        if supplied:
            raise Refusal(
                400, f"releasePlanKey is set, so leave out {', '.join(supplied)}: the plan supplies them"
            )
        plan = self._plans.get((scope.project, scope.environment, str(key)))
        if plan is None:
            raise Refusal(400, f"release plan {key} not found in environment {scope.environment}")
        return copy.deepcopy(plan)

    def _check_phases(self, config: JSON, plan: JSON) -> None:
        phases, unit, guarded = plan["phases"], plan["randomizationUnit"], bool(plan["metrics"])
        for index, phase in enumerate(phases):
            label = f"phase {index}"
            clauses = self._phase_clauses(config, phase, label, single=len(phases) == 1)
            if not _holds_kind_clause(clauses, unit):
                raise Refusal(
                    400,
                    f"{label}: the rule must include the clause {json.dumps(kind_clause(unit))}, "
                    "not negated and with no other values",
                )
            _check_steps(label, phase.get("steps"), guarded)
        self._check_new_rules_are_new(config, [phase for phase in phases if phase.get("ruleId") is None])

    @staticmethod
    def _phase_clauses(config: JSON, phase: JSON, label: str, *, single: bool) -> list[JSON]:
        """The clauses of a phase's rule: the existing rule's, or the new rule's."""
        rule_id, clauses = phase.get("ruleId"), phase.get("clauses")
        if (rule_id is None) == (clauses is None):
            raise Refusal(
                400, f"{label}: set exactly one of ruleId (an existing rule) or clauses (a new rule)"
            )
        if clauses is not None:
            if not isinstance(phase.get("description", ""), str | None):
                raise Refusal(400, f"{label}: description must be a string")
            return _check_clauses(label, clauses)
        if not single:
            raise Refusal(
                400, f"{label}: an existing rule (ruleId) is allowed only in a single-phase release"
            )
        rule = next((rule for rule in config["rules"] if rule["_id"] == rule_id), None)
        if rule is None:
            raise Refusal(400, f"{label}: rule {rule_id} is not a rule of the flag in this environment")
        if rule.get("disabled"):
            raise Refusal(400, f"{label}: rule {rule_id} is disabled; a release needs an enabled rule")
        clauses_of_rule: list[JSON] = rule["clauses"]
        return clauses_of_rule

    @staticmethod
    def _check_new_rules_are_new(config: JSON, new_phases: list[JSON]) -> None:
        descriptions = [rule.get("description") for rule in config["rules"] if rule.get("description")]
        for phase in new_phases:
            description = phase.get("description")
            if description and description in descriptions:
                raise Refusal(400, "duplicate rule description not allowed")
            descriptions.append(description)
            shape = [_clause_shape(clause) for clause in phase["clauses"]]
            for index, rule in enumerate(config["rules"]):
                if [_clause_shape(clause) for clause in rule["clauses"]] == shape:
                    raise Refusal(400, f"new rule is exact duplicate of an existing rule at index {index}")

    def _refuse_without_approval(self, scope: Scope) -> None:
        if self._approvals.get((scope.project, scope.environment)) is False:
            raise Refusal(
                405,
                f"Environment {scope.environment} requires approvals: request an approval in "
                "LaunchDarkly, or use a token granted bypassRequiredApproval",
            )

    def _run_health_checks(self, guarded: bool, bypass: list[str]) -> None:
        """The scripted failures apply to this start alone; metric checks run for guarded
        releases only. Checks listed in ``bypass`` still run but do not block the start."""
        scripted, self._failing_checks = self._failing_checks, []
        enforced = [
            check
            for check in scripted
            if (guarded or check["kind"] not in METRIC_CHECK_KINDS) and check["kind"] not in bypass
        ]
        if enforced:
            kinds = ", ".join(check["kind"] for check in enforced)
            raise Refusal(
                400,
                f"Release health checks failed: {kinds}. List them in bypassHealthChecks to start anyway",
                "health_checks_failed",
                failingChecks=enforced,
            )

    def _create(self, scope: Scope, plan: JSON, original: int, target: int, before: str | None) -> _Release:
        now = self.now()
        variations = self._flag(scope.project, scope.flag)["variations"]
        metrics = [
            {
                "metricKey": metric["metricKey"],
                "metricVersionId": _new_id(),
                "autoRollback": bool(metric.get("autoRollback")),
            }
            for metric in plan["metrics"]
        ]
        release_id = _new_id()
        body: JSON = {
            "id": release_id,
            "status": "pending",
            "projectKey": scope.project,
            "environmentKey": scope.environment,
            "flagKey": scope.flag,
            "originalVariationId": variations[original]["_id"],
            "originalVariationValue": variations[original]["value"],
            "targetVariationId": variations[target]["_id"],
            "targetVariationValue": variations[target]["value"],
            "randomizationUnit": plan["randomizationUnit"],
            "cleanupBehavior": plan["cleanupBehavior"],
            "kind": "guarded" if metrics else "progressive",
            "metrics": metrics,
            "phases": [],
            "currentPhaseIndex": None,
            "advancementMode": plan["advancementMode"],
            "createdAt": now,
            "_links": {
                "self": _link(f"{_releases_path(scope)}/{release_id}"),
                "parent": _link(_flag_path(scope.project, scope.flag)),
            },
        }
        release = _Release(scope, body, target, original)
        rules = [self._phase_rule(release, phase) for phase in plan["phases"]]
        self._insert_rules(scope, [rule for rule in rules if rule["_id"] in release.created_rules], before)
        for index, (phase, rule) in enumerate(zip(plan["phases"], rules, strict=True)):
            release.phases.append(_phase_body(index, rule, phase["steps"], metrics))
        self._releases[release_id] = release
        self._start_phase(release, 0)
        body["startedAt"] = now
        return release

    def _phase_rule(self, release: _Release, phase: JSON) -> JSON:
        """The phase's rule: the existing one, or a new one that serves the original variation,
        disabled until its phase starts."""
        config = self._config(release.scope)
        if phase.get("ruleId") is not None:
            rule: JSON = next(rule for rule in config["rules"] if rule["_id"] == phase["ruleId"])
            return rule
        rule = {
            "_id": _new_id(),
            "disabled": True,
            "variation": release.original,
            "clauses": [_clause_body(clause) for clause in phase["clauses"]],
            "trackEvents": False,
        }
        if phase.get("description"):
            rule["description"] = phase["description"]
        release.created_rules.add(rule["_id"])
        return rule

    def _insert_rules(self, scope: Scope, rules: list[JSON], before: str | None) -> None:
        existing: list[JSON] = self._config(scope)["rules"]
        at = next((i for i, rule in enumerate(existing) if rule["_id"] == before), len(existing))
        existing[at:at] = rules
        self._changed(scope)

    # -- moving on --------------------------------------------------------------------------

    def _start_phase(self, release: _Release, index: int) -> None:
        now = self.now()
        phase = release.phases[index]
        phase.update(status="in_progress", currentStepIndex=0, startedAt=now)
        phase["steps"][0]["startedAt"] = now
        release.body.update(status="in_progress", currentPhaseIndex=index)
        release.body.pop("statusReason", None)
        rule = self._rule(release, phase)
        if rule is not None:
            rule["disabled"] = False
            self._serve_rollout(release, rule, phase["steps"][0]["allocation"])

    def _move_on(self, release: _Release) -> None:
        """One read's worth of progress: the running step ends and the next one starts, or the
        phase completes and the release goes on to what follows it."""
        phase = release.current_phase()
        if release.body["status"] != "in_progress" or release.id in self._held or phase is None:
            return
        phase_steps, at = phase["steps"], phase["currentStepIndex"]
        now = self.now()
        phase_steps[at]["endedAt"] = now
        if at + 1 < len(phase_steps):
            phase["currentStepIndex"] = at + 1
            phase_steps[at + 1]["startedAt"] = now
            rule = self._rule(release, phase)
            if rule is not None:
                self._serve_rollout(release, rule, phase_steps[at + 1]["allocation"])
            return
        self._complete_phase(release, phase, "completed_automatic")
        following = phase["phaseIndex"] + 1
        if following == len(release.phases):
            self._end(release, "completed", "completed_automatic")
        elif release.body["advancementMode"] == "automatic":
            self._start_phase(release, following)
        else:
            release.body.update(status="waiting", statusReason="waiting_phase_ended", currentPhaseIndex=None)

    def _complete_phase(self, release: _Release, phase: JSON, reason: str) -> None:
        self._end_phase(phase, "completed", reason)
        rule = self._rule(release, phase)
        if rule is not None:
            rule["disabled"] = False
            self._serve_variation(release, rule, release.target)

    def _revert_phase(self, release: _Release, phase: JSON, reason: str) -> None:
        self._end_phase(phase, "reverted", reason)
        rule = self._rule(release, phase)
        if rule is not None:
            self._serve_variation(release, rule, release.original)

    def _discard_pending(self, release: _Release) -> None:
        """Pending phases end before they start; their rules, never enabled, leave the flag."""
        for phase in release.in_status("pending"):
            phase.update(status="reverted", statusReason="reverted_discarded")
            self._remove_rules(release, {phase["ruleId"]})

    def _end_phase(self, phase: JSON, status: str, reason: str) -> None:
        now = self.now()
        for step in phase["steps"]:
            if "startedAt" in step and "endedAt" not in step:
                step["endedAt"] = now
        phase.update(status=status, statusReason=reason, endedAt=now)

    def _end(self, release: _Release, status: str, reason: str) -> None:
        release.body.update(status=status, statusReason=reason, currentPhaseIndex=None, endedAt=self.now())
        self._held.discard(release.id)
        everywhere = all(phase["status"] == "completed" for phase in release.phases)
        if status == "completed" and everywhere and release.body["cleanupBehavior"] == REMOVE_RULES:
            # The stand-in's choice: the cleanup removes the rules the release added; an existing
            # rule it ran on (ruleId) was the flag's before, so it stays, serving the target.
            self._remove_rules(release, release.created_rules)
            self._config(release.scope)["fallthrough"] = {"variation": release.target}

    def _resolve(self, release: _Release, resolution: str) -> None:
        """A stop: how each phase ends, by the resolution's schema."""
        current = release.current_phase()
        completed = release.in_status("completed")
        if resolution == "roll_forward_all_phases":
            for phase in release.in_status(*RUNNING):
                self._complete_phase(release, phase, "completed_manual")
            self._end(release, "completed", "completed_manual")
            return
        self._discard_pending(release)
        forward = resolution.startswith("roll_forward")
        if current is not None:
            end_phase = self._complete_phase if forward else self._revert_phase
            end_phase(release, current, "completed_manual" if forward else "reverted_manual")
        if resolution == "roll_back_all_phases_and_remove_pending_phases":
            for phase in completed:
                self._revert_phase(release, phase, "reverted_manual")
        self._end(
            release, *(("completed", "completed_manual") if forward else ("reverted", "reverted_manual"))
        )

    def _revert(self, release: _Release, reason: str) -> None:
        """The running phase goes back to the original variation and the release ends there;
        phases it completed keep serving the target (the stand-in's choice, as a
        ``roll_back_current_phase`` stop would)."""
        current = release.current_phase()
        if current is not None:
            self._revert_phase(release, current, reason)
        self._discard_pending(release)
        self._end(release, "reverted", reason)

    # -- the flag's rules -------------------------------------------------------------------

    def _rule(self, release: _Release, phase: JSON) -> JSON | None:
        """The phase's rule as the flag holds it now (None once removed)."""
        rules: list[JSON] = self._config(release.scope)["rules"]
        return next((rule for rule in rules if rule["_id"] == phase["ruleId"]), None)

    def _serve_rollout(self, release: _Release, rule: JSON, allocation: int) -> None:
        rule.pop("variation", None)
        rule["rollout"] = {
            "variations": [
                {"variation": release.target, "weight": allocation},
                {"variation": release.original, "weight": FULL - allocation},
            ],
            "contextKind": release.body["randomizationUnit"],
            "bucketBy": "key",
        }
        self._changed(release.scope)

    def _serve_variation(self, release: _Release, rule: JSON, variation: int) -> None:
        rule.pop("rollout", None)
        rule["variation"] = variation
        self._changed(release.scope)

    def _remove_rules(self, release: _Release, rule_ids: set[str]) -> None:
        config = self._config(release.scope)
        config["rules"] = [rule for rule in config["rules"] if rule["_id"] not in rule_ids]
        self._changed(release.scope)

    def _changed(self, scope: Scope) -> None:
        """Each change to a flag's targeting is a new version of it."""
        flag = self._flag(scope.project, scope.flag)
        config = flag["environments"][scope.environment]
        flag["_version"] += 1
        config["version"] += 1
        config["lastModified"] = self.now()

    # -- lookups ----------------------------------------------------------------------------

    def _flag(self, project: str, flag: str) -> JSON:
        body = self._flags.get((project, flag))
        if body is None:
            raise _not_found(f"Flag {flag} not found in project {project}")
        return body

    def _config(self, scope: Scope) -> JSON:
        config: JSON | None = self._flag(scope.project, scope.flag)["environments"].get(scope.environment)
        if config is None:
            raise _not_found(f"Environment {scope.environment} not found in project {scope.project}")
        return config

    def _newest_first(self, scope: Scope) -> Iterator[_Release]:
        return (release for release in reversed(self._releases.values()) if release.scope == scope)

    def _running(self, scope: Scope) -> _Release | None:
        return next((r for r in self._newest_first(scope) if r.body["status"] in RUNNING), None)

    def _gone(self, release: _Release) -> bool:
        ended = release.body.get("endedAt")
        return ended is not None and self.now() - ended > RETENTION_MS

    def _visible(self, scope: Scope, release_id: str) -> _Release:
        release = self._releases.get(release_id)
        if release is None or release.scope != scope or self._gone(release):
            raise _not_found(f"Release {release_id} not found for this flag and environment")
        return release

    def _by_id(self, release_id: str) -> _Release:
        release = self._releases.get(release_id)
        if release is None:
            raise KeyError(f"no release {release_id}")
        return release

    # -- verbs: set-up ----------------------------------------------------------------------

    def add_flag(
        self,
        *,
        project: str = "demo",
        flag: str = "new-checkout",
        variations: Sequence[JSON] | None = None,
        environments: Sequence[str] = ("test", "production"),
        on: bool = True,
        fallthrough: int = 1,
    ) -> JSON:
        """A flag with no rules, on (or off) in each environment, serving ``fallthrough`` (a
        variation index) by default. Without ``variations``: a boolean flag, true "Available"
        and false "Unavailable". Variations without an ``_id`` get a UUID."""
        with self.lock:
            chosen = variations or [
                {"value": True, "name": "Available"},
                {"value": False, "name": "Unavailable"},
            ]
            listed = [{"_id": _new_id()} | dict(variation) for variation in chosen]
            boolean = len(listed) == 2 and all(isinstance(v["value"], bool) for v in listed)
            now = self.now()
            self._flags[(project, flag)] = {
                "name": flag.replace("-", " ").capitalize(),
                "kind": "boolean" if boolean else "multivariate",
                "key": flag,
                "_version": 1,
                "creationDate": now,
                "variations": listed,
                "temporary": False,
                "tags": [],
                "_links": {"self": _link(_flag_path(project, flag))},
                "experiments": {"baselineIdx": 0, "items": []},
                "customProperties": {},
                "archived": False,
                "environments": {
                    key: _flag_config(
                        project, flag, key, on=on, fallthrough=fallthrough, off=len(listed) - 1, now=now
                    )
                    for key in environments
                },
            }
            return self.flag(project=project, flag=flag)

    def add_flag_with_rule(self, *, project: str = "demo", flag: str = "new-checkout") -> str:
        """The flag the README and the examples release: boolean, on in each environment, serving
        false, with an enabled rule ``BETA_RULE`` (for beta users, holding the kind clause) to
        release on. The rule's id."""
        with self.lock:
            self.add_flag(project=project, flag=flag)
            beta = {"contextKind": "user", "attribute": "beta", "op": "in", "values": [True]}
            return self.add_rule(
                project=project, flag=flag, description=BETA_RULE, clauses=[kind_clause(), beta], variation=1
            )

    def add_rule(
        self,
        *,
        project: str = "demo",
        flag: str = "new-checkout",
        environment: str = "production",
        description: str | None,
        clauses: Sequence[JSON] | None = None,
        variation: int = 0,
        rollout: Sequence[int] | None = None,
        disabled: bool = False,
    ) -> str:
        """A rule appended to the flag's rules in ``environment``, serving ``variation`` or a
        percentage ``rollout`` (one weight per variation, thousandths of a percent); by default
        it holds the kind clause for ``user`` alone. Its id."""
        with self.lock:
            scope = Scope(project, flag, environment)
            rule: JSON = {
                "_id": _new_id(),
                "disabled": disabled,
                "clauses": [_clause_body(clause) for clause in (clauses or [kind_clause("user")])],
                "trackEvents": False,
            }
            rule |= {"rollout": _rollout(rollout)} if rollout is not None else {"variation": variation}
            if description is not None:
                rule["description"] = description
            self._config(scope)["rules"].append(rule)
            self._changed(scope)
            return str(rule["_id"])

    def set_on(
        self, on: bool, *, project: str = "demo", flag: str = "new-checkout", environment: str = "production"
    ) -> None:
        """Turn the flag on or off in ``environment``. Turning it off discards its running
        release there, as the spec says of a flag that changes underneath a release."""
        with self.lock:
            scope = Scope(project, flag, environment)
            self._config(scope)["on"] = on
            self._changed(scope)
            running = self._running(scope)
            if not on and running is not None:
                self._revert(running, "reverted_discarded")

    def set_fallthrough_rollout(
        self,
        weights: Sequence[int],
        *,
        project: str = "demo",
        flag: str = "new-checkout",
        environment: str = "production",
    ) -> None:
        """The default rule serves a percentage rollout: one weight per variation, in thousandths
        of a percent, adding up to 100000."""
        with self.lock:
            scope = Scope(project, flag, environment)
            self._config(scope)["fallthrough"] = {"rollout": _rollout(weights)}
            self._changed(scope)

    def require_approvals(
        self, *, project: str = "demo", environment: str = "production", bypass: bool = False
    ) -> None:
        """The environment requires approvals: starts and stops answer 405, unless the token was
        granted ``bypassRequiredApproval`` (``bypass``)."""
        with self.lock:
            self._approvals[(project, environment)] = bypass

    def fail_health_checks(self, *checks: tuple[str, str | None, str]) -> None:
        """The next start's health checks fail: each ``(kind, metric key or None, message)``."""
        with self.lock:
            for kind, metric_key, message in checks:
                if kind not in HEALTH_CHECK_KINDS:
                    raise ValueError(f"unknown health check kind {kind}")
                failure = {"kind": kind, "message": message}
                self._failing_checks.append(failure | ({"metricKey": metric_key} if metric_key else {}))

    def add_plan(
        self,
        key: str,
        *,
        project: str = "demo",
        environment: str = "production",
        randomization_unit: str = "user",
        phases: Sequence[JSON],
        metrics: Sequence[JSON] = (),
        advancement_mode: str = "automatic",
        cleanup_behavior: str = LEAVE_RULES,
    ) -> JSON:
        """An environment release plan: phases and metrics spelled as in a start request."""
        with self.lock:
            plan = {
                "randomizationUnit": randomization_unit,
                "phases": copy.deepcopy(list(phases)),
                "metrics": copy.deepcopy(list(metrics)),
                "advancementMode": advancement_mode,
                "cleanupBehavior": cleanup_behavior,
            }
            self._plans[(project, environment, key)] = plan
            return copy.deepcopy(plan)

    def set_plans_available(self, available: bool) -> None:
        """Whether the account has environment release plans (without them a start from a
        plan answers 422)."""
        with self.lock:
            self._plans_available = available

    def start_release(
        self,
        *,
        project: str = "demo",
        flag: str = "new-checkout",
        environment: str = "production",
        target: str,
        original: str,
        phases: Sequence[JSON],
        metrics: Sequence[JSON] = (),
        randomization_unit: str = "user",
        advancement_mode: str | None = None,
        cleanup_behavior: str | None = None,
    ) -> JSON:
        """Start a release as another job or a person would have: the variations by id or name,
        the phases and metrics spelled as in a start request. The API's rules apply (a refusal
        raises ValueError), but not approvals or health checks, which a person passes in
        LaunchDarkly's UI. The release as served."""
        with self.lock:
            variations = self._flag(project, flag)["variations"]
            request = {
                "originalVariationId": _variation_id(variations, original),
                "targetVariationId": _variation_id(variations, target),
                "randomizationUnit": randomization_unit,
                "phases": copy.deepcopy(list(phases)),
                "metrics": copy.deepcopy(list(metrics)),
                "advancementMode": advancement_mode,
                "cleanupBehavior": cleanup_behavior,
            }
            try:
                release = self._begin(Scope(project, flag, environment), request, by_person=True)
            except Refusal as refusal:
                raise ValueError(str(refusal)) from None
            return copy.deepcopy(release.body)

    # -- verbs: what happens in LaunchDarkly ------------------------------------------------

    def hold(self, release_id: str) -> None:
        """The release stops moving on as it is read (its step takes longer than the test)."""
        with self.lock:
            self._held.add(self._by_id(release_id).id)

    def release_hold(self, release_id: str) -> None:
        """The release moves on as it is read again."""
        with self.lock:
            self._held.discard(release_id)

    def advance(self, release_id: str) -> JSON:
        """A person advances a manual release waiting between phases, in LaunchDarkly's UI (no
        API operation can). The release as served."""
        with self.lock:
            release = self._by_id(release_id)
            if release.body.get("statusReason") != "waiting_phase_ended":
                raise ValueError(f"release {release_id} is not waiting between phases")
            self._start_phase(release, release.in_status("pending")[0]["phaseIndex"])
            return self.release(release_id)

    def regress(self, release_id: str, metric_key: str) -> JSON:
        """A regression of ``metric_key`` in the running phase: with the metric's autoRollback
        the release reverts; without, it waits for someone to look. The release as served."""
        with self.lock:
            release = self._by_id(release_id)
            phase = release.current_phase()
            metric = next((m for m in release.body["metrics"] if m["metricKey"] == metric_key), None)
            if phase is None or metric is None:
                raise ValueError(f"release {release_id} has no running phase or no metric {metric_key}")
            phase["metricStatuses"][metric_key] = "regressed"
            if metric["autoRollback"]:
                self._revert(release, "reverted_regression_detected")
            else:
                phase.update(status="waiting", statusReason="waiting_regression_detected")
                release.body.update(status="waiting", statusReason="waiting_regression_detected")
            return self.release(release_id)

    def discard(self, release_id: str) -> JSON:
        """The flag changed underneath the release (turned off, archived, deleted): it reverts,
        discarded. The release as served."""
        return self._revert_running(release_id, "reverted_discarded")

    def insufficient_data(self, release_id: str) -> JSON:
        """Too little data reached a guarded release: it reverts. The release as served."""
        return self._revert_running(release_id, "reverted_insufficient_data")

    def _revert_running(self, release_id: str, reason: str) -> JSON:
        with self.lock:
            release = self._by_id(release_id)
            if release.body["status"] not in RUNNING:
                raise ValueError(f"release {release_id} has already ended")
            self._revert(release, reason)
            return self.release(release_id)

    def age(self, release_id: str, days: float) -> None:
        """The release, which has ended, ended ``days`` days ago (over 90: it is gone)."""
        with self.lock:
            release = self._by_id(release_id)
            if release.body["status"] not in ENDED:
                raise ValueError(f"release {release_id} has not ended")
            release.body["endedAt"] = self.now() - int(days * DAY_MS)

    # -- verbs: reading ---------------------------------------------------------------------

    def release(self, release_id: str) -> JSON:
        """The release as served (a copy; reading it here does not move it on)."""
        with self.lock:
            return copy.deepcopy(self._by_id(release_id).body)

    def releases(
        self, *, project: str = "demo", flag: str = "new-checkout", environment: str = "production"
    ) -> list[JSON]:
        """Every release of the flag in the environment, newest first, gone ones too (copies)."""
        with self.lock:
            scope = Scope(project, flag, environment)
            return [copy.deepcopy(release.body) for release in self._newest_first(scope)]

    def flag(self, *, project: str = "demo", flag: str = "new-checkout") -> JSON:
        """The flag as served, every environment (a copy)."""
        with self.lock:
            return copy.deepcopy(self._flag(project, flag))


def _link(href: str) -> JSON:
    return {"href": href, "type": "application/json"}


def _flag_path(project: str, flag: str) -> str:
    return f"/api/v2/flags/{quote(project, safe='')}/{quote(flag, safe='')}"


def _releases_path(scope: Scope) -> str:
    project, flag, environment = (quote(part, safe="") for part in scope)
    return f"/api/v2/projects/{project}/flags/{flag}/environments/{environment}/releases"


def _variation_id(variations: list[JSON], wanted: str) -> str:
    for variation in variations:
        if wanted in (variation["_id"], variation.get("name")):
            return str(variation["_id"])
    raise ValueError(f"no variation {wanted}")


def _rollout(weights: Sequence[int]) -> JSON:
    if sum(weights) != FULL:
        raise ValueError(f"rollout weights must add up to {FULL}")
    return {
        "variations": [{"variation": index, "weight": weight} for index, weight in enumerate(weights)],
        "bucketBy": "key",
        "contextKind": "user",
    }


def _clause_body(clause: JSON) -> JSON:
    """A clause as a flag holds it: with an id, and negate always spelled out."""
    body = {
        "_id": _new_id(),
        "attribute": clause["attribute"],
        "op": clause["op"],
        "values": list(clause["values"]),
    }
    if clause.get("contextKind") is not None:
        body["contextKind"] = clause["contextKind"]
    return body | {"negate": bool(clause.get("negate", False))}


def _phase_body(index: int, rule: JSON, phase_steps: list[JSON], metrics: list[JSON]) -> JSON:
    phase: JSON = {
        "id": _new_id(),
        "phaseIndex": index,
        "ruleId": rule["_id"],
        "status": "pending",
        "steps": [
            {"stepIndex": at, "allocation": step["allocation"], "durationMillis": step["durationMillis"]}
            for at, step in enumerate(phase_steps)
        ],
        "metricStatuses": {metric["metricKey"]: "ok" for metric in metrics},
    }
    if rule.get("description"):
        phase["description"] = rule["description"]
    return phase


def _flag_config(
    project: str, flag: str, environment: str, *, on: bool, fallthrough: int, off: int, now: int
) -> JSON:
    return {
        "on": on,
        "archived": False,
        "salt": uuid.uuid5(uuid.NAMESPACE_URL, f"{project}/{flag}/{environment}").hex,
        "sel": uuid.uuid5(uuid.NAMESPACE_URL, f"sel/{project}/{flag}/{environment}").hex,
        "lastModified": now,
        "version": 1,
        "targets": [],
        "contextTargets": [],
        "rules": [],
        "fallthrough": {"variation": fallthrough},
        "offVariation": off,
        "prerequisites": [],
        "_site": {"href": f"/{project}/{environment}/features/{flag}", "type": "text/html"},
        "_environmentName": environment.capitalize(),
        "trackEvents": False,
        "trackEventsFallthrough": False,
    }
