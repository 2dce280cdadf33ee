"""Point an action.yml at a published image: ``image: Dockerfile`` (or ``../Dockerfile`` for an
action in a subfolder) becomes ``image: docker://REF``.

The release workflow runs this on the commit it tags, for each action of the repository, so a
released ``@vX`` pulls the image it built instead of building the Dockerfile in every job. Only
the ``image`` line changes.

    python scripts/pin_image.py action.yml ghcr.io/owner/repo@sha256:<64 hex digits>
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# A registry path pinned by digest: what a tag cannot silently change.
IMAGE_REFERENCE = re.compile(
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\.[a-z0-9-]+)*(?::\d+)?(?:/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}"
)
_IMAGE_LINE = re.compile(r"^(?P<indent>\s+)image:\s*['\"]?(?:\.\./)?Dockerfile['\"]?\s*(?:#.*)?$", re.M)


def pin(action_yml: str, reference: str) -> str:
    """``action_yml`` with its ``image: Dockerfile`` line pointing at ``docker://reference``."""
    if not IMAGE_REFERENCE.fullmatch(reference):
        raise ValueError(f"not an image pinned by digest (registry/path@sha256:<64 hex>): {reference!r}")
    lines = _IMAGE_LINE.findall(action_yml)
    if len(lines) != 1:
        raise ValueError(f"expected exactly one 'image: Dockerfile' line, found {len(lines)}")
    return _IMAGE_LINE.sub(lambda match: f"{match['indent']}image: docker://{reference}", action_yml)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        path.write_text(pin(path.read_text(), argv[1]))
    except ValueError as error:
        print(f"pin_image: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
