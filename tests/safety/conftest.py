"""The classifier loads once per test session; every learned check after that reuses it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def safety_classifier():
    from studio.safety.classifier import get_classifier

    return get_classifier()
