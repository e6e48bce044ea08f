"""Tests of `components.addons`, one module per add-on module."""
