"""Fixtures shared by every test folder of the workspace (core and instrumentors)."""

pytest_plugins = ["agentops_otel.testing.fixtures"]
