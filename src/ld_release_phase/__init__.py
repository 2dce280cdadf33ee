"""Start a LaunchDarkly release-pipeline phase from a GitHub Actions step, and report its state."""

import os

__version__ = "1.0.0"
ACTION_NAME = "ld-release-phase"

# The action uses no pydantic plugins, and their discovery scans every installed package's
# metadata on pydantic's import, so it is skipped (unless the environment says otherwise).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
