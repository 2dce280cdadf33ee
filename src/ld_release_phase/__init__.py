"""Start a LaunchDarkly release-pipeline phase from a GitHub Actions step, and report its state."""

__version__ = "1.0.0"
ACTION_NAME = "ld-release-phase"
