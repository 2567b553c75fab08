"""Making a stage's static bucket hold exactly a deployment's site (``aws s3 sync --delete``).

Objects whose sha256 already matches are left alone, so a deploy that changes one
file writes one object, and the paths returned are exactly the ones whose content
changed or disappeared: what the edge must invalidate.
"""

from __future__ import annotations

from collections.abc import Mapping

from overcast.control.code_store import CodeStore
from overcast.storage import Bucket


def sync_static(bucket: Bucket, code: CodeStore, manifest: Mapping[str, str]) -> list[str]:
    """Put changed objects, delete removed ones; the viewer paths (``/key``) that changed."""
    existing = {info.key: info.sha256 for info in bucket.list()}
    changed: list[str] = []
    for key, digest in sorted(manifest.items()):
        if existing.get(key) != digest:
            bucket.put(key, code.get(digest))
            changed.append("/" + key)
    for key in sorted(existing.keys() - manifest.keys()):
        bucket.delete(key)
        changed.append("/" + key)
    return changed
