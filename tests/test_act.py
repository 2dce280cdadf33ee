"""The README's first workflow and every workflow in ``examples/``, run by act (a second, independent
runner) against the stand-in, each on a fresh release, as a user's repository would run them.

Each test checks what the README says happens: which deploys ran and which were skipped, the
outputs later steps read (JSON ones through ``fromJSON``, across jobs, out of the reusable
workflow), a failure's exit code and annotation, and the token masked. act needs a Docker engine
and the Dockerfile's first base image (the jobs run in it): without them these tests are
skipped, saying why, and where ``.ci/run`` has brought an engine up (``CONTAINER_TESTS=required``)
they fail instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from act import (
    REPOSITORY,
    ActRun,
    act_problem,
    add_steps,
    caller_shown_in,
    job_image,
    load_workflow,
    named_for,
    point_at,
    refs_used,
    repository,
    repository_copy,
    run_act,
)
from conftest import assert_matches_launchdarkly
from container import engine_problem
from harness import ROOT, TOKEN
from standin import StandIn

PROJECT, FLAG = "my-project", "new-checkout"  # the keys the README and the examples use


@dataclass
class Act:
    """What every run shares: the copy of this repository the workflows use, and act's own home."""

    action: Path
    home: Path
    job_image: str
    tmp: Path

    def run(
        self,
        name: str,
        workflows: dict[str, dict[str, Any]],
        *,
        event: str,
        url: str,
        secrets: dict[str, str] | None = None,
        repositories: dict[str, dict[str, dict[str, Any]]] | None = None,
        scripts: dict[str, str] | None = None,
    ) -> ActRun:
        """Run ``workflows``' first file in a repository of its own; ``repositories`` are others
        it calls (by ``owner/name@ref``), each holding workflows of its own."""
        word = f"t{uuid.uuid4().hex[:10]}"

        def prepared(workflow: dict[str, Any]) -> dict[str, Any]:
            return named_for(point_at(workflow, url), word)

        pointed = {file: prepared(workflow) for file, workflow in workflows.items()}
        others = {
            reference: repository(
                self.tmp / name / reference.replace("/", "-"),
                {file: prepared(workflow) for file, workflow in held.items()},
            )
            for reference, held in (repositories or {}).items()
        }
        used = [*pointed.values(), *(w for held in (repositories or {}).values() for w in held.values())]
        return run_act(
            repository(self.tmp / name / "workspace", pointed, scripts),
            next(iter(pointed)),
            action=self.action,
            refs=refs_used(used),
            job_image=self.job_image,
            home=self.home,
            event=event,
            run=word,
            secrets={"LD_ACCESS_TOKEN": TOKEN} if secrets is None else secrets,
            repositories=others,
        )


@pytest.fixture(scope="module")
def act(tmp_path_factory: pytest.TempPathFactory) -> Act:
    problem = engine_problem() or act_problem()
    image = job_image()
    if problem is None:
        present = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
        if present.returncode != 0:
            problem = f"the job image {image} is not here (../shared/tools/container-engine base makes it)"
    if problem is not None:
        if os.environ.get("CONTAINER_TESTS") == "required":
            pytest.fail(f"the act tests are required here, but {problem}")
        pytest.skip(f"no workflow was run under act: {problem}")
    tmp = tmp_path_factory.mktemp("act")
    return Act(repository_copy(tmp / "action"), tmp / "home", image, tmp)


@pytest.fixture
def release() -> Iterator[StandIn]:
    """A fresh release of the README's flag, as LaunchDarkly's live service shows one."""
    server = StandIn(token=TOKEN, dialect="live")
    server.add_release(PROJECT, FLAG)
    server.start()
    yield server
    server.stop()
    assert_matches_launchdarkly(server)


def readme_workflow() -> dict[str, Any]:
    readme = (ROOT / "README.md").read_text()
    return load_workflow(re.findall(r"```yaml\n(.*?)```", readme, re.S)[0])


def example(name: str) -> dict[str, Any]:
    return load_workflow((ROOT / "examples" / name).read_text())


def statuses(server: StandIn) -> dict[str, str]:
    release = server.release(project=PROJECT, flag=FLAG)
    return {phase["_name"]: phase["status"] for phase in release["phases"]}


def assert_token_masked(run: ActRun) -> None:
    """The action asked the runner to mask the token, and nothing the runner shows holds it."""
    assert TOKEN in run.masked()
    assert TOKEN not in run.shown()


def test_the_readme_s_first_workflow_starts_qa_and_deploys(act: Act, release: StandIn) -> None:
    workflow = add_steps(
        readme_workflow(),
        "qa",
        [
            {
                "name": "Read the JSON outputs",
                "env": {
                    "AUDIENCE": "${{ fromJSON(steps.release.outputs.audiences)[0].status }}",
                    "PIPELINE": "${{ fromJSON(steps.release.outputs.release).releasePipelineKey }}",
                },
                "run": 'echo "audience $AUDIENCE, pipeline $PIPELINE"',
            }
        ],
    )

    run = act.run("readme", {"release.yml": workflow}, event="push", url=release.url)

    assert run.returncode == 0, run.stderr
    assert run.job_result("qa") == "success"
    step = run.step("qa", "release")
    assert (step.outputs["started"], step.outputs["changed"], step.outputs["phase-name"]) == (
        "true",
        "true",
        "QA",
    )
    assert [note["arg"] for note in step.annotations("notice")] == ["Phase 'QA': not-started → active."]
    assert run.step("qa", "2").lines == ["deployed to qa"]
    assert run.step("qa", "3").lines == ["audience ready-to-start, pipeline standard-pipeline"]
    assert statuses(release)["QA"] == "active"
    assert_token_masked(run)


def test_a_refused_token_fails_the_step_with_exit_3_and_skips_the_deploy(act: Act, release: StandIn) -> None:
    revoked = "api-revoked-0f1e2d3c4b5a69788796"

    run = act.run(
        "refused",
        {"release.yml": readme_workflow()},
        event="push",
        url=release.url,
        secrets={"LD_ACCESS_TOKEN": revoked},
    )

    assert run.returncode != 0
    assert run.job_result("qa") == "failure"
    step = run.step("qa", "release")
    assert (step.result, step.exit_code, step.outputs) == ("failure", 3, {})
    [error] = step.annotations("error")
    assert error["kvPairs"]["title"] == "LaunchDarkly rejected the access token"
    assert run.step("qa", "2").result is None  # the deploy never ran
    assert release.writes == []
    assert revoked in run.masked() and revoked not in run.shown()


def test_gate_deploy_deploys_once_production_is_started(act: Act, release: StandIn) -> None:
    run = act.run(
        "gate", {"gate-deploy.yml": example("gate-deploy.yml")}, event="workflow_dispatch", url=release.url
    )

    assert run.returncode == 0, run.stderr
    assert run.step("deploy", "release").outputs["started"] == "true"
    assert run.step("deploy", "2").lines == [
        "Phase Production has started; deploying.",
        "deployed to production",
    ]
    assert statuses(release)["Production"] == "active"
    assert_token_masked(run)


def test_walk_environments_moves_the_release_from_job_to_job(act: Act, release: StandIn) -> None:
    run = act.run(
        "walk", {"walk-environments.yml": example("walk-environments.yml")}, event="push", url=release.url
    )

    assert run.returncode == 0, run.stderr
    assert [run.job_result(job) for job in ("test", "qa", "production")] == ["success"] * 3
    # Each job started the phase the job before it named by id, and then (or before) deployed.
    started = [(r.path.rsplit("/", 1)[-1], r.json()) for r in release.writes]
    qa_audience = release.phase("QA", project=PROJECT, flag=FLAG)["_audiences"][0]["_id"]
    assert started == [
        (release.phase_id("Testing", project=PROJECT, flag=FLAG), {"status": "active"}),
        (
            release.phase_id("QA", project=PROJECT, flag=FLAG),
            {
                "status": "active",
                "audiences": [
                    {
                        "audienceId": qa_audience,
                        "releaseGuardianConfiguration": {
                            "monitoringWindowMilliseconds": 1800000,
                            "rolloutWeight": 50,
                            "rollbackOnRegression": True,
                        },
                        "notifyTeamKeys": ["qa-reviewers"],
                    }
                ],
            },
        ),
        (release.phase_id("Production", project=PROJECT, flag=FLAG), {"status": "active"}),
    ]
    assert [run.step(job, step).lines for job, step in [("test", "1"), ("qa", "2"), ("production", "2")]] == [
        ["deployed to test"],
        ["deployed to qa"],
        ["deployed to production"],
    ]
    assert statuses(release) == {"Testing": "completed", "QA": "completed", "Production": "active"}
    assert_token_masked(run)


def test_the_reusable_workflow_hands_its_outputs_to_the_caller_its_header_shows(
    act: Act, release: StandIn
) -> None:
    text = (ROOT / "examples" / "reusable-release-phase.yml").read_text()
    caller, called, file = caller_shown_in(text)
    job = next(iter(caller["jobs"]))
    caller = {"name": "Caller", "on": "push", "permissions": {}} | caller
    caller["jobs"]["after"] = {
        "needs": job,
        "runs-on": "ubuntu-latest",
        "steps": [
            {
                "env": {
                    "STATUS": f"${{{{ needs.{job}.outputs.status }}}}",
                    "STARTED": f"${{{{ needs.{job}.outputs.started }}}}",
                    "NEXT": f"${{{{ needs.{job}.outputs.next-phase-id }}}}",
                },
                "run": 'echo "status $STATUS, started $STARTED, next $NEXT"',
            }
        ],
    }

    run = act.run(
        "reusable",
        {"caller.yml": caller},
        event="push",
        url=release.url,
        repositories={called: {file: load_workflow(text)}},
    )

    assert run.returncode == 0, run.stderr
    production = release.phase_id("Production", project=PROJECT, flag=FLAG)
    assert run.step("after", "0").lines == [f"status active, started true, next {production}"]
    assert statuses(release)["QA"] == "active"
    assert_token_masked(run)


def test_every_example_of_this_action_is_run_under_act() -> None:
    """Each example that uses this action (at the repository's root) has a test above; another
    action's examples are run under act by that action's tests."""
    examples = {
        path.name for path in (ROOT / "examples").glob("*.yml") if f"uses: {REPOSITORY}@" in path.read_text()
    }
    source = Path(__file__).read_text()
    run = set(re.findall(r'example\("([^"]+)"\)', source)) | set(
        re.findall(r'"examples" / "([^"]+)"', source)
    )

    assert examples, "the examples use this action"
    assert examples <= run, f"examples without a test under act: {sorted(examples - run)}"


# -- the environment-release action (a folder of this repository, image: ../Dockerfile) -----------

SMOKE_TESTS = {
    "passes": '#!/bin/sh\necho "smoke test of $1: ok"\n',
    "fails": '#!/bin/sh\necho "smoke test of $1: broken"\nexit 1\n',
}


@pytest.fixture
def flag() -> Iterator[StandIn]:
    """The example's flag as a newcomer has it: on in production, serving false, with its rule."""
    server = StandIn(token=TOKEN, dialect="live")
    server.environments.add_flag_with_rule(project=PROJECT, flag=FLAG)
    server.start()
    yield server
    server.stop()
    assert_matches_launchdarkly(server)


def test_the_environment_release_example_rolls_back_when_the_check_fails(act: Act, flag: StandIn) -> None:
    workflow = load_workflow((ROOT / "examples" / "environment-release.yml").read_text())

    run = act.run(
        "release-fails",
        {"environment-release.yml": workflow},
        event="workflow_dispatch",
        url=flag.url,
        scripts={"smoke-test.sh": SMOKE_TESTS["fails"]},
    )

    started = run.step("release", "start").outputs
    assert (started["status"], started["changed"]) == ("in_progress", "true")
    releases = flag.environments.releases(project=PROJECT, flag=FLAG)
    assert [release["id"] for release in releases] == [started["release-id"]]
    assert releases[0]["status"] == "reverted"  # the verify job rolled it back
    stops = [r.json() for r in flag.requests if r.method == "PUT"]
    assert stops == [
        {
            "resolution": "roll_back_all_phases_and_remove_pending_phases",
            "comment": "The production smoke test failed.",
        }
    ]
    # The verify job failed, so the jobs that need it do not run: nothing waits, nothing announces.
    assert run.job_result("verify") == "failure"
    assert run.job_result("finish") != "success"
    assert run.job_result("announce") != "success"
    assert_token_masked(run)


def test_the_environment_release_example_completes_and_opens_the_last_job(act: Act, flag: StandIn) -> None:
    workflow = load_workflow((ROOT / "examples" / "environment-release.yml").read_text())

    run = act.run(
        "release-passes",
        {"environment-release.yml": workflow},
        event="workflow_dispatch",
        url=flag.url,
        scripts={"smoke-test.sh": SMOKE_TESTS["passes"]},
    )

    assert run.returncode == 0, run.stderr
    assert run.step("finish", "done").outputs["status"] == "completed"
    assert run.job_result("announce") == "success"
    assert [r.method for r in flag.requests].count("POST") == 1
    assert not [r for r in flag.requests if r.method == "PUT"]  # nothing was rolled back
    assert_token_masked(run)
