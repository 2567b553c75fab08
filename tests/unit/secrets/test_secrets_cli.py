"""The ``secrets`` CLI group against the store directly (no node running)."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from overcast.cli.secrets_cmd import secrets

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_put_from_stdin_then_get_list_delete(tmp_path: Path) -> None:
    app = tmp_path / "app"
    source = next(p for p in sorted(EXAMPLES.iterdir()) if (p / "template.yaml").exists())
    shutil.copytree(source, app, ignore=shutil.ignore_patterns(".overcast"))
    runner = CliRunner()
    result = runner.invoke(
        secrets,
        ["put", "auth/jwt", "user=svc", "--stdin", "key", "--app", str(app)],
        input="TOP-SECRET\n",
    )
    assert result.exit_code == 0, result.output
    assert "TOP-SECRET" not in result.output
    got = runner.invoke(secrets, ["get", "auth/jwt", "--field", "key", "--app", str(app)])
    assert got.output.strip() == "TOP-SECRET"
    listed = runner.invoke(secrets, ["list", "auth", "--app", str(app)])
    assert "jwt" in listed.output
    deleted = runner.invoke(secrets, ["delete", "auth/jwt", "--app", str(app)])
    assert deleted.exit_code == 0
    again = runner.invoke(secrets, ["get", "auth/jwt", "--app", str(app)])
    assert again.exit_code != 0


def test_a_missing_secret_is_a_one_line_error_not_a_traceback(tmp_path: Path) -> None:
    app = tmp_path / "app"
    source = next(p for p in sorted(EXAMPLES.iterdir()) if (p / "template.yaml").exists())
    shutil.copytree(source, app, ignore=shutil.ignore_patterns(".overcast"))
    result = CliRunner().invoke(secrets, ["get", "nothing/here", "--app", str(app)])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: no secret at 'nothing/here'"
    assert result.exception is None or isinstance(result.exception, SystemExit)
