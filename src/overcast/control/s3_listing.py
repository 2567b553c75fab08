"""ListObjectsV2's paging, sans I/O: prefix, delimiter roll-up, start-after, tokens.

S3's rules (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html):
keys come in UTF-8 binary order; with a delimiter, every key whose rest after the
prefix holds the delimiter is rolled into one ``CommonPrefixes`` entry (the rest up to
and including the first delimiter), and each entry counts once towards ``max-keys``;
``start-after`` and the continuation token both say where to resume. overcast's token
is the last key or common prefix returned, base64url-encoded: opaque to clients, as
S3's is, and valid across restarts.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from overcast.control.s3_xml import ListPage, S3Error
from overcast.storage import ObjectInfo


def encode_token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode("utf-8")).decode("ascii")


def decode_token(token: str) -> str:
    """The marker a continuation token carries; InvalidArgument when it is not ours."""
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise S3Error(
            400,
            "InvalidArgument",
            "The continuation token provided is incorrect",
            {"ArgumentName": "continuation-token", "ArgumentValue": token},
        ) from None


def _utf8(key: str) -> bytes:
    return key.encode("utf-8", "surrogatepass")


def list_page(
    objects: Iterable[ObjectInfo],
    *,
    prefix: str = "",
    delimiter: str = "",
    max_keys: int = 1000,
    start_after: str = "",
    token: str = "",
    marker: str = "",
) -> ListPage:
    """One page of ``objects`` (any order) as ListObjectsV2 returns it; ``marker`` is
    ListObjects (version 1)'s, a plain key or common prefix to resume after."""
    marker = marker or (decode_token(token) if token else "")
    # The token resumes after the last entry returned; without one, after start-after.
    after = marker or start_after
    # A token naming a common prefix skips every key rolled into it.
    rolled = marker if marker and delimiter and marker.endswith(delimiter) else ""
    contents: list[ObjectInfo] = []
    prefixes: list[str] = []
    last = ""
    truncated = False
    for info in sorted(objects, key=lambda item: _utf8(item.key)):
        key = info.key
        if not key.startswith(prefix) or (after and _utf8(key) <= _utf8(after)):
            continue
        if rolled and key.startswith(rolled):
            continue
        entry: str | None = None
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut != -1:
                entry = key[: cut + len(delimiter)]
                if prefixes and prefixes[-1] == entry:
                    continue
        if len(contents) + len(prefixes) >= max_keys:
            truncated = True
            break
        if entry is not None:
            prefixes.append(entry)
            last = entry
        else:
            contents.append(info)
            last = key
    return ListPage(
        contents=tuple(contents),
        common_prefixes=tuple(prefixes),
        is_truncated=truncated,
        next_token=encode_token(last) if truncated else None,
        next_marker=last if truncated else None,
    )
