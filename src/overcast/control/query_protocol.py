"""The AWS query protocol, pure: form parameters in, XML out.

Older SDKs speak it to SQS, and every SDK speaks it to SNS: a request is
``Action=<Operation>&Version=<api version>&<flattened parameters>``, form-encoded in a
POST body (or a GET's query string); a response is XML
(``<OpResponse xmlns=..><OpResult>..</OpResult><ResponseMetadata>..``); an error is
``<ErrorResponse><Error><Type>Sender</Type><Code>..``.

The flattening follows each parameter's *shape*, which AWS's service models spell out
(https://smithy.io/2.0/aws/protocols/aws-query-protocol.html): a structure's members
join with ``.``; a list's items are numbered from 1, under ``.member.N`` or, when
*flattened*, directly as ``Name.N``; a map's entries under ``.entry.N.key`` /
``.entry.N.value`` or, flattened, ``Name.N.Name`` / ``Name.N.Value``. A member may be
sent under another name than the one the JSON protocol uses (SQS's
``MessageAttribute.1.Name`` is JSON's ``MessageAttributes``).

:func:`decode` turns the flattened form into the nested dict the JSON protocol would
carry, so an API serves both protocols with one copy of each operation; :func:`encode`
renders an operation's result dict as its XML response. Scalars are typed by the
shape (``"3"`` → 3 for an integer); a value that does not parse is left a string for
the operation's own checks to refuse as they refuse a bad JSON value.

:func:`is_query_request` reads only the request's head: the admin port routes on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from overcast.control.asgi_types import Scope
from overcast.control.sigv4 import credential_service

FORM_CONTENT_TYPE = b"application/x-www-form-urlencoded"
XML_CONTENT_TYPE = b"text/xml"


#: a queue's URL path (``/<account id>/<name>``): the query protocol may POST to it
_QUEUE_PATH = re.compile(r"^/[0-9]{12}/[A-Za-z0-9_.-]{1,80}$")


def is_query_request(scope: Scope, service: str, *, queue_paths: bool = False) -> bool:
    """Whether this is a query-protocol request signed for ``service``: a form-encoded
    ``POST /`` (or, with ``queue_paths``, to a queue's URL), or a GET with an
    ``Action`` in its query string. The credential scope tells SQS from SNS: both
    post the same kind of form to ``/``."""
    path = scope["path"]
    if path != "/" and not (queue_paths and _QUEUE_PATH.match(path)):
        return False
    headers = scope["headers"]
    if scope["method"] == "POST":
        kind = next((v for k, v in headers if k == b"content-type"), b"")
        if not kind.lower().startswith(FORM_CONTENT_TYPE):
            return False
    elif scope["method"] != "GET" or b"Action=" not in scope.get("query_string", b""):
        return False
    authorization = next((v for k, v in headers if k == b"authorization"), None)
    return credential_service(authorization) == service


@dataclass(frozen=True, slots=True)
class Scalar:
    """A string, number, boolean or blob (base64 text on the wire, as in JSON)."""

    kind: Literal["string", "integer", "boolean", "blob"] = "string"


@dataclass(frozen=True, slots=True)
class ListOf:
    """A list; ``item`` names each element (``member`` unless the model renames it)."""

    member: Shape
    flattened: bool = False
    item: str | None = None


@dataclass(frozen=True, slots=True)
class MapOf:
    """A map of string keys; ``key`` and ``value`` name each entry's two parts."""

    value: Shape
    flattened: bool = False
    key: str = "key"
    value_name: str = "value"


@dataclass(frozen=True, slots=True)
class Member:
    """A structure's member: its shape and the name it travels under in this protocol."""

    shape: Shape
    wire: str | None = None


@dataclass(frozen=True, slots=True)
class Struct:
    """A structure, by member name (the JSON protocol's)."""

    members: Mapping[str, Member] = field(default_factory=dict)


Shape = Scalar | ListOf | MapOf | Struct

STRING = Scalar()
INTEGER = Scalar("integer")
BOOLEAN = Scalar("boolean")
BLOB = Scalar("blob")


@dataclass(frozen=True, slots=True)
class Operation:
    """An operation's input and output shapes (None: it answers with no result)."""

    input: Struct
    output: Struct | None = None


def struct(**members: Shape | Member) -> Struct:
    """A structure from keyword members (a bare shape travels under its own name)."""
    return Struct({k: v if isinstance(v, Member) else Member(v) for k, v in members.items()})


def form_params(body: bytes, query_string: bytes = b"") -> dict[str, str]:
    """A request's parameters: the query string's, then the form body's over them."""
    params: dict[str, str] = {}
    for raw in (query_string, body):
        if raw:
            params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def decode(shape: Struct, params: Mapping[str, str]) -> dict[str, Any]:
    """The nested parameters a flattened query request carries, per ``shape``."""
    prefixes: set[str] = set()
    for key in params:
        parts = key.split(".")
        prefixes.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    decoded = _decode(shape, "", params, prefixes)
    return decoded if isinstance(decoded, dict) else {}


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


#: a scalar named only as the prefix of longer keys (``Name.1`` for a string ``Name``)
_MISSING = object()


def _decode(shape: Shape, prefix: str, params: Mapping[str, str], present: set[str]) -> Any:
    if isinstance(shape, Scalar):
        return _scalar(shape, params[prefix]) if prefix in params else _MISSING
    if isinstance(shape, Struct):
        result: dict[str, Any] = {}
        for name, member in shape.members.items():
            at = _join(prefix, member.wire or name)
            if at in present:
                value = _decode(member.shape, at, params, present)
                if value is not _MISSING:
                    result[name] = value
        return result
    if isinstance(shape, ListOf):
        if params.get(prefix) == "":  # an empty list is sent as ``Name=``
            return []
        if shape.flattened:
            # A flattened list's items may be renamed: the name replaces the last part.
            base = prefix if shape.item is None else _join(prefix.rpartition(".")[0], shape.item)
        else:
            base = f"{prefix}.{shape.item or 'member'}"
        items: list[Any] = []
        index = 1
        while f"{base}.{index}" in present:
            item = _decode(shape.member, f"{base}.{index}", params, present)
            if item is not _MISSING:
                items.append(item)
            index += 1
        return items
    base = prefix if shape.flattened else f"{prefix}.entry"
    entries: dict[str, Any] = {}
    index = 1
    while f"{base}.{index}" in present:
        key = params.get(f"{base}.{index}.{shape.key}")
        value_at = f"{base}.{index}.{shape.value_name}"
        if key is not None and value_at in present:
            value = _decode(shape.value, value_at, params, present)
            if value is not _MISSING:
                entries[key] = value
        index += 1
    return entries


def _scalar(shape: Scalar, text: str) -> Any:
    if shape.kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text
    if shape.kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def encode(
    action: str, namespace: str, operation: Operation, result: Any, request_id: str
) -> bytes:
    """The XML response of ``action`` whose result (the JSON protocol's dict) is ``result``."""
    parts = [f'<?xml version="1.0"?><{action}Response xmlns="{namespace}">']
    if operation.output is not None:
        parts.append(f"<{action}Result>")
        _encode_members(operation.output, result if isinstance(result, Mapping) else {}, parts)
        parts.append(f"</{action}Result>")
    parts.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>")
    parts.append(f"</{action}Response>")
    return "".join(parts).encode()


def error(
    namespace: str, code: str, message: str, request_id: str, *, sender: bool = True
) -> bytes:
    """The query protocol's error document."""
    kind = "Sender" if sender else "Receiver"
    return (
        f'<?xml version="1.0"?><ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type>'
        f"<Code>{_text(code)}</Code><Message>{_text(message)}</Message><Detail/></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()


# Content keeps every character as sent: a carriage return would be read back as a
# line feed (XML's end-of-line handling) unless written as a character reference.
_ENTITIES = {"\r": "&#xD;"}


# Characters XML 1.0 cannot carry at all (its Char production), even as references.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    """Escaped character data; a character XML cannot carry (only an echoed request
    value could hold one) becomes U+FFFD, so every answer stays well formed."""
    return escape(_NOT_XML.sub("\ufffd", value), _ENTITIES)


def _encode_members(shape: Struct, value: Mapping[str, Any], parts: list[str]) -> None:
    for name, member in shape.members.items():
        if name in value and value[name] is not None:
            _encode(member.shape, member.wire or name, value[name], parts)


def _encode(shape: Shape, tag: str, value: Any, parts: list[str]) -> None:
    if isinstance(shape, Scalar):
        text = ("true" if value else "false") if isinstance(value, bool) else _text(str(value))
        parts.append(f"<{tag}>{text}</{tag}>")
    elif isinstance(shape, Struct):
        parts.append(f"<{tag}>")
        _encode_members(shape, value, parts)
        parts.append(f"</{tag}>")
    elif isinstance(shape, ListOf):
        if shape.flattened:
            for item in value:
                _encode(shape.member, shape.item or tag, item, parts)
            return
        parts.append(f"<{tag}>")
        for item in value:
            _encode(shape.member, shape.item or "member", item, parts)
        parts.append(f"</{tag}>")
    else:
        entry = tag if shape.flattened else "entry"
        if not shape.flattened:
            parts.append(f"<{tag}>")
        for key, item in value.items():
            parts.append(f"<{entry}><{shape.key}>{_text(key)}</{shape.key}>")
            _encode(shape.value, shape.value_name, item, parts)
            parts.append(f"</{entry}>")
        if not shape.flattened:
            parts.append(f"</{tag}>")
