"""Tries every way out of the sandbox it knows; reports what each attempt gave.

The test that deploys it passes, in the query string, the paths and ports it should
try (the platform's state folder, the admin and data ports, a prod secret's value to
look for), as an attacker who knows the machine's layout would.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from typing import Any


def _read(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return "READ:" + handle.read(4096).decode(errors="replace")
    except OSError as exc:
        return f"errno {exc.errno}"


def _http(url: str, headers: dict[str, str] | None = None) -> str:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return f"{response.status}:" + response.read(4096).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return f"{exc.code}:" + exc.read(512).decode(errors="replace")
    except OSError as exc:
        return f"error {exc}"


def _connect(host: str, port: int) -> str:
    try:
        with socket.create_connection((host, port), timeout=3):
            return "connected"
    except OSError as exc:
        return f"errno {exc.errno}"


def loot(event: Any, context: Any) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    state = query.get("state", "")
    admin = int(query.get("admin", "0"))
    found: dict[str, Any] = {}
    for name in (
        "secrets/master.key",
        "secrets/root-token",
        "access/admin-credentials",
        "access/keys.json",
        "deployments.sqlite3",
    ):
        found[f"file {name}"] = _read(os.path.join(state, name))
    found["state folder exists"] = os.path.exists(state)
    found["state folder listing"] = [root for root, _, _ in os.walk(state)][:20]
    found["root listing"] = sorted(os.listdir("/"))
    # Python files anywhere but its own code and the runtime (the platform's, another
    # app's or another stage's code would show up here).
    own = ("/proc", "/usr", "/var/lang", "/var/runtime", "/var/task", "/sys")
    found["other code"] = [
        os.path.join(root, name)
        for root, dirs, files in os.walk("/")
        if not root.startswith(own)
        for name in files
        if name.endswith(".py")
    ][:20]
    found["environ"] = dict(os.environ)
    found["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    found["process environs"] = {
        p: _read(f"/proc/{p}/environ") for p in os.listdir("/proc") if p.isdigit()
    }
    base = f"http://127.0.0.1:{admin}"
    found["metrics"] = _http(f"{base}/metrics")
    found["dashboard"] = _http(f"{base}/dashboard/login")
    found["deploy api"] = _http(f"{base}/overcast/stages")
    found["vault unauthenticated"] = _http(f"{base}/v1/secret/data/prod/shop")
    found["vault own token on prod"] = _http(
        f"{base}/v1/secret/data/prod/shop",
        {"X-Vault-Token": os.environ.get("VAULT_TOKEN", "none")},
    )
    found["lambda unsigned"] = _http(f"{base}/2015-03-31/functions/")
    found["postgres"] = _connect("127.0.0.1", 5432)
    found["redis"] = _connect("127.0.0.1", 6379)
    found["health"] = _http(f"{base}/health")
    return {"statusCode": 200, "body": json.dumps(found)}


def egress(event: Any, context: Any) -> dict[str, Any]:
    """The internet as a function outside a VPC reaches it: through the platform's proxy."""
    found = {
        "proxy": os.environ.get("HTTPS_PROXY"),
        "private through the proxy": _http("http://10.11.12.13/"),
        "public, bypassing the proxy": _connect("1.1.1.1", 443),
    }
    return {"statusCode": 200, "body": json.dumps(found)}


def ok(event: Any, context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps({"ok": True})}
