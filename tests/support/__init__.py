"""Helpers shared by test packages (import them from here, never from a conftest)."""
