"""Gzip and Brotli compression by Accept-Encoding, with CloudFront's conditions. Pure.

From "Serve compressed files"
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/ServingCompressedFiles.html):

- the viewer's ``Accept-Encoding`` must name ``gzip`` or ``br``; when both are
  acceptable CloudFront uses Brotli (here: the higher q-value wins, Brotli on a tie);
- the object must be between 1,000 and 10,000,000 bytes and of a compressible
  content type (the list below is CloudFront's "File types that CloudFront
  compresses");
- a response that already has a ``Content-Encoding`` is passed on untouched — never
  compressed twice; a ``Cache-Control: no-transform`` one too (RFC 9111 §5.2.2.6);
- compressing turns a strong ``ETag`` into a weak one ("ETag header conversion").

The chosen encoding is normalised (``br``/``gzip``/``""``) and becomes part of the
cache key, as CloudFront does once compression is on.
"""

from __future__ import annotations

import gzip
import importlib
from collections.abc import Callable
from typing import Final

MIN_SIZE: Final = 1_000
MAX_SIZE: Final = 10_000_000

COMPRESSIBLE_TYPES: Final = frozenset(
    {
        "application/dash+xml",
        "application/eot",
        "application/font",
        "application/font-sfnt",
        "application/javascript",
        "application/json",
        "application/opentype",
        "application/otf",
        "application/pkcs7-mime",
        "application/protobuf",
        "application/rss+xml",
        "application/truetype",
        "application/ttf",
        "application/vnd.apple.mpegurl",
        "application/vnd.mapbox-vector-tile",
        "application/vnd.ms-fontobject",
        "application/wasm",
        "application/xhtml+xml",
        "application/xml",
        "application/x-font-opentype",
        "application/x-font-truetype",
        "application/x-font-ttf",
        "application/x-httpd-cgi",
        "application/x-javascript",
        "application/x-mpegurl",
        "application/x-opentype",
        "application/x-otf",
        "application/x-perl",
        "application/x-ttf",
        "font/eot",
        "font/opentype",
        "font/otf",
        "font/ttf",
        "image/svg+xml",
        "text/css",
        "text/csv",
        "text/html",
        "text/javascript",
        "text/js",
        "text/plain",
        "text/richtext",
        "text/tab-separated-values",
        "text/xml",
        "text/x-component",
        "text/x-java-source",
        "text/x-script",
        "vnd.apple.mpegurl",
    }
)


def _load_brotli() -> Callable[[bytes], bytes] | None:
    try:
        module = importlib.import_module("brotli")
    except ImportError:
        return None
    compress: Callable[[bytes], bytes] = module.compress
    return compress


_BROTLI = _load_brotli()
SUPPORTED: Final = ("br", "gzip") if _BROTLI is not None else ("gzip",)


def negotiate(accept_encoding: bytes | None, supported: tuple[str, ...] = SUPPORTED) -> str:
    """The encoding to use for this Accept-Encoding: ``br``, ``gzip`` or ``""`` (identity).

    q-values are honoured (``q=0`` refuses); ``*`` stands for any encoding not named.
    """
    if not accept_encoding:
        return ""
    weights: dict[str, float] = {}
    for part in accept_encoding.decode("latin-1").split(","):
        token, *params = part.strip().split(";")
        token = token.strip().lower()
        if not token:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[token] = q
    best = ""
    best_q = 0.0
    for coding in supported:  # preference order: br before gzip on equal q
        q = weights.get(coding, weights.get("*", 0.0))
        if q > best_q:
            best, best_q = coding, q
    return best


def is_compressible(content_type: bytes | None, size: int) -> bool:
    """Whether CloudFront would compress a body of this type and size."""
    if not content_type or not MIN_SIZE <= size <= MAX_SIZE:
        return False
    media = content_type.split(b";", 1)[0].strip().lower().decode("latin-1")
    return media in COMPRESSIBLE_TYPES


def compress(body: bytes, encoding: str) -> bytes:
    """Compress ``body`` with ``encoding`` (``br`` or ``gzip``)."""
    if encoding == "br" and _BROTLI is not None:
        return _BROTLI(body)
    if encoding == "gzip":
        # mtime=0: the same body always gives the same bytes (stable ETags, tests).
        return gzip.compress(body, compresslevel=6, mtime=0)
    raise ValueError(f"unsupported encoding {encoding!r}")


def weak_etag(etag: bytes) -> bytes:
    """``"abc"`` → ``W/"abc"``; an already weak tag is returned as is."""
    return etag if etag.startswith(b"W/") else b"W/" + etag


def add_vary(headers: list[tuple[bytes, bytes]], token: bytes = b"Accept-Encoding") -> None:
    """Add ``token`` to the Vary header unless it is already named there."""
    for i, (key, value) in enumerate(headers):
        if key == b"vary":
            names = [v.strip().lower() for v in value.split(b",")]
            if token.lower() not in names and b"*" not in names:
                headers[i] = (key, value + b", " + token)
            return
    headers.append((b"vary", token))
