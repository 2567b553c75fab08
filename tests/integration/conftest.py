"""Apps used by the integration tests; the process fixtures live in tests/conftest.py.

``running_app(app_dir, **opts)`` (function scope) and ``module_running_app`` (module
scope) start ``overcast up`` on a copy of the app; see tests/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parent / "apps"
HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello"


@pytest.fixture(scope="session")
def hello_dir() -> Path:
    """examples/hello, the app `make up` runs."""
    if not (HELLO / "template.yaml").exists():
        pytest.fail("examples/hello/template.yaml is missing")
    return HELLO


@pytest.fixture(scope="session")
def basics_dir() -> Path:
    """A small app whose handlers report their pid, sleep on request and echo."""
    return APPS / "basics"
