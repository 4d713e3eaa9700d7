"""The embedder loads once per test session; every learned check after that reuses it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def safety_index():
    from studio.safety import learned

    return learned.get_index()
