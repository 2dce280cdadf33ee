"""The stand-in's environment releases follow LaunchDarkly's published specification.

Each test asks :meth:`EnvironmentReleases.handle` as the stand-in's HTTP side will, and every
answer (and every body the API would take as sent) goes through the oracle built on
LaunchDarkly's generated models.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest

import oracle_releases
from standin import Recorded
from standin_releases import EnvironmentReleases, kind_clause, new_rule_phase, steps

JSON = dict[str, Any]
RELEASES = "/api/v2/projects/demo/flags/new-checkout/environments/production/releases"
FLAG = "/api/v2/flags/demo/new-checkout"
START_OF_TEST = 1_800_000_000_000


class Clock:
    """Time as the stand-in sees it: still, until a test moves it."""

    def __init__(self) -> None:
        self.ms = START_OF_TEST

    def __call__(self) -> int:
        return self.ms


class Client:
    """Requests handed to the stand-in as its HTTP side hands them, each one recorded."""

    def __init__(self, releases: EnvironmentReleases) -> None:
        self.releases = releases
        self.records: list[Recorded] = []  # bodies as the API takes them: checked both ways
        self.answers_only: list[Recorded] = []  # bodies made wrong on purpose: answers checked

    def call(self, method: str, path: str, body: Any = None, *, well_formed: bool = True) -> tuple[int, Any]:
        payload = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        bare, _, query = path.partition("?")
        segments = [unquote(part) for part in bare.strip("/").split("/")]
        answer = self.releases.handle(method, segments, parse_qs(query), payload)
        assert answer is not None, f"{method} {path} is not served"
        status, served = answer
        response = b"" if served is None else json.dumps(served).encode()
        (self.records if well_formed else self.answers_only).append(
            Recorded(method, path, {}, payload, status, response)
        )
        return status, served

    def get(self, path: str) -> tuple[int, Any]:
        return self.call("GET", path)

    def start(self, body: Any, *, well_formed: bool = True) -> tuple[int, Any]:
        return self.call("POST", RELEASES, body, well_formed=well_formed)

    def started(self, body: JSON) -> JSON:
        status, release = self.start(body)
        assert status == 201, release
        return dict(release)

    def stop(self, release_id: str, resolution: str, *, well_formed: bool = True) -> tuple[int, Any]:
        return self.call(
            "PUT", f"{RELEASES}/{release_id}/stop", {"resolution": resolution}, well_formed=well_formed
        )

    def read(self, release_id: str) -> JSON:
        status, release = self.get(f"{RELEASES}/{release_id}")
        assert status == 200, release
        return dict(release)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def releases(clock: Clock) -> EnvironmentReleases:
    """The demo's boolean flag, on in test and production, with no rules."""
    standin = EnvironmentReleases(now=clock)
    standin.add_flag()
    return standin


@pytest.fixture
def api(releases: EnvironmentReleases) -> Iterator[Client]:
    client = Client(releases)
    yield client
    oracle_releases.check_traffic(client.records)
    for record in client.answers_only:
        oracle_releases.check_answer(record)


def variation_ids(releases: EnvironmentReleases) -> tuple[str, str]:
    """(target, original): the demo flag's true and false."""
    variations = releases.flag()["variations"]
    return variations[0]["_id"], variations[1]["_id"]


def start_body(releases: EnvironmentReleases, *phases: JSON, **fields: Any) -> JSON:
    """A valid inline start of true, from false: by default one new-rule phase, 10 % then 50 %."""
    target, original = variation_ids(releases)
    body: JSON = {
        "originalVariationId": original,
        "targetVariationId": target,
        "randomizationUnit": "user",
        "phases": list(phases) or [cohort_phase("canary", 10_000, 50_000)],
    }
    return body | fields


def cohort_phase(description: str, *allocations: int, unit: str = "user") -> JSON:
    """A new-rule phase whose rule is its own: the kind clause, and a cohort named by the
    description (rules that releases leave in place would otherwise make a later one a duplicate)."""
    created = new_rule_phase(description, *allocations, unit=unit)
    created["clauses"].append(
        {"contextKind": unit, "attribute": "cohort", "op": "in", "values": [description]}
    )
    return created


def rules(releases: EnvironmentReleases, environment: str = "production") -> list[JSON]:
    found: list[JSON] = releases.flag()["environments"][environment]["rules"]
    return found


def refusal(answer: tuple[int, Any]) -> tuple[int, str]:
    status, body = answer
    return status, body["code"]


# -- the flag -------------------------------------------------------------------------------


def test_flag_is_served_with_variations_and_each_environment(
    api: Client, releases: EnvironmentReleases
) -> None:
    rule_id = releases.add_rule(description="beta users", variation=0)
    status, flag = api.get(FLAG)
    assert status == 200
    assert [(v["value"], v["name"]) for v in flag["variations"]] == [
        (True, "Available"),
        (False, "Unavailable"),
    ]
    assert all(uuid.UUID(v["_id"]) for v in flag["variations"])
    assert sorted(flag["environments"]) == ["production", "test"]
    production = flag["environments"]["production"]
    assert production["on"] is True
    assert production["fallthrough"] == {"variation": 1}
    assert production["rules"][0]["_id"] == rule_id
    assert production["rules"][0]["description"] == "beta users"
    assert production["rules"][0]["clauses"][0] | {"_id": "x"} == kind_clause() | {
        "_id": "x",
        "negate": False,
    }


def test_flag_env_query_keeps_only_that_environment(api: Client) -> None:
    status, flag = api.get(f"{FLAG}?env=production")
    assert status == 200
    assert list(flag["environments"]) == ["production"]


def test_fallthrough_rollout_is_a_percentage_rollout(api: Client, releases: EnvironmentReleases) -> None:
    releases.set_fallthrough_rollout([25_000, 75_000])
    _, flag = api.get(FLAG)
    weights = flag["environments"]["production"]["fallthrough"]["rollout"]["variations"]
    assert weights == [{"variation": 0, "weight": 25_000}, {"variation": 1, "weight": 75_000}]


def test_rule_can_serve_a_rollout_and_start_disabled(api: Client, releases: EnvironmentReleases) -> None:
    releases.add_rule(description="half", rollout=[50_000, 50_000], disabled=True)
    _, flag = api.get(FLAG)
    rule = flag["environments"]["production"]["rules"][0]
    assert rule["disabled"] is True
    assert "variation" not in rule
    assert [w["weight"] for w in rule["rollout"]["variations"]] == [50_000, 50_000]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/flags/demo/unknown-flag",
        "/api/v2/flags/other-project/new-checkout",
        "/api/v2/projects/demo/flags/unknown-flag/environments/production/releases",
        "/api/v2/projects/demo/flags/new-checkout/environments/staging/releases",
        "/api/v2/projects/other/flags/new-checkout/environments/production/releases",
    ],
)
def test_unknown_project_flag_or_environment_is_404_not_found(api: Client, path: str) -> None:
    status, body = api.get(path)
    assert (status, body["code"]) == (404, "not_found")
    assert body["message"] and body["id"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v2/flags/demo/new-checkout/release"),
        ("PUT", "/api/v2/projects/demo/flags/new-checkout/release"),
        ("DELETE", RELEASES),
        ("PUT", FLAG),
        ("POST", f"{RELEASES}/some-id"),
    ],
)
def test_paths_it_does_not_serve_answer_none(releases: EnvironmentReleases, method: str, path: str) -> None:
    assert releases.handle(method, path.strip("/").split("/"), {}, b"") is None


# -- listing --------------------------------------------------------------------------------


def ended_release(api: Client, releases: EnvironmentReleases, **fields: Any) -> JSON:
    """A release started and stopped, so that another can start; each on a rule of its own."""
    description = f"ended {len(releases.releases())}"
    release = api.started(start_body(releases, cohort_phase(description, 10_000), **fields))
    assert api.stop(release["id"], "roll_back_all_phases_and_remove_pending_phases")[0] == 200
    return release


def test_list_is_newest_first_with_total_count_and_links(
    api: Client, releases: EnvironmentReleases, clock: Clock
) -> None:
    older = ended_release(api, releases)
    clock.ms += 1000
    newer = api.started(start_body(releases, cohort_phase("second", 20_000)))
    status, page = api.get(RELEASES)
    assert status == 200
    assert [item["id"] for item in page["items"]] == [newer["id"], older["id"]]
    assert page["totalCount"] == 2
    assert {"self", "parent", "first", "last"} <= set(page["_links"])
    assert page["_links"]["parent"]["href"] == FLAG


def test_list_pages_with_limit_and_offset(api: Client, releases: EnvironmentReleases) -> None:
    ids = [ended_release(api, releases)["id"] for _ in range(3)]
    _, page = api.get(f"{RELEASES}?limit=1&offset=1")
    assert [item["id"] for item in page["items"]] == [ids[1]]
    assert page["totalCount"] == 3
    assert "limit=1&offset=0" in page["_links"]["prev"]["href"]
    assert "limit=1&offset=2" in page["_links"]["next"]["href"]
    assert "limit=1&offset=2" in page["_links"]["last"]["href"]


def test_list_limit_defaults_to_25(api: Client, releases: EnvironmentReleases) -> None:
    for _ in range(26):
        ended_release(api, releases)
    _, page = api.get(RELEASES)
    assert (len(page["items"]), page["totalCount"]) == (25, 26)


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=ten", "offset=-1", "filter=kind+equals+other"]
)
def test_list_query_out_of_range_is_400(api: Client, query: str) -> None:
    assert refusal(api.get(f"{RELEASES}?{query}")) == (400, "invalid_request")


def test_list_filters_by_kind(api: Client, releases: EnvironmentReleases) -> None:
    guarded = ended_release(api, releases, metrics=[{"metricKey": "latency", "autoRollback": True}])
    progressive = ended_release(api, releases)
    _, only_guarded = api.get(f"{RELEASES}?filter=kind%20equals%20guarded")
    _, only_progressive = api.get(f"{RELEASES}?filter=kind+equals+progressive")
    assert [item["id"] for item in only_guarded["items"]] == [guarded["id"]]
    assert [item["id"] for item in only_progressive["items"]] == [progressive["id"]]
    assert only_guarded["totalCount"] == 1


def test_list_is_empty_for_a_flag_without_releases(api: Client) -> None:
    _, page = api.get(RELEASES)
    assert (page["items"], page["totalCount"]) == ([], 0)


def test_list_leaves_out_releases_ended_over_90_days_ago(api: Client, releases: EnvironmentReleases) -> None:
    gone = ended_release(api, releases)
    kept = ended_release(api, releases)
    releases.age(gone["id"], 91)
    releases.age(kept["id"], 90)
    _, page = api.get(RELEASES)
    assert [item["id"] for item in page["items"]] == [kept["id"]]
    assert page["totalCount"] == 1


# -- reading one ----------------------------------------------------------------------------


@pytest.mark.parametrize("release_id", ["7b0c3f1e-2d4a-4e5b-9c6d-0a1b2c3d4e5f", "not-a-uuid"])
def test_unknown_release_is_404(api: Client, release_id: str) -> None:
    assert refusal(api.get(f"{RELEASES}/{release_id}")) == (404, "not_found")


def test_release_of_another_environment_or_flag_is_404(api: Client, releases: EnvironmentReleases) -> None:
    releases.add_flag(flag="other-flag")
    release = api.started(start_body(releases))
    other_environment = RELEASES.replace("production", "test")
    other_flag = RELEASES.replace("new-checkout", "other-flag")
    assert refusal(api.get(f"{other_environment}/{release['id']}")) == (404, "not_found")
    assert refusal(api.get(f"{other_flag}/{release['id']}")) == (404, "not_found")


def test_release_ended_over_90_days_ago_is_404(api: Client, releases: EnvironmentReleases) -> None:
    release = ended_release(api, releases)
    releases.age(release["id"], 90)
    assert api.get(f"{RELEASES}/{release['id']}")[0] == 200
    releases.age(release["id"], 90.5)
    assert refusal(api.get(f"{RELEASES}/{release['id']}")) == (404, "not_found")
    assert refusal(api.stop(release["id"], "roll_forward_all_phases")) == (404, "not_found")


# -- starting -------------------------------------------------------------------------------


def test_start_answers_201_with_the_first_step_of_the_first_phase_started(
    api: Client, releases: EnvironmentReleases
) -> None:
    target, original = variation_ids(releases)
    status, release = api.start(start_body(releases))
    assert status == 201
    assert uuid.UUID(release["id"])
    assert (release["status"], release["currentPhaseIndex"], release["kind"]) == (
        "in_progress",
        0,
        "progressive",
    )
    assert (release["createdAt"], release["startedAt"]) == (START_OF_TEST, START_OF_TEST)
    assert "endedAt" not in release
    assert (release["targetVariationId"], release["targetVariationValue"]) == (target, True)
    assert (release["originalVariationId"], release["originalVariationValue"]) == (original, False)
    assert release["cleanupBehavior"] == "leave_rules_in_place"
    phase = release["phases"][0]
    assert (phase["status"], phase["currentStepIndex"], phase["startedAt"]) == (
        "in_progress",
        0,
        START_OF_TEST,
    )
    assert phase["steps"][0]["startedAt"] == START_OF_TEST
    assert "startedAt" not in phase["steps"][1]
    assert phase["description"] == "canary"
    assert phase["ruleId"] == rules(releases)[0]["_id"]


def test_release_rule_serves_a_rollout_of_the_step_allocation(
    api: Client, releases: EnvironmentReleases
) -> None:
    api.started(start_body(releases))
    rollout = rules(releases)[0]["rollout"]
    assert rollout["variations"] == [{"variation": 0, "weight": 10_000}, {"variation": 1, "weight": 90_000}]
    assert rollout["contextKind"] == "user"


def test_kind_is_guarded_with_metrics(api: Client, releases: EnvironmentReleases) -> None:
    release = api.started(start_body(releases, metrics=[{"metricKey": "latency", "autoRollback": True}]))
    assert release["kind"] == "guarded"
    assert release["metrics"][0]["metricKey"] == "latency"
    assert release["metrics"][0]["autoRollback"] is True
    assert release["phases"][0]["metricStatuses"] == {"latency": "ok"}


@pytest.mark.parametrize("missing", ["originalVariationId", "targetVariationId"])
def test_start_requires_both_variation_ids(api: Client, releases: EnvironmentReleases, missing: str) -> None:
    body = start_body(releases)
    del body[missing]
    assert refusal(api.start(body, well_formed=False)) == (400, "invalid_request")


@pytest.mark.parametrize("field", ["originalVariationId", "targetVariationId"])
def test_start_with_a_variation_not_of_the_flag_is_400(
    api: Client, releases: EnvironmentReleases, field: str
) -> None:
    body = start_body(releases) | {field: str(uuid.uuid4())}
    assert refusal(api.start(body)) == (400, "invalid_request")


def test_start_from_a_release_plan(api: Client, releases: EnvironmentReleases) -> None:
    releases.add_plan(
        "two-step",
        phases=[cohort_phase("plan rule", 25_000, 100_000)],
        cleanup_behavior="remove_rules_and_update_default_rule",
    )
    target, original = variation_ids(releases)
    release = api.started(
        {"originalVariationId": original, "targetVariationId": target, "releasePlanKey": "two-step"}
    )
    assert release["cleanupBehavior"] == "remove_rules_and_update_default_rule"
    assert [step["allocation"] for step in release["phases"][0]["steps"]] == [25_000, 100_000]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("randomizationUnit", "user"),
        ("phases", [cohort_phase("x", 10_000)]),
        ("metrics", []),
        ("advancementMode", "automatic"),
        ("cleanupBehavior", "leave_rules_in_place"),
    ],
)
def test_start_from_a_plan_that_also_sets_what_the_plan_supplies_is_400(
    api: Client, releases: EnvironmentReleases, field: str, value: Any
) -> None:
    releases.add_plan("plan", phases=[cohort_phase("plan rule", 100_000)])
    target, original = variation_ids(releases)
    body = {
        "originalVariationId": original,
        "targetVariationId": target,
        "releasePlanKey": "plan",
        field: value,
    }
    assert refusal(api.start(body)) == (400, "invalid_request")


def test_start_from_an_unknown_plan_is_400(api: Client, releases: EnvironmentReleases) -> None:
    releases.add_plan("plan", environment="test", phases=[cohort_phase("plan rule", 100_000)])
    target, original = variation_ids(releases)
    body = {"originalVariationId": original, "targetVariationId": target, "releasePlanKey": "plan"}
    assert refusal(api.start(body)) == (400, "invalid_request")


def test_start_from_a_plan_without_plans_for_the_account_is_422(
    api: Client, releases: EnvironmentReleases
) -> None:
    releases.add_plan("plan", phases=[cohort_phase("plan rule", 100_000)])
    releases.set_plans_available(False)
    target, original = variation_ids(releases)
    body = {"originalVariationId": original, "targetVariationId": target, "releasePlanKey": "plan"}
    assert refusal(api.start(body)) == (422, "invalid_request")


@pytest.mark.parametrize("missing", ["randomizationUnit", "phases"])
def test_inline_start_requires_randomization_unit_and_phases(
    api: Client, releases: EnvironmentReleases, missing: str
) -> None:
    body = start_body(releases)
    del body[missing]
    assert refusal(api.start(body)) == (400, "invalid_request")


def test_multi_phase_start_requires_advancement_mode(api: Client, releases: EnvironmentReleases) -> None:
    body = start_body(releases, cohort_phase("first", 10_000), cohort_phase("second", 10_000))
    assert refusal(api.start(body)) == (400, "invalid_request")
    assert api.start(body | {"advancementMode": "automatic"})[0] == 201


def test_start_on_an_existing_enabled_rule(api: Client, releases: EnvironmentReleases) -> None:
    rule_id = releases.add_rule(description="beta users")
    release = api.started(start_body(releases, {"ruleId": rule_id, "steps": steps(10_000)}))
    assert release["phases"][0]["ruleId"] == rule_id
    assert release["phases"][0]["description"] == "beta users"
    assert len(rules(releases)) == 1


def test_existing_rule_only_in_a_single_phase_release(api: Client, releases: EnvironmentReleases) -> None:
    rule_id = releases.add_rule(description="beta users")
    body = start_body(
        releases,
        {"ruleId": rule_id, "steps": steps(10_000)},
        cohort_phase("more", 10_000),
        advancementMode="manual",
    )
    assert refusal(api.start(body)) == (400, "invalid_request")


@pytest.mark.parametrize("disabled", [True, False])
def test_existing_rule_must_exist_and_be_enabled(
    api: Client, releases: EnvironmentReleases, disabled: bool
) -> None:
    rule_id = releases.add_rule(description="beta users", disabled=True) if disabled else str(uuid.uuid4())
    body = start_body(releases, {"ruleId": rule_id, "steps": steps(10_000)})
    assert refusal(api.start(body)) == (400, "invalid_request")


@pytest.mark.parametrize(
    "phase",
    [
        pytest.param({"steps": steps(10_000)}, id="neither"),
        pytest.param({"ruleId": "r", "clauses": [kind_clause()], "steps": steps(10_000)}, id="both"),
    ],
)
def test_phase_with_both_or_neither_targeting_mode_is_400(
    api: Client, releases: EnvironmentReleases, phase: JSON
) -> None:
    assert refusal(api.start(start_body(releases, phase), well_formed=False)) == (400, "invalid_request")


@pytest.mark.parametrize(
    "clauses",
    [
        pytest.param(
            [{"contextKind": "user", "attribute": "country", "op": "in", "values": ["fr"]}], id="missing"
        ),
        pytest.param([kind_clause() | {"negate": True}], id="negated"),
        pytest.param([kind_clause() | {"values": ["user", "org"]}], id="other-values"),
        pytest.param([kind_clause("org")], id="other-kind"),
        pytest.param([kind_clause() | {"op": "startsWith"}], id="other-op"),
    ],
)
def test_new_rule_without_the_kind_clause_is_400(
    api: Client, releases: EnvironmentReleases, clauses: list[JSON]
) -> None:
    phase = {"clauses": clauses, "steps": steps(10_000)}
    assert refusal(api.start(start_body(releases, phase))) == (400, "invalid_request")
    assert rules(releases) == []


def test_existing_rule_without_the_kind_clause_is_400(api: Client, releases: EnvironmentReleases) -> None:
    rule_id = releases.add_rule(
        description="French users",
        clauses=[{"contextKind": "user", "attribute": "country", "op": "in", "values": ["fr"]}],
    )
    body = start_body(releases, {"ruleId": rule_id, "steps": steps(10_000)})
    assert refusal(api.start(body)) == (400, "invalid_request")


def test_kind_clause_is_for_the_randomization_unit(api: Client, releases: EnvironmentReleases) -> None:
    body = start_body(
        releases, cohort_phase("orgs", 10_000, unit="organization"), randomizationUnit="organization"
    )
    assert api.started(body)["randomizationUnit"] == "organization"


@pytest.mark.parametrize(
    "allocations",
    [
        pytest.param(
            [{"allocation": 10_000, "durationMillis": 1}, {"allocation": 10_000, "durationMillis": 1}],
            id="equal",
        ),
        pytest.param(
            [{"allocation": 50_000, "durationMillis": 1}, {"allocation": 10_000, "durationMillis": 1}],
            id="falling",
        ),
        pytest.param([{"allocation": 0, "durationMillis": 1}], id="zero"),
        pytest.param([{"allocation": 100_001, "durationMillis": 1}], id="over-100-percent"),
        pytest.param([{"allocation": 10_000, "durationMillis": 0}], id="no-duration"),
        pytest.param([], id="no-steps"),
    ],
)
def test_steps_rise_strictly_from_1_to_100000(
    api: Client, releases: EnvironmentReleases, allocations: list[JSON]
) -> None:
    phase = {"clauses": [kind_clause()], "description": "canary", "steps": allocations}
    assert refusal(api.start(start_body(releases, phase), well_formed=False)) == (400, "invalid_request")


def test_steps_may_reach_100_percent(api: Client, releases: EnvironmentReleases) -> None:
    assert api.start(start_body(releases, cohort_phase("all", 1, 100_000)))[0] == 201


def test_guarded_release_stays_at_or_below_50_percent(api: Client, releases: EnvironmentReleases) -> None:
    metrics = [{"metricKey": "latency", "autoRollback": True}]
    assert refusal(api.start(start_body(releases, cohort_phase("g", 50_001), metrics=metrics))) == (
        400,
        "invalid_request",
    )
    assert api.start(start_body(releases, cohort_phase("g", 50_000), metrics=metrics))[0] == 201


def test_duplicate_rule_description_is_400(api: Client, releases: EnvironmentReleases) -> None:
    releases.add_rule(description="canary", clauses=[kind_clause("organization")])
    status, body = api.start(start_body(releases))
    assert (status, body["code"], body["message"]) == (
        400,
        "invalid_request",
        "duplicate rule description not allowed",
    )


def test_duplicate_description_among_new_phases_is_400(api: Client, releases: EnvironmentReleases) -> None:
    body = start_body(
        releases, cohort_phase("same", 10_000), cohort_phase("same", 10_000), advancementMode="manual"
    )
    assert api.start(body)[1]["message"] == "duplicate rule description not allowed"


def test_new_rule_exactly_duplicating_a_rule_is_400(api: Client, releases: EnvironmentReleases) -> None:
    releases.add_rule(
        description="everyone in the canary cohort", clauses=cohort_phase("canary", 1)["clauses"]
    )
    status, body = api.start(start_body(releases))
    assert status == 400
    assert body["message"] == "new rule is exact duplicate of an existing rule at index 0"


def test_new_rules_are_appended_the_first_enabled_the_later_disabled(
    api: Client, releases: EnvironmentReleases
) -> None:
    existing = releases.add_rule(description="beta users", clauses=[kind_clause("organization")])
    body = start_body(
        releases, cohort_phase("first", 10_000), cohort_phase("second", 10_000), advancementMode="manual"
    )
    release = api.started(body)
    found = rules(releases)
    assert [rule.get("description") for rule in found] == ["beta users", "first", "second"]
    assert found[0]["_id"] == existing
    assert [rule["disabled"] for rule in found[1:]] == [False, True]
    assert found[2]["variation"] == 1  # a pending phase's rule serves the original variation
    assert [phase["status"] for phase in release["phases"]] == ["in_progress", "pending"]


def test_new_rules_go_before_before_rule_id(api: Client, releases: EnvironmentReleases) -> None:
    first = releases.add_rule(description="one", clauses=[kind_clause("organization")])
    second = releases.add_rule(description="two", clauses=[kind_clause("device")])
    api.started(start_body(releases, beforeRuleId=second))
    assert [rule["_id"] for rule in rules(releases)][::2] == [first, second]
    assert rules(releases)[1]["description"] == "canary"


def test_unknown_before_rule_id_is_400(api: Client, releases: EnvironmentReleases) -> None:
    assert refusal(api.start(start_body(releases, beforeRuleId="no-such-rule"))) == (400, "invalid_request")


def test_start_when_flag_is_off_in_the_environment_is_409(api: Client, releases: EnvironmentReleases) -> None:
    releases.set_on(False)
    status, body = api.start(start_body(releases))
    assert (status, body["message"]) == (409, "flag is off in the environment")


@pytest.mark.parametrize("waiting", [False, True])
def test_start_while_a_release_runs_is_409_release_already_active(
    api: Client, releases: EnvironmentReleases, waiting: bool
) -> None:
    running = api.started(start_body(releases, metrics=[{"metricKey": "latency", "autoRollback": False}]))
    if waiting:
        releases.regress(running["id"], "latency")
    assert refusal(api.start(start_body(releases, cohort_phase("again", 10_000)))) == (
        409,
        "release_already_active",
    )


def test_a_release_in_another_environment_does_not_block_a_start(
    api: Client, releases: EnvironmentReleases
) -> None:
    releases.start_release(
        environment="test", target="Available", original="Unavailable", phases=[cohort_phase("t", 10)]
    )
    assert api.start(start_body(releases))[0] == 201


def test_start_where_approvals_are_required_is_405(api: Client, releases: EnvironmentReleases) -> None:
    releases.require_approvals()
    assert refusal(api.start(start_body(releases))) == (405, "invalid_request")
    assert api.get(RELEASES)[1]["totalCount"] == 0


def test_token_that_may_bypass_approvals_starts(api: Client, releases: EnvironmentReleases) -> None:
    releases.require_approvals(bypass=True)
    assert api.start(start_body(releases))[0] == 201


def test_failing_health_checks_are_400_health_checks_failed(
    api: Client, releases: EnvironmentReleases
) -> None:
    releases.fail_health_checks(
        ("flag_evaluations_any", None, "No recent evaluations"),
        ("metric_events_any", "latency", "No events for latency"),
    )
    status, body = api.start(start_body(releases, metrics=[{"metricKey": "latency", "autoRollback": True}]))
    assert (status, body["code"]) == (400, "health_checks_failed")
    assert body["failingChecks"] == [
        {"kind": "flag_evaluations_any", "message": "No recent evaluations"},
        {"kind": "metric_events_any", "metricKey": "latency", "message": "No events for latency"},
    ]


def test_health_checks_listed_in_bypass_do_not_block(api: Client, releases: EnvironmentReleases) -> None:
    releases.fail_health_checks(("flag_evaluations_any", None, "No recent evaluations"))
    assert api.start(start_body(releases, bypassHealthChecks=["flag_evaluations_any"]))[0] == 201


def test_health_checks_not_all_bypassed_still_block(api: Client, releases: EnvironmentReleases) -> None:
    releases.fail_health_checks(
        ("flag_evaluations_any", None, "No recent evaluations"),
        ("flag_evaluations_with_context", None, "No recent evaluations for user"),
    )
    status, body = api.start(start_body(releases, bypassHealthChecks=["flag_evaluations_any"]))
    assert (status, [check["kind"] for check in body["failingChecks"]]) == (
        400,
        ["flag_evaluations_with_context"],
    )


def test_metric_health_checks_apply_to_guarded_releases_only(
    api: Client, releases: EnvironmentReleases
) -> None:
    releases.fail_health_checks(("metric_events_any", "latency", "No events"))
    assert api.start(start_body(releases))[0] == 201


def test_scripted_health_checks_fail_one_start(api: Client, releases: EnvironmentReleases) -> None:
    releases.fail_health_checks(("flag_evaluations_any", None, "No recent evaluations"))
    assert api.start(start_body(releases))[0] == 400
    assert api.start(start_body(releases))[0] == 201


def test_unknown_fields_in_the_body_are_ignored(api: Client, releases: EnvironmentReleases) -> None:
    body = start_body(releases, comment="from CI", allocationPercent=10)
    body["phases"][0]["stepz"] = []
    status, release = api.start(body, well_formed=False)
    assert status == 201
    assert "allocationPercent" not in release


def test_body_that_is_not_a_json_object_is_400(api: Client) -> None:
    assert refusal(api.start(b"[1, 2]", well_formed=False)) == (400, "invalid_request")
    assert refusal(api.start(b"{not json", well_formed=False)) == (400, "invalid_request")


# -- moving on as it is read ----------------------------------------------------------------


def test_each_read_advances_the_release_one_step(
    api: Client, releases: EnvironmentReleases, clock: Clock
) -> None:
    release = api.started(start_body(releases, cohort_phase("canary", 10_000, 20_000, 50_000)))
    clock.ms += 60_000
    phase = api.read(release["id"])["phases"][0]
    assert phase["currentStepIndex"] == 1
    assert phase["steps"][0]["endedAt"] == phase["steps"][1]["startedAt"] == START_OF_TEST + 60_000
    assert api.read(release["id"])["phases"][0]["currentStepIndex"] == 2
    assert rules(releases)[0]["rollout"]["variations"][0]["weight"] == 50_000


def test_a_list_advances_the_releases_it_includes(api: Client, releases: EnvironmentReleases) -> None:
    release = api.started(start_body(releases))
    _, page = api.get(RELEASES)
    assert page["items"][0]["phases"][0]["currentStepIndex"] == 1
    _, other_page = api.get(f"{RELEASES}?offset=1")
    assert other_page["items"] == []
    assert releases.release(release["id"])["phases"][0]["currentStepIndex"] == 1


def test_held_release_does_not_move_on_until_released(api: Client, releases: EnvironmentReleases) -> None:
    release = api.started(start_body(releases))
    releases.hold(release["id"])
    assert api.read(release["id"])["phases"][0]["currentStepIndex"] == 0
    releases.release_hold(release["id"])
    assert api.read(release["id"])["phases"][0]["currentStepIndex"] == 1


def test_last_phase_completing_completes_the_release(
    api: Client, releases: EnvironmentReleases, clock: Clock
) -> None:
    release = api.started(start_body(releases, cohort_phase("canary", 100_000)))
    clock.ms += 5_000
    done = api.read(release["id"])
    assert (done["status"], done["statusReason"], done["currentPhaseIndex"]) == (
        "completed",
        "completed_automatic",
        None,
    )
    assert done["endedAt"] == START_OF_TEST + 5_000
    phase = done["phases"][0]
    assert (phase["status"], phase["statusReason"], phase["currentStepIndex"]) == (
        "completed",
        "completed_automatic",
        0,
    )
    assert api.read(release["id"]) == done


def test_automatic_advancement_starts_the_next_phase(api: Client, releases: EnvironmentReleases) -> None:
    body = start_body(
        releases,
        cohort_phase("first", 100_000),
        cohort_phase("second", 100_000),
        advancementMode="automatic",
    )
    release = api.read(api.started(body)["id"])
    assert (release["status"], release["currentPhaseIndex"]) == ("in_progress", 1)
    assert [phase["status"] for phase in release["phases"]] == ["completed", "in_progress"]
    assert [rule["disabled"] for rule in rules(releases)] == [False, False]
    assert api.read(release["id"])["status"] == "completed"


def test_manual_advancement_waits_between_phases_until_a_person_advances(
    api: Client, releases: EnvironmentReleases
) -> None:
    body = start_body(
        releases,
        cohort_phase("first", 100_000),
        cohort_phase("second", 100_000),
        advancementMode="manual",
    )
    release = api.read(api.started(body)["id"])
    assert (release["status"], release["statusReason"], release["currentPhaseIndex"]) == (
        "waiting",
        "waiting_phase_ended",
        None,
    )
    assert "statusReason" not in release["phases"][1] and release["phases"][1]["status"] == "pending"
    assert api.read(release["id"])["status"] == "waiting"  # reads do not advance it
    releases.advance(release["id"])
    advanced = api.read(release["id"])
    assert advanced["status"] == "completed"  # the read moved the second phase's only step on


def test_cleanup_removes_the_rules_and_serves_the_target_by_default(
    api: Client, releases: EnvironmentReleases
) -> None:
    existing = releases.add_rule(description="org", clauses=[kind_clause("organization")], variation=1)
    body = start_body(
        releases, cohort_phase("canary", 100_000), cleanupBehavior="remove_rules_and_update_default_rule"
    )
    api.read(api.started(body)["id"])
    production = releases.flag()["environments"]["production"]
    assert [rule["_id"] for rule in production["rules"]] == [existing]
    assert production["fallthrough"] == {"variation": 0}


def test_rules_left_in_place_serve_the_target(api: Client, releases: EnvironmentReleases) -> None:
    api.read(api.started(start_body(releases, cohort_phase("canary", 100_000)))["id"])
    production = releases.flag()["environments"]["production"]
    assert production["rules"][0]["variation"] == 0
    assert "rollout" not in production["rules"][0]
    assert production["fallthrough"] == {"variation": 1}


# -- stopping -------------------------------------------------------------------------------


@pytest.mark.parametrize("resolution", ["roll_back", "", None])
def test_stop_with_an_unknown_resolution_is_400(
    api: Client, releases: EnvironmentReleases, resolution: str | None
) -> None:
    release = api.started(start_body(releases))
    status, body = api.call(
        "PUT", f"{RELEASES}/{release['id']}/stop", {"resolution": resolution}, well_formed=False
    )
    assert (status, body["code"]) == (400, "invalid_request")


def test_stop_of_a_release_that_ended_is_200_unchanged(api: Client, releases: EnvironmentReleases) -> None:
    release = ended_release(api, releases)
    before = releases.release(release["id"])
    for resolution in ("roll_forward_all_phases", "roll_forward_current_phase_and_remove_pending_phases"):
        assert api.stop(release["id"], resolution) == (200, before)


@pytest.mark.parametrize(
    "resolution",
    [
        "roll_forward_current_phase_and_remove_pending_phases",
        "roll_back_current_phase_and_remove_pending_phases",
    ],
)
def test_current_phase_resolutions_between_phases_are_400(
    api: Client, releases: EnvironmentReleases, resolution: str
) -> None:
    body = start_body(
        releases,
        cohort_phase("first", 100_000),
        cohort_phase("second", 100_000),
        advancementMode="manual",
    )
    release = api.read(api.started(body)["id"])
    assert refusal(api.stop(release["id"], resolution)) == (400, "invalid_request")
    assert api.stop(release["id"], "roll_back_all_phases_and_remove_pending_phases")[0] == 200


def test_stop_where_approvals_are_required_is_405(api: Client, releases: EnvironmentReleases) -> None:
    release = api.started(start_body(releases))
    releases.require_approvals()
    assert refusal(api.stop(release["id"], "roll_forward_all_phases")) == (405, "invalid_request")
    releases.require_approvals(bypass=True)
    assert api.stop(release["id"], "roll_forward_all_phases")[0] == 200


@pytest.mark.parametrize(
    "resolution", ["roll_forward_all_phases", "roll_forward_current_phase_and_remove_pending_phases"]
)
def test_roll_forward_completes_the_release_manually(
    api: Client, releases: EnvironmentReleases, clock: Clock, resolution: str
) -> None:
    release = api.started(start_body(releases))
    clock.ms += 7_000
    status, stopped = api.stop(release["id"], resolution)
    assert status == 200
    assert (stopped["status"], stopped["statusReason"], stopped["currentPhaseIndex"]) == (
        "completed",
        "completed_manual",
        None,
    )
    assert stopped["endedAt"] == START_OF_TEST + 7_000
    assert (stopped["phases"][0]["status"], stopped["phases"][0]["statusReason"]) == (
        "completed",
        "completed_manual",
    )
    assert rules(releases)[0]["variation"] == 0


@pytest.mark.parametrize(
    "resolution",
    ["roll_back_all_phases_and_remove_pending_phases", "roll_back_current_phase_and_remove_pending_phases"],
)
def test_roll_back_reverts_the_release_manually(
    api: Client, releases: EnvironmentReleases, resolution: str
) -> None:
    release = api.started(start_body(releases))
    _, stopped = api.stop(release["id"], resolution)
    assert (stopped["status"], stopped["statusReason"]) == ("reverted", "reverted_manual")
    assert (stopped["phases"][0]["status"], stopped["phases"][0]["statusReason"]) == (
        "reverted",
        "reverted_manual",
    )
    assert rules(releases)[0]["variation"] == 1


def three_phases(api: Client, releases: EnvironmentReleases) -> JSON:
    """A manual release in its second phase: the first completed, the third pending."""
    body = start_body(
        releases,
        cohort_phase("first", 100_000),
        cohort_phase("second", 10_000, 50_000),
        cohort_phase("third", 100_000),
        advancementMode="manual",
    )
    release = api.read(api.started(body)["id"])
    releases.advance(release["id"])
    return releases.release(release["id"])


@pytest.mark.parametrize(
    ("resolution", "statuses", "rules_left"),
    [
        (
            "roll_forward_current_phase_and_remove_pending_phases",
            [
                ("completed", "completed_automatic"),
                ("completed", "completed_manual"),
                ("reverted", "reverted_discarded"),
            ],
            ["first", "second"],
        ),
        (
            "roll_back_current_phase_and_remove_pending_phases",
            [
                ("completed", "completed_automatic"),
                ("reverted", "reverted_manual"),
                ("reverted", "reverted_discarded"),
            ],
            ["first", "second"],
        ),
        (
            "roll_back_all_phases_and_remove_pending_phases",
            [
                ("reverted", "reverted_manual"),
                ("reverted", "reverted_manual"),
                ("reverted", "reverted_discarded"),
            ],
            ["first", "second"],
        ),
    ],
)
def test_resolutions_remove_pending_phases_as_discarded(
    api: Client,
    releases: EnvironmentReleases,
    resolution: str,
    statuses: list[tuple[str, str]],
    rules_left: list[str],
) -> None:
    release = three_phases(api, releases)
    _, stopped = api.stop(release["id"], resolution)
    assert [(phase["status"], phase["statusReason"]) for phase in stopped["phases"]] == statuses
    assert [rule["description"] for rule in rules(releases)] == rules_left


def test_roll_back_current_phase_keeps_completed_phases_on_the_target(
    api: Client, releases: EnvironmentReleases
) -> None:
    release = three_phases(api, releases)
    api.stop(release["id"], "roll_back_current_phase_and_remove_pending_phases")
    assert [rule["variation"] for rule in rules(releases)] == [0, 1]


def test_roll_forward_all_phases_completes_every_phase(api: Client, releases: EnvironmentReleases) -> None:
    release = three_phases(api, releases)
    _, stopped = api.stop(release["id"], "roll_forward_all_phases")
    assert [phase["status"] for phase in stopped["phases"]] == ["completed"] * 3
    assert (stopped["status"], stopped["statusReason"]) == ("completed", "completed_manual")
    assert [(rule["variation"], rule["disabled"]) for rule in rules(releases)] == [(0, False)] * 3


# -- what happens in LaunchDarkly -----------------------------------------------------------


def guarded(api: Client, releases: EnvironmentReleases, *, auto_rollback: bool) -> JSON:
    metrics = [
        {"metricKey": "latency", "autoRollback": auto_rollback},
        {"metricKey": "errors", "autoRollback": False},
    ]
    body = start_body(
        releases,
        cohort_phase("first", 10_000),
        cohort_phase("second", 10_000),
        advancementMode="automatic",
    )
    return api.started(body | {"metrics": metrics})


def test_regression_with_auto_rollback_reverts(api: Client, releases: EnvironmentReleases) -> None:
    release = guarded(api, releases, auto_rollback=True)
    releases.regress(release["id"], "latency")
    read = api.read(release["id"])
    assert (read["status"], read["statusReason"]) == ("reverted", "reverted_regression_detected")
    first, second = read["phases"]
    assert (first["status"], first["statusReason"]) == ("reverted", "reverted_regression_detected")
    assert first["metricStatuses"] == {"latency": "regressed", "errors": "ok"}
    assert (second["status"], second["statusReason"]) == ("reverted", "reverted_discarded")


def test_regression_without_auto_rollback_waits(api: Client, releases: EnvironmentReleases) -> None:
    release = guarded(api, releases, auto_rollback=False)
    releases.regress(release["id"], "latency")
    read = api.read(release["id"])
    assert (read["status"], read["statusReason"], read["currentPhaseIndex"]) == (
        "waiting",
        "waiting_regression_detected",
        0,
    )
    assert read["phases"][0]["metricStatuses"]["latency"] == "regressed"
    assert read["phases"][0]["currentStepIndex"] == 0  # waiting: reads do not move it on
    assert api.stop(release["id"], "roll_back_current_phase_and_remove_pending_phases")[0] == 200


def test_discarded_release_reverts(api: Client, releases: EnvironmentReleases) -> None:
    release = api.started(start_body(releases))
    releases.discard(release["id"])
    read = api.read(release["id"])
    assert (read["status"], read["statusReason"]) == ("reverted", "reverted_discarded")
    assert (read["phases"][0]["status"], read["phases"][0]["statusReason"]) == (
        "reverted",
        "reverted_discarded",
    )


def test_turning_the_flag_off_discards_its_running_release(
    api: Client, releases: EnvironmentReleases
) -> None:
    release = api.started(start_body(releases))
    releases.set_on(False)
    assert api.read(release["id"])["statusReason"] == "reverted_discarded"


def test_insufficient_data_reverts(api: Client, releases: EnvironmentReleases) -> None:
    release = guarded(api, releases, auto_rollback=True)
    releases.insufficient_data(release["id"])
    read = api.read(release["id"])
    assert (read["status"], read["statusReason"]) == ("reverted", "reverted_insufficient_data")
    assert read["phases"][0]["statusReason"] == "reverted_insufficient_data"


def test_release_started_elsewhere_is_served_like_one_started_here(
    api: Client, releases: EnvironmentReleases
) -> None:
    started = releases.start_release(
        target="Available", original="Unavailable", phases=[cohort_phase("by a person", 10_000, 20_000)]
    )
    assert api.get(RELEASES)[1]["items"][0]["id"] == started["id"]
    assert refusal(api.start(start_body(releases))) == (409, "release_already_active")


def test_release_started_elsewhere_follows_the_same_rules(releases: EnvironmentReleases) -> None:
    french = {"contextKind": "user", "attribute": "country", "op": "in", "values": ["fr"]}
    with pytest.raises(ValueError, match="must include the clause"):
        releases.start_release(
            target="Available", original="Unavailable", phases=[{"clauses": [french], "steps": steps(1)}]
        )


def test_verbs_hand_out_copies(releases: EnvironmentReleases) -> None:
    release = releases.start_release(
        target="Available", original="Unavailable", phases=[cohort_phase("p", 10)]
    )
    release["status"] = "completed"
    releases.flag()["environments"]["production"]["on"] = False
    assert releases.release(release["id"])["status"] == "in_progress"
    assert releases.releases()[0]["status"] == "in_progress"
    assert releases.flag()["environments"]["production"]["on"] is True


def test_age_applies_to_ended_releases_only(releases: EnvironmentReleases) -> None:
    release = releases.start_release(
        target="Available", original="Unavailable", phases=[cohort_phase("p", 10)]
    )
    with pytest.raises(ValueError, match="not ended"):
        releases.age(release["id"], 100)


# -- the oracle itself ----------------------------------------------------------------------


def test_oracle_finds_a_field_the_api_would_ignore(api: Client, releases: EnvironmentReleases) -> None:
    body = start_body(releases, comment="from CI")
    body["phases"][0]["stepz"] = []
    api.start(body, well_formed=False)
    with pytest.raises(AssertionError, match=r"\.phases\[0\]\.stepz"):
        oracle_releases.check_request(api.answers_only[-1])


def test_oracle_finds_an_answer_the_models_refuse(api: Client, releases: EnvironmentReleases) -> None:
    release = api.started(start_body(releases))
    broken = Recorded(
        "GET",
        f"{RELEASES}/{release['id']}",
        {},
        b"",
        200,
        json.dumps(release | {"status": "paused"}).encode(),
    )
    with pytest.raises(ValueError, match="status"):
        oracle_releases.check_answer(broken)
    unknown = Recorded(
        "GET", f"{RELEASES}/{release['id']}", {}, b"", 200, json.dumps(release | {"stage": 1}).encode()
    )
    with pytest.raises(AssertionError, match="stage"):
        oracle_releases.check_answer(unknown)
    scripted = Recorded("GET", RELEASES, {}, b"", 500, b"not json", scripted=True)
    oracle_releases.check_answer(scripted)
