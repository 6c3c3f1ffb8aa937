"""Fixtures of the device-layer tests: the shipped profiles, loaded once."""

from __future__ import annotations

import pytest

from edge.drivers.profiles import ProfileSet, load_profiles


@pytest.fixture(scope="session")
def profiles() -> ProfileSet:
    return load_profiles()
