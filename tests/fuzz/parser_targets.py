"""The parsers of outside input as byte-fed fuzz targets (used by atheris_run.py).

Each target feeds its bytes to one parser and lets only that parser's documented error
through; anything else escaping is a crash.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from overcast.control.sigv4 import (
    SignatureError,
    canonical_query,
    canonical_uri,
    parse_authorization,
)
from overcast.edge.config import parse_edge_config
from overcast.edge.errors import EdgeConfigError
from overcast.secrets.errors import PolicyParseError
from overcast.secrets.policy import Acl, parse_policy
from overcast.secrets.request_path import resolve
from overcast.template.errors import TemplateError
from overcast.template.loader import load_template
from overcast.template.yaml_loader import parse_yaml

Target = Callable[[bytes], None]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def template(data: bytes) -> None:
    with contextlib.suppress(TemplateError):
        load_template(_text(data), filename="template.yaml", base_dir="/nonexistent")


def vault_policy(data: bytes) -> None:
    with contextlib.suppress(PolicyParseError):
        Acl([parse_policy("fuzzed", _text(data))]).capabilities("secret/data/x")


def vault_path(data: bytes) -> None:
    # The resolver documents no error: every input is a path, a redirect or a refusal.
    raw_path, _, query = data.partition(b"?")
    resolve(raw_path, query)


def edge_config(data: bytes) -> None:
    with contextlib.suppress(EdgeConfigError, TemplateError):
        parse_edge_config(parse_yaml(_text(data), "template.yaml"))


def sigv4_authorization(data: bytes) -> None:
    with contextlib.suppress(SignatureError):
        parse_authorization(_text(data))


def sigv4_canonical(data: bytes) -> None:
    path, _, query = _text(data).partition("?")
    canonical_uri(path)
    canonical_query(query)


TARGETS: dict[str, Target] = {
    "template": template,
    "vault-policy": vault_policy,
    "vault-path": vault_path,
    "edge-config": edge_config,
    "sigv4-authorization": sigv4_authorization,
    "sigv4-canonical": sigv4_canonical,
}
