"""Set the status of a LaunchDarkly release-pipeline phase from a GitHub Actions step."""

__version__ = "1.0.0"
ACTION_NAME = "ld-release-phase"
