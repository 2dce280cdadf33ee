"""Release pipelines: start a phase of a flag's release from CI (the first action)."""
