"""Helpers of the platform tests."""

from __future__ import annotations

from pathlib import Path


def set_code(app: Path, marker: str) -> None:
    """Change the app's code marker (a new code digest, hence a new version)."""
    path = app / "src" / "app.py"
    text = path.read_text()
    start = text.index('CODE = "') + len('CODE = "')
    end = text.index('"', start)
    path.write_text(text[:start] + marker + text[end:])
