"""Apps the platform tests deploy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

APPS = Path(__file__).parent / "apps"


@pytest.fixture
def versioned_app(tmp_path: Path) -> Path:
    """A fresh copy of the ``versioned`` app (tests edit its code)."""
    target = tmp_path / "versioned"
    shutil.copytree(APPS / "versioned", target)
    return target
