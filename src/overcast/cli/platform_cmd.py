"""``overcast serve``, ``deploy``, ``rollback`` and ``deployments``: the platform's CLI.

``serve`` runs a platform in this process. The other three talk to one through its
admin API (``--target``, or ``OVERCAST_TARGET``), signing every request with an
overcast key: ``OVERCAST_ACCESS_KEY_ID`` + ``OVERCAST_SECRET_ACCESS_KEY``, else the
shared-credentials file ``--credentials`` names, else the admin credentials of a
platform whose state folder is ``--state-dir`` (what ``overcast serve`` wrote).
"""

from __future__ import annotations

import json
import os
import sys
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from overcast.cli.listen_options import listen_options
from overcast.errors import OvercastError

if TYPE_CHECKING:
    from overcast.control.listeners import ListenOptions

err = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_STATE_DIR = Path(".overcast-platform")
DEFAULT_TARGET = "http://127.0.0.1:8081"
_FINAL = ("Succeeded", "Failed", "RolledBack")


class PlatformClientError(OvercastError):
    """The platform refused a request or could not be reached."""

    def __init__(self, message: str, *, status: int = 0, code: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
        #: seconds the platform asked to wait before trying again (429, 503)
        self.retry_after: float | None = None


#: tries of a request the platform answers 429 (busy), and the longest wait between
_BUSY_ATTEMPTS = 30
_MAX_RETRY_AFTER_S = 5.0


class PlatformClient:
    """SigV4-signed requests to a platform's admin API."""

    def __init__(self, target: str, access_key_id: str, secret: str) -> None:
        if not target.startswith(("http://", "https://")):
            raise PlatformClientError(
                f"--target {target!r} is not an http(s) URL",
                hint=f"e.g. {DEFAULT_TARGET} (the platform's admin port)",
            )
        self.target = target.rstrip("/")
        self._key_id = access_key_id
        self._secret = secret

    def request(self, method: str, path: str, body: bytes = b"", timeout: float = 300) -> Any:
        """Send one request; the decoded JSON answer, or :class:`PlatformClientError`.

        A 429 with Retry-After (the platform's bound on concurrent uploads) is waited
        out and the request sent again, signed afresh, a few times.
        """
        for _attempt in range(_BUSY_ATTEMPTS - 1):
            try:
                return self._request_once(method, path, body, timeout)
            except PlatformClientError as exc:
                if exc.status != 429 or exc.retry_after is None:
                    raise
                time.sleep(min(exc.retry_after, _MAX_RETRY_AFTER_S))
        return self._request_once(method, path, body, timeout)

    def _request_once(self, method: str, path: str, body: bytes, timeout: float) -> Any:
        from overcast.control.sigv4 import sign

        url = self.target + path
        headers = sign(
            method,
            url,
            {"Content-Type": "application/json", "amz-sdk-invocation-id": str(uuid.uuid4())},
            body,
            access_key_id=self._key_id,
            secret=self._secret,
            region="us-east-1",
            service="overcast",
        )
        request = urllib.request.Request(  # noqa: S310  (http(s) only: checked in __init__)
            url, data=body if method in ("POST", "PUT") else None, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                detail = json.loads(raw)
                message = detail.get("message") or detail.get("Message") or raw.decode()
            except ValueError:
                message = raw.decode(errors="replace")
            code = exc.headers.get("x-amzn-ErrorType", "")
            failure = PlatformClientError(
                f"{code or exc.code}: {message}", status=exc.code, code=code
            )
            retry_after = exc.headers.get("Retry-After", "")
            failure.retry_after = float(retry_after) if retry_after.isdigit() else None
            raise failure from None
        except urllib.error.URLError as exc:
            raise PlatformClientError(
                f"cannot reach the platform at {self.target}: {exc.reason}",
                hint="start it with `overcast serve`, or pass --target http://HOST:ADMIN_PORT",
            ) from None
        return json.loads(raw) if raw else None


def _fail(exc: OvercastError) -> None:
    err.print(f"[bold red]error:[/] {escape(exc.message)}")
    if exc.hint:
        err.print(f"[dim]hint:[/] {escape(exc.hint)}")
    sys.exit(1)


def platform_credentials(
    target: str | None, credentials: Path | None, state_dir: Path
) -> tuple[str, str, str]:
    """(admin URL, key id, secret) of the platform the options and environment name."""
    from overcast.control.access_keys import KeyStore, read_credentials_file

    url = target or os.environ.get("OVERCAST_TARGET") or DEFAULT_TARGET
    key_id = os.environ.get("OVERCAST_ACCESS_KEY_ID")
    secret = os.environ.get("OVERCAST_SECRET_ACCESS_KEY")
    if not (key_id and secret):
        path = credentials or KeyStore(state_dir).admin_credentials_path
        key_id, secret = read_credentials_file(path)
    return url, key_id, secret


def _client(target: str | None, credentials: Path | None, state_dir: Path) -> PlatformClient:
    return PlatformClient(*platform_credentials(target, credentials, state_dir))


_TARGET = click.option("--target", default=None, help=f"Platform admin URL [{DEFAULT_TARGET}].")
_CREDENTIALS = click.option(
    "--credentials",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Shared-credentials file of an overcast key.",
)
_STATE = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_STATE_DIR,
    show_default=True,
    help="The platform's state folder.",
)
_STAGE = click.option("--stage", required=True, help="Stage: dev, qa, prod, ...")


@click.command()
@_STATE
@listen_options(
    port=8080,
    admin_port=8081,
    port_help="Port serving every stage.",
    admin_port_help="Port of the deploy, Lambda and secrets APIs and the dashboard.",
)
@click.option(
    "--domain",
    default="localhost",
    show_default=True,
    help="Platform domain: dev.DOMAIN → dev, DOMAIN and www.DOMAIN → prod.",
)
@click.option("--stages", default="dev,qa,prod", show_default=True, help="Comma-separated stages.")
@click.option("--custom-domain", multiple=True, metavar="HOST=STAGE", help="Map a host to a stage.")
@click.option("--artifacts", default="artifacts", show_default=True, help="Artifacts bucket URL.")
@click.option(
    "--stage-concurrency", multiple=True, metavar="STAGE=N", help="Concurrency cap of a stage."
)
@click.option(
    "--stage-throttle",
    multiple=True,
    metavar="STAGE=RATE[:BURST]",
    help="Requests per second (and burst) a stage accepts; more get 429.",
)
@click.option(
    "--budget-cap",
    multiple=True,
    metavar="STAGE=USD/day|month",
    help="Hard spend limit of a stage (STAGE/FUNCTION for one function, STAGE/stack:NAME "
    "for one stack); its requests get 429 once reached.",
)
@click.option(
    "--budget-fallback",
    multiple=True,
    metavar="STAGE=FILE",
    help="Page a capped stage answers (with 429) instead of the message.",
)
@click.option(
    "--pricing-alarm",
    multiple=True,
    metavar="STAGE=USD",
    help="Alarm when a stage's estimated charges this month exceed USD.",
)
@click.option(
    "--alarm-webhook",
    multiple=True,
    metavar="URL",
    help="POST alarm state changes here, signed with $OVERCAST_WEBHOOK_SECRET.",
)
@click.option("--smtp", default=None, metavar="HOST[:PORT]", help="Mail alarm changes via SMTP.")
@click.option("--smtp-starttls", is_flag=True, help="Use STARTTLS with --smtp.")
@click.option("--alarm-email-from", default="overcast@localhost", show_default=True)
@click.option("--alarm-email-to", multiple=True, metavar="ADDRESS", help="Who gets alarm mail.")
@click.option(
    "--alarm-interval", default=10.0, show_default=True, help="Seconds between alarm checks."
)
@click.option(
    "--prices",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="TOML price table (per stage / function); default AWS's published prices.",
)
@click.option(
    "--client-rate",
    default=None,
    metavar="RATE[:BURST]",
    help="Requests per second each client address may send (429 beyond).",
)
@click.option("--keep-alive", default=600.0, show_default=True, help="Idle seconds per instance.")
@click.option(
    "--dns-port",
    type=int,
    default=None,
    help="Also answer DNS for the platform domain on this port (UDP+TCP), e.g. 5353.",
)
@click.option("--dns-address", default=None, help="IPv4 address the names resolve to.")
@click.option(
    "--no-sandbox",
    is_flag=True,
    help="Run deployed functions unisolated, as this user (refused by default where "
    "the machine cannot sandbox them).",
)
@click.option(
    "--no-egress",
    is_flag=True,
    help="Keep deployed functions off the internet (by default they reach public "
    "addresses, as a Lambda function outside a VPC does).",
)
@click.option(
    "--drain-grace",
    "drain_grace",
    default=5.0,
    show_default=True,
    help="Seconds a draining node (`overcast node drain`, SIGUSR1) fails its health check "
    "before it stops accepting.",
)
def serve(
    state_dir: Path,
    listen: ListenOptions,
    domain: str,
    stages: str,
    custom_domain: tuple[str, ...],
    artifacts: str,
    stage_concurrency: tuple[str, ...],
    stage_throttle: tuple[str, ...],
    budget_cap: tuple[str, ...],
    budget_fallback: tuple[str, ...],
    pricing_alarm: tuple[str, ...],
    alarm_webhook: tuple[str, ...],
    smtp: str | None,
    smtp_starttls: bool,
    alarm_email_from: str,
    alarm_email_to: tuple[str, ...],
    alarm_interval: float,
    prices: Path | None,
    client_rate: str | None,
    keep_alive: float,
    dns_port: int | None,
    dns_address: str | None,
    no_sandbox: bool,
    no_egress: bool,
    drain_grace: float,
) -> None:
    """Run a platform that apps are deployed to with `overcast deploy`."""
    from overcast.cli.main import _run
    from overcast.control.platform import Platform, PlatformOptions
    from overcast.gateway import ClientLimit
    from overcast.gateway.throttle import ThrottleLimit
    from overcast.observe.price_file import load_price_book
    from overcast.observe.spend import parse_cap

    try:
        options = PlatformOptions(
            state_dir=state_dir,
            listen=listen,
            domain=domain,
            stages=tuple(s.strip() for s in stages.split(",") if s.strip()),
            custom_domains=_pairs(custom_domain, "--custom-domain"),
            artifacts=artifacts,
            stage_concurrency={k: int(v) for k, v in _pairs(stage_concurrency, "").items()},
            stage_throttle={
                k: ThrottleLimit.parse(v)
                for k, v in _pairs(stage_throttle, "--stage-throttle").items()
            },
            budget_caps={k: parse_cap(v) for k, v in _pairs(budget_cap, "--budget-cap").items()},
            budget_fallbacks={
                k: _fallback_page(Path(v))
                for k, v in _pairs(budget_fallback, "--budget-fallback").items()
            },
            pricing_alarms={
                k: Decimal(v) for k, v in _pairs(pricing_alarm, "--pricing-alarm").items()
            },
            webhooks=_webhooks(alarm_webhook),
            emails=_emails(smtp, smtp_starttls, alarm_email_from, alarm_email_to),
            alarm_interval_s=alarm_interval,
            client_limit=ClientLimit.parse(client_rate) if client_rate else None,
            prices=load_price_book(prices) if prices is not None else None,
            idle_keepalive_s=keep_alive,
            dns_port=dns_port,
            dns_address=dns_address,
            sandbox=not no_sandbox,
            egress=not no_egress,
            drain_grace_s=drain_grace,
        )
        platform = Platform(options)
        if platform.sandbox.warning is not None:
            err.print(f"[bold yellow]warning:[/] {escape(platform.sandbox.warning)}")
    except (OvercastError, ValueError, ArithmeticError) as exc:
        _fail(exc if isinstance(exc, OvercastError) else OvercastError(str(exc)))
        return

    def ready(running: Platform) -> None:
        table = Table(title="stages", title_justify="left")
        for column in ("stage", "hosts", "deployment"):
            table.add_column(column)
        p = running.data_address[1]
        scheme = running.listeners.data_scheme
        for name, stage in running.stages.items():
            hosts = sorted(h for h, s in running.hosts.hosts.items() if s == name)
            lives = stage.lives()
            table.add_row(
                name,
                ", ".join(f"{scheme}://{h}:{p}" for h in hosts),
                ", ".join(f"{lv.record.stack}: {lv.record.id}" for lv in lives)
                if lives
                else "[dim]none yet[/]",
            )
        err.print(table)
        if running.created_admin_key is not None:
            err.print(
                "[bold]First start: created an admin key[/] "
                f"{running.created_admin_key.access_key_id}; its credentials are in "
                f"{escape(str(running.keys.admin_credentials_path))}"
            )
        if running.dns is not None:
            dh, dp = running.dns.address
            err.print(
                f"DNS for {escape(running.options.domain)} on {dh}:{dp} (UDP and TCP) → "
                f"{running.dns_zone.ipv4 if running.dns_zone else ''}"
            )
        err.print(
            f"[green]Platform ready[/] — deploy with `overcast deploy APP_DIR --stage dev "
            f"--target {running.listeners.admin_url}`; Ctrl-C to stop"
        )

    try:
        _run(platform.run(ready))
    except KeyboardInterrupt:
        sys.exit(130)
    err.print("[dim]stopped cleanly[/]")


def _fallback_page(path: Path) -> tuple[bytes, bytes]:
    import mimetypes

    try:
        body = path.read_bytes()
    except OSError as exc:
        raise OvercastError(f"--budget-fallback: cannot read {path}: {exc.strerror}") from exc
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/"):
        kind += "; charset=utf-8"
    return kind.encode(), body


def _webhooks(urls: tuple[str, ...]) -> tuple[Any, ...]:
    from overcast.observe.notify import WebhookTarget

    if not urls:
        return ()
    secret = os.environ.get("OVERCAST_WEBHOOK_SECRET", "")
    if not secret:
        raise OvercastError(
            "--alarm-webhook needs a signing secret in OVERCAST_WEBHOOK_SECRET",
            hint="export OVERCAST_WEBHOOK_SECRET=... (the receiver checks X-Overcast-Signature)",
        )
    return tuple(WebhookTarget(url, secret) for url in urls)


def _emails(smtp: str | None, starttls: bool, sender: str, to: tuple[str, ...]) -> tuple[Any, ...]:
    from overcast.observe.notify import SmtpTarget

    if smtp is None:
        if to:
            raise OvercastError("--alarm-email-to needs --smtp HOST[:PORT]")
        return ()
    if not to:
        raise OvercastError("--smtp needs at least one --alarm-email-to ADDRESS")
    host, _, port = smtp.partition(":")
    return (
        SmtpTarget(
            host,
            sender,
            to,
            port=int(port) if port else 25,
            starttls=starttls,
            username=os.environ.get("OVERCAST_SMTP_USER"),
            password=os.environ.get("OVERCAST_SMTP_PASSWORD"),
        ),
    )


def _pairs(items: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise OvercastError(f"{what or 'option'} {item!r} must be KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def samconfig_overrides(app_dir: Path, stage: str) -> dict[str, str]:
    """``parameter_overrides`` of ``[<stage>.deploy.parameters]`` in the app's samconfig.toml.

    The file ``sam deploy --config-env <stage>`` reads, so one file serves both.
    https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-cli-config.html
    """
    from overcast.template import parse_parameter_overrides

    path = (app_dir if app_dir.is_dir() else app_dir.parent) / "samconfig.toml"
    if not path.is_file():
        return {}
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise OvercastError(f"{path}: {exc}") from exc
    section = config.get(stage, {}).get("deploy", {}).get("parameters", {})
    raw = section.get("parameter_overrides")
    if raw is None:
        return {}
    items = raw if isinstance(raw, list) else [raw]
    return parse_parameter_overrides([str(i) for i in items])


@click.command()
@click.argument("app_dir", type=click.Path(exists=True, path_type=Path), default=".")
@_STAGE
@_TARGET
@_CREDENTIALS
@_STATE
@click.option("--parameter-overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--message", "-m", default="", help="Recorded with the deployment.")
@click.option("--no-wait", is_flag=True, help="Return once the deployment has started.")
@click.option(
    "--stack",
    default=None,
    help="The stack (app) of the stage to deploy [default: samconfig.toml's stack_name for "
    "the stage, else the app folder's name].",
)
@click.option(
    "--base-path",
    default="",
    metavar="NAME",
    help="Serve the stack under /NAME/ of the stage's hosts (an API mapping) "
    "[default: the template's Metadata.overcast.base_path, else the root]; every stack is "
    "also reached at STACK.<stage host>.",
)
def deploy(
    app_dir: Path,
    stage: str,
    target: str | None,
    credentials: Path | None,
    state_dir: Path,
    parameter_overrides: tuple[str, ...],
    message: str,
    no_wait: bool,
    stack: str | None,
    base_path: str,
) -> None:
    """Build APP_DIR and deploy it to a stack of a stage of a platform."""
    from overcast.control.app_loading import find_template, load_app
    from overcast.control.deploy_bundle import build_bundle
    from overcast.control.stacks import base_path as checked_base_path
    from overcast.control.stacks import default_stack, stack_name
    from overcast.template import parse_parameter_overrides

    try:
        folder = app_dir if app_dir.is_dir() else app_dir.parent
        stack = stack_name(stack) if stack else default_stack(folder, stage)
        mapping = checked_base_path(base_path) if base_path else None
        client = _client(target, credentials, state_dir)
        template = find_template(app_dir)
        overrides = samconfig_overrides(app_dir, stage)
        overrides.update(parse_parameter_overrides(list(parameter_overrides)))
        with err.status("Building…"):
            model = load_app(app_dir, overrides)
            bundle = build_bundle(template, model, overrides, message)
        digests = sorted(bundle.artifacts)
        missing = client.request(
            "POST", "/overcast/artifacts/missing", json.dumps({"Digests": digests}).encode()
        )["Missing"]
        total = sum(bundle.size_of(d) for d in missing)
        err.print(
            f"{len(bundle.request.code)} code folder(s), "
            f"{len(bundle.request.static or {})} static file(s); "
            f"{len(missing)} of {len(digests)} artifact(s) to upload"
        )
        if missing:
            with Progress(
                TextColumn("uploading"),
                BarColumn(),
                DownloadColumn(),
                TimeElapsedColumn(),
                console=err,
            ) as progress:
                task = progress.add_task("upload", total=total)
                for digest in missing:
                    client.request("PUT", f"/overcast/artifacts/{digest}", bundle.read(digest))
                    progress.advance(task, bundle.size_of(digest))
        import msgspec

        # --base-path, else the template's Metadata.overcast.base_path, else the root
        chosen = mapping if mapping is not None else checked_base_path(bundle.request.base_path)
        request = msgspec.structs.replace(bundle.request, stack=stack, base_path=chosen)
        body = msgspec.json.encode(request)
        quoted = urllib.parse.quote(stage, safe="")
        started = client.request("POST", f"/overcast/stages/{quoted}/deployments", body)
        err.print(
            f"Deployment [bold]{started['DeploymentId']}[/] of stack {stack} on stage {stage} "
            "started"
        )
        _conclude(client, stage, started["DeploymentId"], no_wait)
    except OvercastError as exc:
        _fail(exc)


def _conclude(client: PlatformClient, stage: str, deployment_id: str, no_wait: bool) -> None:
    """Print the deployment id (stdout, for scripts); unless ``no_wait``, follow it to its
    end first and exit 1 when it did not succeed."""
    if not no_wait:
        final = _follow(client, stage, deployment_id)
        _report(final)
    sys.stdout.write(deployment_id + "\n")
    if not no_wait and final["Status"] != "Succeeded":
        sys.exit(1)


def _follow(client: PlatformClient, stage: str, deployment_id: str) -> Mapping[str, Any]:
    """Poll a deployment until it ends, showing the traffic on the new version."""
    quoted = urllib.parse.quote(stage, safe="")
    path = f"/overcast/stages/{quoted}/deployments/{deployment_id}"
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        task = progress.add_task("starting", total=100)
        while True:
            state = client.request("GET", path)
            weights = state.get("Weights") or {}
            if state["Status"] in _FINAL:
                progress.update(task, description=state["Status"], completed=100)
                return dict(state)
            if weights:
                share = min(weights.values())
                progress.update(task, description="shifting traffic", completed=share * 100)
            else:
                progress.update(task, description="starting the new version")
            time.sleep(0.3)


def _report(state: Mapping[str, Any]) -> None:
    status = state["Status"]
    colour = "green" if status == "Succeeded" else "red"
    versions = ", ".join(f"{k}:{v}" for k, v in sorted(state.get("Versions", {}).items()))
    err.print(f"[{colour}]{status}[/] {state['DeploymentId']} — versions {versions}")
    if state.get("Reason"):
        err.print(f"[dim]reason:[/] {escape(state['Reason'])}")


@click.command()
@_STAGE
@_TARGET
@_CREDENTIALS
@_STATE
@click.option("--no-wait", is_flag=True, help="Return once the rollback has started.")
@click.option("--stack", default="", help="The stack to roll back (needed when several run).")
def rollback(
    stage: str,
    target: str | None,
    credentials: Path | None,
    state_dir: Path,
    no_wait: bool,
    stack: str,
) -> None:
    """Return a stack of a stage to its previous successful deployment, in one step."""
    try:
        client = _client(target, credentials, state_dir)
        quoted = urllib.parse.quote(stage, safe="")
        query = f"?stack={urllib.parse.quote(stack, safe='')}" if stack else ""
        started = client.request("POST", f"/overcast/stages/{quoted}/rollback{query}")
        deployment_id = started["DeploymentId"]
        err.print(f"Rollback {deployment_id} of stage {stage}: {started.get('Message', '')}")
        _conclude(client, stage, deployment_id, no_wait)
    except OvercastError as exc:
        _fail(exc)


@click.command()
@_STAGE
@_TARGET
@_CREDENTIALS
@_STATE
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--stack", default="", help="Only this stack's deployments.")
def deployments(
    stage: str,
    target: str | None,
    credentials: Path | None,
    state_dir: Path,
    as_json: bool,
    stack: str,
) -> None:
    """List a stage's deployments (of every stack, or of one), newest first."""
    try:
        client = _client(target, credentials, state_dir)
        quoted = urllib.parse.quote(stage, safe="")
        query = f"?stack={urllib.parse.quote(stack, safe='')}" if stack else ""
        answer = client.request("GET", f"/overcast/stages/{quoted}/deployments{query}")
    except OvercastError as exc:
        _fail(exc)
        return
    if as_json:
        sys.stdout.write(json.dumps(answer, indent=2) + "\n")
        return
    table = Table(title=f"deployments of {stage}", title_justify="left")
    for column in ("", "id", "stack", "kind", "status", "created", "versions", "message / reason"):
        table.add_column(column)
    currents = set((answer.get("CurrentByStack") or {}).values())
    for item in answer["Deployments"]:
        current = "→" if item["DeploymentId"] in currents else ""
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(item["Created"]))
        versions = ", ".join(f"{k}:{v}" for k, v in sorted(item["Versions"].items()))
        note = " — ".join(x for x in (item.get("Message"), item.get("Reason")) if x)
        table.add_row(
            current,
            item["DeploymentId"],
            item.get("Stack", ""),
            item["Kind"],
            item["Status"],
            created,
            versions,
            note,
        )
    Console(highlight=False, soft_wrap=True).print(table)


@click.command()
@_STAGE
@_TARGET
@_CREDENTIALS
@_STATE
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def stacks(
    stage: str, target: str | None, credentials: Path | None, state_dir: Path, as_json: bool
) -> None:
    """List the stacks (apps) a stage runs: current deployment, base path, functions."""
    try:
        client = _client(target, credentials, state_dir)
        quoted = urllib.parse.quote(stage, safe="")
        answer = client.request("GET", f"/overcast/stages/{quoted}/stacks")
    except OvercastError as exc:
        _fail(exc)
        return
    if as_json:
        sys.stdout.write(json.dumps(answer, indent=2) + "\n")
        return
    table = Table(title=f"stacks of {stage}", title_justify="left")
    for column in ("stack", "deployment", "base path", "functions"):
        table.add_column(column)
    for item in answer["Stacks"]:
        table.add_row(
            item["Stack"],
            item["Current"],
            "/" + item["BasePath"] if item["BasePath"] else "/ (root)",
            ", ".join(item["Functions"]),
        )
    if not answer["Stacks"]:
        table.add_row("—", "(nothing deployed)", "", "")
    Console(highlight=False, soft_wrap=True).print(table)


@click.command()
@click.argument("stack")
@_STAGE
@_TARGET
@_CREDENTIALS
@_STATE
def delete(
    stack: str, stage: str, target: str | None, credentials: Path | None, state_dir: Path
) -> None:
    """Take STACK out of a stage: its functions stop, its history stays."""
    try:
        client = _client(target, credentials, state_dir)
        quoted = urllib.parse.quote(stage, safe="")
        name = urllib.parse.quote(stack, safe="")
        record = client.request("DELETE", f"/overcast/stages/{quoted}/stacks/{name}")
    except OvercastError as exc:
        _fail(exc)
        return
    err.print(f"[green]Deleted[/] stack {stack} from stage {stage} ({record['DeploymentId']})")


@click.command()
@_STAGE
@_TARGET
@_CREDENTIALS
@_STATE
@click.option("--lift", is_flag=True, help="Lift the cap until its period ends (admin keys).")
@click.option("--stack", default="", help="The cap of one stack (--budget-cap STAGE/stack:NAME).")
def budget(
    stage: str,
    target: str | None,
    credentials: Path | None,
    state_dir: Path,
    lift: bool,
    stack: str,
) -> None:
    """Show a stage's (or one of its stacks') spend against its budget cap, or lift it."""
    try:
        client = _client(target, credentials, state_dir)
        quoted = urllib.parse.quote(stage, safe="")
        path = f"/overcast/stages/{quoted}/budget" + ("/lift" if lift else "")
        if stack:
            path += f"?stack={urllib.parse.quote(stack, safe='')}"
        answer = client.request("POST" if lift else "GET", path)
    except OvercastError as exc:
        _fail(exc)
        return
    title = f"budget of stack {stack} of {stage}" if stack else f"budget of {stage}"
    table = Table(title=title, title_justify="left")
    for column in ("cap", "spent this period", "in flight (reserved)", "state"):
        table.add_column(column)
    cap = f"${answer['Cap']}/{answer['Period']}" if answer["Cap"] else "none"
    state = "[red]reached: 429[/]" if answer["Reached"] else "open"
    if answer["Lifted"]:
        state = "lifted until the period ends"
    table.add_row(cap, f"${answer['Spent']}", f"${answer['Reserved']}", state)
    Console(highlight=False, soft_wrap=True).print(table)


@click.group(invoke_without_command=True)
@_TARGET
@_CREDENTIALS
@_STATE
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def alarms(
    ctx: click.Context,
    target: str | None,
    credentials: Path | None,
    state_dir: Path,
    as_json: bool,
) -> None:
    """List every alarm and budget of a platform with its state (or put/delete one)."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        answer = _client(target, credentials, state_dir).request("GET", "/overcast/alarms")
    except OvercastError as exc:
        _fail(exc)
        return
    if as_json:
        sys.stdout.write(json.dumps(answer, indent=2) + "\n")
        return
    table = Table(title="alarms", title_justify="left")
    for column in ("stage", "alarm", "state", "since", "reason"):
        table.add_column(column)
    colours = {"ALARM": "red", "OK": "green", "INSUFFICIENT_DATA": "yellow"}
    for item in answer["Alarms"]:
        state = item["StateValue"]
        since = time.strftime("%H:%M:%S", time.localtime(item["StateUpdatedTimestamp"]))
        table.add_row(
            item["Stage"] or "",
            item["AlarmName"],
            f"[{colours.get(state, 'white')}]{state}[/]",
            since,
            escape(item["StateReason"]),
        )
    Console(highlight=False, soft_wrap=True).print(table)


@click.group("api-keys")
def api_keys() -> None:
    """API keys for routes with ApiKeyRequired (API Gateway usage plans) on a platform."""


_PLATFORM_DIR = click.option(
    "--platform",
    "platform_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_STATE_DIR,
    show_default=True,
    help="The platform's state folder.",
)


@api_keys.command("create")
@click.argument("name")
@click.option("--plan", default=None, help="Usage plan (logical id, e.g. MyApiUsagePlan).")
@_PLATFORM_DIR
def api_keys_create(name: str, plan: str | None, platform_dir: Path) -> None:
    """Issue a key; its value is printed once, on stdout (clients send it as x-api-key)."""
    from overcast.control.api_key_store import FileApiKeyStore

    try:
        key, value = FileApiKeyStore(platform_dir).create(name, plan)
    except OvercastError as exc:
        _fail(exc)
        return
    err.print(
        f"[green]Created[/] API key {key.key_id} ({escape(name)}); the value is shown only now"
    )
    sys.stdout.write(value + "\n")


@api_keys.command("list")
@_PLATFORM_DIR
def api_keys_list(platform_dir: Path) -> None:
    """Show the platform's API keys (never their values)."""
    from overcast.control.api_key_store import FileApiKeyStore

    try:
        issued = FileApiKeyStore(platform_dir).all()
    except OvercastError as exc:
        _fail(exc)
        return
    table = Table(title="API keys", title_justify="left")
    for column in ("id", "name", "usage plan", "created"):
        table.add_column(column)
    for key in issued:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(key.created))
        table.add_row(key.key_id, escape(key.name), key.usage_plan or "any", created)
    Console(highlight=False, soft_wrap=True).print(table)


@api_keys.command("revoke")
@click.argument("key_id")
@_PLATFORM_DIR
def api_keys_revoke(key_id: str, platform_dir: Path) -> None:
    """Delete an API key; the platform refuses it from the next request on."""
    from overcast.control.api_key_store import FileApiKeyStore

    try:
        key = FileApiKeyStore(platform_dir).revoke(key_id)
    except OvercastError as exc:
        _fail(exc)
        return
    err.print(f"[green]Revoked[/] API key {key.key_id} ({escape(key.name)})")


@alarms.command("put")
@click.argument("name")
@_STAGE
@click.option("--metric", required=True, help="AWS/Lambda metric: Errors, Invocations, ...")
@click.option("--function", default=None, help="FunctionName dimension (default: all).")
@click.option("--namespace", default="AWS/Lambda", show_default=True)
@click.option("--statistic", default="Sum", show_default=True)
@click.option("--period", default=60, show_default=True, help="Seconds per datapoint.")
@click.option("--evaluation-periods", default=1, show_default=True)
@click.option("--threshold", type=float, required=True)
@click.option("--comparison", default="GreaterThanThreshold", show_default=True)
@click.option("--treat-missing-data", default="missing", show_default=True)
@_TARGET
@_CREDENTIALS
@_STATE
def alarms_put(
    name: str,
    stage: str,
    metric: str,
    function: str | None,
    namespace: str,
    statistic: str,
    period: int,
    evaluation_periods: int,
    threshold: float,
    comparison: str,
    treat_missing_data: str,
    target: str | None,
    credentials: Path | None,
    state_dir: Path,
) -> None:
    """Define (or replace) alarm NAME on a stage, as CloudWatch's PutMetricAlarm does."""
    body: dict[str, object] = {
        "AlarmName": name,
        "Stage": stage,
        "Namespace": namespace,
        "MetricName": metric,
        "Statistic": statistic,
        "Period": period,
        "EvaluationPeriods": evaluation_periods,
        "Threshold": threshold,
        "ComparisonOperator": comparison,
        "TreatMissingData": treat_missing_data,
    }
    if function is not None:
        body["Dimensions"] = [{"Name": "FunctionName", "Value": function}]
    try:
        client = _client(target, credentials, state_dir)
        client.request("POST", "/overcast/alarms", json.dumps(body).encode())
    except OvercastError as exc:
        _fail(exc)
        return
    err.print(f"[green]Put[/] alarm {escape(name)} on stage {stage}")


@alarms.command("delete")
@click.argument("name")
@_TARGET
@_CREDENTIALS
@_STATE
def alarms_delete(name: str, target: str | None, credentials: Path | None, state_dir: Path) -> None:
    """Delete alarm NAME defined on the platform (template alarms go with their deploy)."""
    try:
        _client(target, credentials, state_dir).request(
            "DELETE", f"/overcast/alarms/{urllib.parse.quote(name, safe='')}"
        )
    except OvercastError as exc:
        _fail(exc)
        return
    err.print(f"[green]Deleted[/] alarm {escape(name)}")
