"""The release: action.yml pointed at the published image, and the workflow that does it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import ROOT

DIGEST = "sha256:" + "0123456789abcdef" * 4
REFERENCE = f"ghcr.io/ld-release-phase/ld-release-phase@{DIGEST}"
SCRIPT = ROOT / "scripts" / "pin_image.py"


def pin(path: Path, reference: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(path), reference], capture_output=True, text=True, check=False
    )


def test_only_the_image_line_changes_and_the_result_is_a_valid_action(tmp_path: Path) -> None:
    copy = tmp_path / "action.yml"
    original = (ROOT / "action.yml").read_text()
    copy.write_text(original)

    result = pin(copy, REFERENCE)

    assert result.returncode == 0, result.stderr
    changed = [
        (a, b) for a, b in zip(original.splitlines(), copy.read_text().splitlines(), strict=True) if a != b
    ]
    assert changed == [("  image: Dockerfile", f"  image: docker://{REFERENCE}")]
    assert yaml.safe_load(copy.read_text())["runs"] == {"using": "docker", "image": f"docker://{REFERENCE}"}
    schema = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-actions",
            str(copy),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr


def test_the_second_action_is_pinned_to_the_same_image(tmp_path: Path) -> None:
    copy = tmp_path / "action.yml"
    copy.write_text((ROOT / "environment-release" / "action.yml").read_text())

    result = pin(copy, REFERENCE)

    assert result.returncode == 0, result.stderr
    runs = yaml.safe_load(copy.read_text())["runs"]
    assert runs == {"using": "docker", "image": f"docker://{REFERENCE}", "args": ["environment-release"]}
    workflow = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert "scripts/pin_image.py environment-release/action.yml" in workflow


@pytest.mark.parametrize(
    "reference",
    [
        "ghcr.io/ld-release-phase/ld-release-phase:v1",  # a tag can move: a digest is required
        "ghcr.io/ld-release-phase/ld-release-phase@sha256:abc",
        f"ghcr.io/x/y@{DIGEST}\nimage: evil",
        f"docker://ghcr.io/x/y@{DIGEST}",
    ],
)
def test_anything_but_an_image_pinned_by_digest_is_refused(tmp_path: Path, reference: str) -> None:
    copy = tmp_path / "action.yml"
    copy.write_text((ROOT / "action.yml").read_text())

    result = pin(copy, reference)

    assert result.returncode == 1
    assert copy.read_text() == (ROOT / "action.yml").read_text()


def test_an_action_yml_already_pinned_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "action.yml"
    copy.write_text((ROOT / "action.yml").read_text())
    assert pin(copy, REFERENCE).returncode == 0

    again = pin(copy, REFERENCE)

    assert again.returncode == 1
    assert "found 0" in again.stderr


def test_the_release_workflow_pins_the_digest_it_built_and_moves_the_tags() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    jobs = workflow["jobs"]
    tag_job = next(job for job in jobs.values() if "needs" in job)
    script = "\n".join(step.get("run", "") for step in tag_job["steps"])

    assert workflow.get(True, workflow.get("on")).keys() == {"workflow_dispatch"}
    assert workflow["permissions"] == {}
    assert "scripts/pin_image.py action.yml" in script
    assert "git push" in script and "--force" in script
    build = next(job for job in jobs.values() if "needs" not in job)
    assert build["permissions"] == {"contents": "read", "packages": "write"}
    assert tag_job["permissions"] == {"contents": "write"}
