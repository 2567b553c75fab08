"""``overcast secrets put|get|list|delete``: via the running node's Vault API, else the store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click


def _backend(app_dir: Path, platform_dir: Path | None = None) -> Any:
    """An hvac KV v2 client on the running node (or platform), else the store itself.

    ``platform_dir`` is a platform's state folder (``overcast serve --state-dir``); a
    stage's secrets live under ``<stage>/`` there (``dev/auth-service``).
    """
    from overcast.control.app_loading import find_template, state_dir_for
    from overcast.control.node import node_admin_url, read_node_file

    state_dir = platform_dir if platform_dir is not None else state_dir_for(find_template(app_dir))
    node = read_node_file(state_dir)
    if node is None:
        from overcast.secrets import open_secrets

        return state_dir, open_secrets(state_dir).store
    import os

    import hvac  # type: ignore[import-untyped]

    from overcast.secrets import read_root_token

    token = os.environ.get("VAULT_TOKEN") or read_root_token(state_dir)
    client = hvac.Client(url=node_admin_url(node), token=token, strict_http=True)
    return state_dir, client.secrets.kv.v2


class _OneLineErrors(click.Group):
    """Turn store and Vault errors into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        import hvac.exceptions  # type: ignore[import-untyped]

        from overcast.errors import OvercastError

        try:
            return super().invoke(ctx)
        except OvercastError as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            raise click.ClickException(f"{exc.message}{hint}") from None
        except hvac.exceptions.InvalidPath:
            raise click.ClickException("no secret at that path") from None
        except hvac.exceptions.VaultError as exc:
            raise click.ClickException(f"the node's Vault API refused: {exc}") from None


_PLATFORM = click.option(
    "--platform",
    "platform_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A platform's state folder instead of an app's (stage secrets: <stage>/NAME).",
)


@click.group("secrets", cls=_OneLineErrors)
def secrets() -> None:
    """Read and write the app's secrets (Vault KV v2 at secret/)."""


def _parse_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    data: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {key!r}", param_hint="KEY=VALUE")
        data[key] = value
    return data


@secrets.command("put")
@click.argument("path")
@click.argument("pairs", nargs=-1, metavar="KEY=VALUE...")
@click.option("--stdin", "stdin_key", help="Read the value of KEY from standard input.")
@click.option("--prompt", "prompt_keys", multiple=True, help="Prompt (hidden) for KEY.")
@click.option("--app", "app_dir", type=click.Path(path_type=Path), default=Path("."))
@_PLATFORM
def put(
    path: str,
    pairs: tuple[str, ...],
    stdin_key: str | None,
    prompt_keys: tuple[str, ...],
    app_dir: Path,
    platform_dir: Path | None,
) -> None:
    """Write a new version of PATH; values from --stdin/--prompt never touch the command line."""
    data = _parse_pairs(pairs)
    if stdin_key:
        data[stdin_key] = sys.stdin.read().removesuffix("\n")
    for key in prompt_keys:
        data[key] = click.prompt(key, hide_input=True, confirmation_prompt=True)
    if not data:
        raise click.UsageError("nothing to write: give KEY=VALUE, --stdin KEY or --prompt KEY")
    _state, backend = _backend(app_dir, platform_dir)
    if hasattr(backend, "create_or_update_secret"):
        version = backend.create_or_update_secret(path=path, secret=data)["data"]["version"]
    else:
        version = backend.write(path, data)["version"]
    click.echo(f"{path}: version {version} written ({len(data)} keys)")


@secrets.command("get")
@click.argument("path")
@click.option("--field", help="Print only this key's value.")
@click.option("--version", type=int, help="Read this version instead of the current one.")
@click.option("--app", "app_dir", type=click.Path(path_type=Path), default=Path("."))
@_PLATFORM
def get(
    path: str, field: str | None, version: int | None, app_dir: Path, platform_dir: Path | None
) -> None:
    """Show the secret at PATH."""
    from rich.console import Console
    from rich.table import Table

    _state, backend = _backend(app_dir, platform_dir)
    if hasattr(backend, "read_secret_version"):
        body = backend.read_secret_version(
            path=path, version=version, raise_on_deleted_version=True
        )["data"]
        data, meta = body["data"], body["metadata"]
    else:
        secret = backend.read(path, version)
        data, meta = dict(secret.data), dict(secret.metadata)
    if field:
        if field not in data:
            raise click.ClickException(f"{path} has no key {field!r}")
        click.echo(data[field])
        return
    table = Table(title=f"{path} (version {meta['version']})")
    table.add_column("key")
    table.add_column("value")
    for key, value in sorted(data.items()):
        table.add_row(key, str(value))
    Console().print(table)


@secrets.command("list")
@click.argument("path", default="")
@click.option("--app", "app_dir", type=click.Path(path_type=Path), default=Path("."))
@_PLATFORM
def list_cmd(path: str, app_dir: Path, platform_dir: Path | None) -> None:
    """List secrets and folders under PATH."""
    from rich.console import Console
    from rich.table import Table

    _state, backend = _backend(app_dir, platform_dir)
    if hasattr(backend, "list_secrets"):
        keys = backend.list_secrets(path=path)["data"]["keys"]
    else:
        keys = backend.list_keys(path)
    table = Table(title=f"secret/{path.strip('/')}")
    table.add_column("keys")
    for key in keys:
        table.add_row(key)
    Console().print(table)


@secrets.command("delete")
@click.argument("path")
@click.option("--app", "app_dir", type=click.Path(path_type=Path), default=Path("."))
@_PLATFORM
def delete(path: str, app_dir: Path, platform_dir: Path | None) -> None:
    """Soft-delete the current version of PATH (undelete through the Vault API)."""
    _state, backend = _backend(app_dir, platform_dir)
    if hasattr(backend, "delete_latest_version_of_secret"):
        backend.delete_latest_version_of_secret(path=path)
    else:
        backend.delete_latest(path)
    click.echo(f"{path}: current version deleted")
