"""Entry point of the ``overcast`` command."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
import typing
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from overcast.cli import cluster_cmd, events_cmd, lb_cmd, node_cmd, observe_cmd
from overcast.cli.listen_options import listen_options
from overcast.cli.platform_cmd import (
    alarms,
    api_keys,
    budget,
    delete,
    deploy,
    deployments,
    rollback,
    serve,
    stacks,
)
from overcast.cli.secrets_cmd import secrets as secrets_group
from overcast.errors import OvercastError
from overcast.runtime import LogStore

if typing.TYPE_CHECKING:
    from overcast.cli.platform_cmd import PlatformClient
    from overcast.control.access_keys import KeyStore, Role
    from overcast.control.listeners import ListenOptions

# soft_wrap: messages carry paths and file:line that must stay on one line to be useful.
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(exc: OvercastError) -> None:
    """Print an error as `file:line:col: message` plus what to do, then exit 1."""
    location = getattr(exc, "location", None)
    where = f"{location}: " if location is not None else ""
    err.print(f"[bold red]error:[/] {escape(where + exc.message)}")
    if exc.hint:
        err.print(f"[dim]hint:[/] {escape(exc.hint)}")
    sys.exit(1)


def _overrides(items: tuple[str, ...]) -> dict[str, str]:
    from overcast.template import parse_parameter_overrides

    return parse_parameter_overrides(list(items))


def _run(coro: object) -> None:
    """Run a coroutine on uvloop when available (it is on Linux)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - non-Linux fallback
        asyncio.run(coro)  # type: ignore[arg-type]
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coro)  # type: ignore[arg-type]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="overcast")
def cli() -> None:
    """overcast: run AWS SAM apps (Lambda + API Gateway) on your own machine."""


@cli.command()
@click.argument("app_dir", type=click.Path(exists=True, path_type=Path), default=".")
@listen_options(
    port=3000,
    admin_port=3001,
    port_help="Port serving the app's APIs.",
    admin_port_help="Port of the Lambda API, the secrets API and health.",
)
@click.option(
    "--parameter-overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override template Parameters.",
)
@click.option(
    "--keep-alive",
    "keep_alive",
    default=600.0,
    show_default=True,
    help="Seconds an idle instance stays warm before scaling to zero.",
)
@click.option(
    "--concurrency", default=64, show_default=True, help="Node-wide limit on concurrent instances."
)
@click.option("--no-watch", is_flag=True, help="Do not reload function code when it changes.")
@click.option(
    "--no-sandbox",
    is_flag=True,
    help="Run functions as this user, unisolated (the default walls each one in).",
)
@click.option(
    "--no-egress",
    is_flag=True,
    help="Keep sandboxed functions off the internet (by default they reach public "
    "addresses, as a Lambda function outside a VPC does).",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="NAME=VALUE[:PLAN]",
    help="Accept an x-api-key on routes with ApiKeyRequired (PLAN: a usage plan's logical "
    "ID or name; default: each API's own plan).",
)
@click.option(
    "--drain-grace",
    "drain_grace",
    default=5.0,
    show_default=True,
    help="Seconds a draining node (`overcast node drain`, SIGUSR1) fails its health check "
    "before it stops accepting.",
)
def up(
    app_dir: Path,
    listen: ListenOptions,
    parameter_overrides: tuple[str, ...],
    keep_alive: float,
    concurrency: int,
    no_watch: bool,
    no_sandbox: bool,
    no_egress: bool,
    api_keys: tuple[str, ...],
    drain_grace: float,
) -> None:
    """Run the SAM app in APP_DIR until Ctrl-C."""
    from overcast.control.app_loading import (
        find_template,
        interpreter_warnings,
        load_app,
        runtime_functions,
        secret_lookup,
        state_dir_for,
    )
    from overcast.control.node import Node, NodeOptions
    from overcast.gateway import parse_api_key
    from overcast.runtime import prepare_dependencies

    try:
        keys = tuple(parse_api_key(text) for text in api_keys)
        model = load_app(app_dir, _overrides(parameter_overrides))
        for warning in [*map(str, model.warnings), *interpreter_warnings(model)]:
            err.print(f"[yellow]warning:[/] {escape(warning)}")
        state_dir = state_dir_for(find_template(app_dir))
        with err.status("Installing function dependencies…") as status:
            configs = runtime_functions(model, lambda: secret_lookup(state_dir))
            prepare_dependencies(configs, str(state_dir), status.update)
        node = Node(
            model,
            NodeOptions(
                state_dir=state_dir,
                listen=listen,
                watch_code=not no_watch,
                idle_keepalive_s=keep_alive,
                node_concurrency=concurrency,
                api_keys=keys,
                sandbox=not no_sandbox,
                egress=not no_egress,
                drain_grace_s=drain_grace,
            ),
        )
        if node.sandbox.warning is not None:
            err.print(f"[bold yellow]warning:[/] {escape(node.sandbox.warning)}")

        def ready(running: Node) -> None:
            _print_routes(running)
            if running.created_admin_key is not None:
                _print_new_admin_key(running)
            if running.secrets.initial_root_token is not None:
                err.print(
                    "[bold]First start: created the secret store[/]; its Vault root token "
                    f"(shown once) is {running.secrets.initial_root_token}\n"
                    f"[dim]  a copy is in {escape(str(running.secrets.root_token_file))} "
                    "(owner-only) for `overcast secrets`[/]"
                )
            data, admin = running.listeners.data_url, running.listeners.admin_url
            err.print(f"[green]Serving[/] {data}  (Lambda API {admin})  — Ctrl-C to stop")

        _run(node.run(ready))
        err.print("[dim]stopped cleanly[/]")
    except OvercastError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        sys.exit(130)


def _print_routes(node: object) -> None:
    from overcast.control.node import Node

    assert isinstance(node, Node)
    model = node.model
    table = Table(title=f"{Path(model.template_path).parent.name}: routes", title_justify="left")
    table.add_column("Method")
    table.add_column("Path")
    table.add_column("Function")
    table.add_column("API")
    table.add_column("Auth")
    for route in sorted(model.routes, key=lambda r: (r.path, r.method)):
        api = model.apis[route.api]
        fn = model.functions[route.function]
        kind = "HTTP API" if api.kind == "http" else f"REST API ({api.stage_name})"
        auth = route.authorizer or "—"
        if route.authorization_scopes:
            auth += f" ({' '.join(route.authorization_scopes)})"
        table.add_row(route.method, route.path, fn.name, f"{api.logical_id} · {kind}", auth)
    if not model.routes:
        table.add_row("—", "(no API events; use `overcast invoke`)", "", "", "")
    err.print(table)
    err.print(f"[dim]base URL: {node.listeners.data_url}[/]")


def _print_new_admin_key(node: object) -> None:
    from overcast.control.node import Node

    if not isinstance(node, Node) or node.created_admin_key is None:
        return
    key = node.created_admin_key
    err.print("[bold]First start: created an admin access key for the admin port[/] (shown once)")
    err.print(f"  aws_access_key_id     = {key.access_key_id}")
    err.print(f"  aws_secret_access_key = {key.secret_access_key}")
    err.print(
        f"[dim]  stored in {escape(str(node.keys.admin_credentials_path))} (owner-only); "
        "use it with AWS_SHARED_CREDENTIALS_FILE or `overcast keys create` for more[/]"
    )


@cli.command()
@click.argument("function")
@click.option(
    "--event", "event_file", type=click.File("rb"), help="Event JSON file, or - for stdin."
)
@click.option(
    "--app", "app_dir", type=click.Path(exists=True, path_type=Path), default=".", show_default=True
)
@click.option("--parameter-overrides", multiple=True, metavar="KEY=VALUE")
@click.option(
    "--stage", default=None, help="Invoke the stage's alias on a platform (see --target)."
)
@click.option("--target", default=None, help="With --stage: the platform's admin URL.")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".overcast-platform"),
    help="With --stage: the platform's state folder (for its admin credentials).",
)
def invoke(
    function: str,
    event_file: typing.BinaryIO | None,
    app_dir: Path,
    parameter_overrides: tuple[str, ...],
    stage: str | None,
    target: str | None,
    state_dir: Path,
) -> None:
    """Invoke FUNCTION once: the result on stdout, its logs on stderr.

    Uses the app's running node when `overcast up` is serving it, else starts the
    function just for this invocation; with --stage, invokes it on a platform.
    """
    from overcast.control.access_keys import KeyStore, read_credentials_file
    from overcast.control.app_loading import find_template, state_dir_for
    from overcast.control.node import node_admin_url, read_node_file

    payload = event_file.read() if event_file is not None else b"{}"
    if isinstance(payload, str):
        payload = payload.encode()
    try:
        if stage is not None:
            from overcast.cli.platform_cmd import platform_credentials

            url, key_id, secret = platform_credentials(target, None, state_dir)
            _invoke_remote(url, (key_id, secret), function, payload, qualifier=stage)
            return
        app_state = state_dir_for(find_template(app_dir))
        node = read_node_file(app_state)
        if node is not None:
            credentials = read_credentials_file(KeyStore(app_state).admin_credentials_path)
            _invoke_remote(node_admin_url(node), credentials, function, payload)
        else:
            _invoke_local(app_dir, app_state, function, payload, _overrides(parameter_overrides))
    except OvercastError as exc:
        _fail(exc)


def _invoke_remote(
    base_url: str,
    credentials: tuple[str, str],
    function: str,
    payload: bytes,
    qualifier: str | None = None,
) -> None:
    import base64

    from overcast.control.sigv4 import sign

    key_id, secret = credentials
    if not base_url.startswith(("http://", "https://")):
        raise OvercastError(
            f"{base_url!r} is not an http(s) URL", hint="e.g. http://127.0.0.1:8081"
        )
    name = urllib.parse.quote(function, safe="-_.~")
    url = f"{base_url.rstrip('/')}/2015-03-31/functions/{name}/invocations"
    if qualifier:
        url += "?Qualifier=" + urllib.parse.quote(qualifier, safe="")
    # The invocation id makes every signature unique (the node refuses a replayed one).
    headers = sign(
        "POST",
        url,
        {"X-Amz-Log-Type": "Tail", "amz-sdk-invocation-id": str(uuid.uuid4())},
        payload,
        access_key_id=key_id,
        secret=secret,
        region="us-east-1",
        service="lambda",
    )
    # http(s) only: checked above.
    request = urllib.request.Request(url, data=payload, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=960) as response:  # noqa: S310
            body = response.read()
            log = response.headers.get("X-Amz-Log-Result")
            function_error = response.headers.get("X-Amz-Function-Error")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        err.print(f"[bold red]error:[/] {exc.headers.get('x-amzn-ErrorType', exc.code)}: {detail}")
        sys.exit(1)
    if log:
        sys.stderr.write(base64.b64decode(log).decode(errors="replace"))
    sys.stdout.write(body.decode(errors="replace") + "\n")
    if function_error:
        sys.exit(1)


def _invoke_local(
    app_dir: Path,
    state_dir: Path,
    function: str,
    payload: bytes,
    overrides: Mapping[str, str],
) -> None:
    from overcast.control.app_loading import load_app, runtime_functions, secret_lookup
    from overcast.control.sandbox_choice import choose_sandbox
    from overcast.invoke import InvokeError, InvokeRequest
    from overcast.runtime import Runtime, RuntimeConfig, prepare_dependencies

    model = load_app(app_dir, overrides)
    spec = model.function_by_name(function)
    if spec is None:
        names = ", ".join(sorted(f.name for f in model.functions.values()))
        raise OvercastError(
            f"no function named {function!r} in this app", hint=f"functions: {names}"
        )
    configs = [
        c for c in runtime_functions(model, lambda: secret_lookup(state_dir)) if c.name == spec.name
    ]
    prepare_dependencies(configs, str(state_dir), lambda msg: err.print(f"[dim]{msg}[/]"))
    sandbox = choose_sandbox(True, ())
    if sandbox.warning is not None:
        err.print(f"[bold yellow]warning:[/] {escape(sandbox.warning)}")
    runtime = Runtime(
        RuntimeConfig(
            str(state_dir),
            region=model.region,
            account_id=model.account_id,
            sandbox=sandbox.config,
        ),
        configs,
    )

    async def once() -> tuple[bytes, str | None, bytes]:
        await runtime.start()
        try:
            result = await runtime.invoke(
                InvokeRequest(function_name=spec.name, payload=payload, want_log_tail=True)
            )
        finally:
            await runtime.aclose()
        return result.payload, result.function_error, result.log_tail

    try:
        started = time.monotonic()
        body, function_error, log = _run_result(once())
    except InvokeError as exc:
        raise OvercastError(exc.message) from exc
    sys.stderr.write(log.decode(errors="replace"))
    err.print(f"[dim]({(time.monotonic() - started) * 1000:.0f} ms including start-up)[/]")
    sys.stdout.write(body.decode(errors="replace") + "\n")
    if function_error:
        sys.exit(1)


def _run_result(coro: object) -> tuple[bytes, str | None, bytes]:
    box: list[tuple[bytes, str | None, bytes]] = []

    async def wrapper() -> None:
        box.append(await coro)  # type: ignore[misc]

    _run(wrapper())
    return box[0]


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--app", "app_dir", type=click.Path(exists=True, path_type=Path), default=".", show_default=True
)
@click.option("--stage", default=None, help="Stage to purge (default: the one local hosts reach).")
@click.option("--target", default=None, help="A platform's admin URL (with --stage).")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A platform's state folder, for its admin credentials (with --stage).",
)
def invalidate(
    paths: tuple[str, ...],
    app_dir: Path,
    stage: str | None,
    target: str | None,
    state_dir: Path | None,
) -> None:
    """Purge PATHS (e.g. '/index.html' '/assets/*') from the edge cache of the running
    app, or of a platform's stage (--stage with --target or --state-dir)."""
    from overcast.cli.platform_cmd import DEFAULT_STATE_DIR, PlatformClient, platform_credentials
    from overcast.control.access_keys import KeyStore, read_credentials_file
    from overcast.control.app_loading import find_template, state_dir_for
    from overcast.control.node import node_admin_url, read_node_file

    if stage is not None and (target is not None or state_dir is not None):
        try:
            client = PlatformClient(
                *platform_credentials(target, None, state_dir or DEFAULT_STATE_DIR)
            )
            purged = _invalidate_remote(client, stage, list(paths))
        except OvercastError as exc:
            _fail(exc)
            return
        err.print(
            f"[green]Invalidated[/] {len(paths)} path(s) on stage {stage}: {purged} entries purged"
        )
        return
    try:
        app_state = state_dir_for(find_template(app_dir))
        node = read_node_file(app_state)
        if node is None:
            raise OvercastError(
                "no running node for this app",
                hint="start it with `overcast up`; the cache lives in the running node",
            )
        chosen = stage or node.get("edge_stage")
        if not isinstance(chosen, str) or not chosen:
            raise OvercastError(
                "this app's node runs no edge",
                hint="add `Metadata: overcast: edge:` to the template (see docs/edge.md)",
            )
        key_id, secret = read_credentials_file(KeyStore(app_state).admin_credentials_path)
        client = PlatformClient(node_admin_url(node), key_id, secret)
        purged = _invalidate_remote(client, chosen, list(paths))
    except OvercastError as exc:
        _fail(exc)
        return
    err.print(
        f"[green]Invalidated[/] {len(paths)} path(s) on stage {chosen}: {purged} entries purged"
    )


def _invalidate_remote(client: PlatformClient, stage: str, paths: list[str]) -> int:
    """POST a CloudFront-shaped invalidation batch to a node's or platform's admin port."""
    reference = str(uuid.uuid4())  # also makes every signature unique
    body = json.dumps(
        {"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": reference}
    ).encode()
    quoted = urllib.parse.quote(stage, safe="-_.~")
    answer = client.request("POST", f"/2020-05-31/distribution/{quoted}/invalidation", body)
    purged = answer.get("PurgedEntries", 0) if isinstance(answer, dict) else 0
    return int(purged)


@cli.command()
@click.argument("function")
@click.option(
    "--app", "app_dir", type=click.Path(exists=True, path_type=Path), default=".", show_default=True
)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new log lines.")
@click.option("--since", default=None, help="Only lines newer than this (e.g. 10m, 2h, 1d).")
def logs(function: str, app_dir: Path, follow: bool, since: str | None) -> None:
    """Print FUNCTION's logs (START/END/REPORT lines and its output)."""
    from overcast.control.app_loading import find_template, state_dir_for

    try:
        state_dir = state_dir_for(find_template(app_dir))
    except OvercastError as exc:
        _fail(exc)
        return
    since_ms = _parse_since(since)
    store = LogStore(str(state_dir))
    try:
        for event in store.read(function, since_ms=since_ms):
            _print_log_event(event.timestamp_ms, event.stream, event.message)
        if follow:
            _run(_follow(store, function))
    except KeyboardInterrupt:
        return


async def _follow(store: LogStore, function: str) -> None:
    async for event in store.follow(function):
        _print_log_event(event.timestamp_ms, event.stream, event.message)


def _print_log_event(timestamp_ms: int, stream: str, message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp_ms / 1000))
    line = message.rstrip("\n")
    sys.stdout.write(f"{stream} {stamp}.{timestamp_ms % 1000:03d}Z {line}\n")
    sys.stdout.flush()


def _parse_since(since: str | None) -> int | None:
    if since is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        value, unit = float(since[:-1]), units[since[-1]]
    except (KeyError, ValueError, IndexError):
        raise click.BadParameter(
            "use a number and a unit, like 30s, 10m, 2h or 1d", param_hint="--since"
        ) from None
    return int((time.time() - value * unit) * 1000)


@cli.command()
@click.argument("app_dir", type=click.Path(exists=True, path_type=Path), default=".")
@click.option(
    "--lint/--no-lint", default=True, show_default=True, help="Also run cfn-lint (slower)."
)
@click.option("--parameter-overrides", multiple=True, metavar="KEY=VALUE")
def validate(app_dir: Path, lint: bool, parameter_overrides: tuple[str, ...]) -> None:
    """Check the app's template: errors with file:line and what to do."""
    from overcast.control.app_loading import find_template, load_app
    from overcast.template import lint_template

    try:
        template = find_template(app_dir)
        model = load_app(app_dir, _overrides(parameter_overrides))
    except OvercastError as exc:
        _fail(exc)
        return
    findings = list(model.warnings)
    if lint:
        with err.status("Running cfn-lint…"):
            findings += lint_template(template.read_text(encoding="utf-8"), str(template))
    for finding in findings:
        err.print(f"[yellow]warning:[/] {escape(str(finding))}")
    functions, routes = len(model.functions), len(model.routes)
    err.print(
        f"[green]{template}[/] is valid: {functions} function(s), {routes} route(s), "
        f"{len(findings)} warning(s)"
    )


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path), default="hello-app")
def init(directory: Path) -> None:
    """Scaffold a hello app (template.yaml, src/app.py, events/) in DIRECTORY."""
    if directory.exists() and any(directory.iterdir()):
        err.print(f"[bold red]error:[/] {directory} exists and is not empty")
        err.print("[dim]hint:[/] pick a new folder name, e.g. `overcast init my-app`")
        sys.exit(1)
    scaffold = resources.files("overcast.cli") / "scaffold"
    with resources.as_file(scaffold) as source:
        shutil.copytree(source, directory, dirs_exist_ok=True)
    err.print(
        f"[green]Created[/] {directory}/ — next: `overcast up {directory}` "
        "then `curl localhost:3000/hello`"
    )


@cli.group()
def keys() -> None:
    """Access keys for the admin port (SigV4, as boto3 signs)."""


_APP_OPTION = click.option(
    "--app", "app_dir", type=click.Path(exists=True, path_type=Path), default=".", show_default=True
)


def _key_store(app_dir: Path, platform_dir: Path | None = None) -> KeyStore:
    from overcast.control.access_keys import KeyStore
    from overcast.control.app_loading import find_template, state_dir_for

    if platform_dir is not None:
        return KeyStore(platform_dir)
    return KeyStore(state_dir_for(find_template(app_dir)))


_PLATFORM_OPTION = click.option(
    "--platform",
    "platform_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A platform's state folder (`overcast serve --state-dir`) instead of an app's.",
)


@keys.command("create")
@click.option(
    "--role",
    type=click.Choice(["admin", "deployer", "viewer"]),
    required=True,
    help="What it may do.",
)
@click.option(
    "--stage",
    "stages",
    multiple=True,
    help="Limit the key to this stage (repeat for several); default: every stage.",
)
@click.option(
    "--stack",
    "stacks",
    multiple=True,
    help="Limit the key to this stack (app) of its stages (repeat for several); "
    "default: every stack.",
)
@_APP_OPTION
@_PLATFORM_OPTION
def keys_create(
    role: str,
    stages: tuple[str, ...],
    stacks: tuple[str, ...],
    app_dir: Path,
    platform_dir: Path | None,
) -> None:
    """Issue a key; its secret is printed once, on stdout."""
    try:
        store = _key_store(app_dir, platform_dir)
        key = store.create(typing.cast("Role", role), stages=stages, stacks=stacks)
    except OvercastError as exc:
        _fail(exc)
        return
    err.print(f"[green]Created[/] {role} key {key.access_key_id} (the secret is shown only now)")
    sys.stdout.write(
        f"aws_access_key_id = {key.access_key_id}\n"
        f"aws_secret_access_key = {key.secret_access_key}\n"
    )


@keys.command("list")
@_APP_OPTION
@_PLATFORM_OPTION
def keys_list(app_dir: Path, platform_dir: Path | None) -> None:
    """Show the app's keys (never their secrets)."""
    try:
        store = _key_store(app_dir, platform_dir)
        issued = store.all()
    except OvercastError as exc:
        _fail(exc)
        return
    table = Table(title="access keys", title_justify="left")
    table.add_column("Access key id")
    table.add_column("Role")
    table.add_column("Stages")
    table.add_column("Stacks")
    table.add_column("Created (UTC)")
    for key in issued:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(key.created))
        table.add_row(
            key.access_key_id,
            key.role,
            ", ".join(key.stages) or "all",
            ", ".join(key.stacks) or "all",
            created,
        )
    Console(highlight=False, soft_wrap=True).print(table)


@keys.command("revoke")
@click.argument("key_id")
@_APP_OPTION
@_PLATFORM_OPTION
def keys_revoke(key_id: str, app_dir: Path, platform_dir: Path | None) -> None:
    """Delete KEY_ID; a running node refuses it from its next request on."""
    try:
        store = _key_store(app_dir, platform_dir)
        key = store.revoke(key_id)
    except OvercastError as exc:
        _fail(exc)
        return
    err.print(f"[green]Revoked[/] {key.role} key {key.access_key_id}")


cli.add_command(secrets_group)
for _command in (serve, deploy, rollback, deployments, stacks, delete, budget, alarms, api_keys):
    cli.add_command(_command)
observe_cmd.register(cli)
events_cmd.register(cli)
cluster_cmd.register(cli)
node_cmd.register(cli)
# After any module adding the `cluster` group: lb-config joins that group.
lb_cmd.register(cli)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="overcast")


if __name__ == "__main__":
    main()
