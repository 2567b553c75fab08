"""Static sites: only changed objects are written, removed ones deleted, paths reported."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from overcast.control.code_store import CodeStore
from overcast.control.deploy_bundle import DeployBundleError, static_settings
from overcast.control.static_sync import sync_static
from overcast.storage import FilesystemBucket


def _store(code: CodeStore, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    code.put(digest, data)
    return digest


def test_sync_writes_what_changed_and_deletes_what_is_gone(tmp_path: Path) -> None:
    code = CodeStore(FilesystemBucket(tmp_path / "artifacts"), tmp_path / "code")
    site = FilesystemBucket(tmp_path / "site")
    index, app, old = (_store(code, b) for b in (b"<h1>1</h1>", b"js", b"old"))
    assert sync_static(site, code, {"index.html": index, "app.js": app, "old.txt": old}) == [
        "/app.js",
        "/index.html",
        "/old.txt",
    ]
    index2 = _store(code, b"<h1>2</h1>")
    assert sync_static(site, code, {"index.html": index2, "app.js": app}) == [
        "/index.html",
        "/old.txt",
    ]
    assert site.get("index.html")[0] == b"<h1>2</h1>"
    assert not site.exists("old.txt")
    assert sync_static(site, code, {"index.html": index2, "app.js": app}) == []


TEMPLATE = {
    "Metadata": {"overcast": {"static": {"bucket": "Web", "source": "./web"}}},
    "Resources": {"Web": {"Type": "AWS::S3::Bucket"}},
}


def test_static_settings_name_a_bucket_of_the_template() -> None:
    settings = static_settings(TEMPLATE)
    assert settings is not None
    assert (settings.bucket, settings.source) == ("Web", "./web")
    assert static_settings({"Resources": {}}) is None


@pytest.mark.parametrize(
    ("static", "resources", "message"),
    [
        ({"bucket": "Web"}, {"Web": {"Type": "AWS::S3::Bucket"}}, "bucket and source"),
        ({"bucket": "Nope", "source": "web"}, {}, "is not an AWS::S3::Bucket"),
        ({"bucket": "Web", "source": "web", "extra": 1}, {}, "mapping with bucket and source"),
    ],
)
def test_bad_static_settings_say_what_to_fix(
    static: dict[str, object], resources: dict[str, object], message: str
) -> None:
    template = {"Metadata": {"overcast": {"static": static}}, "Resources": resources}
    with pytest.raises(DeployBundleError, match=message):
        static_settings(template)
