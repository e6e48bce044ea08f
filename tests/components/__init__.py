"""Tests of the `components` package (add-ons in `addons/`)."""
