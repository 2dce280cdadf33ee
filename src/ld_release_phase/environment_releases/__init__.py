"""Environment releases (beta): start, stop and read a flag's release in one environment.

The second action's operation (``environment-release/action.yml``)."""
