"""Shared by every test: the Hypothesis profiles (registered before the tests are collected)."""

import profiles  # noqa: F401  (registers the `fast` profile for --hypothesis-profile)
