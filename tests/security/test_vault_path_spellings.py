"""Finding: Vault deny rules were bypassed by ``//`` and ``%2F`` in the request path.

With ``secret/data/*`` granted and ``secret/data/admin/*`` denied,
``GET /v1/secret/data//admin/topsecret`` and ``/v1/secret/data/%2Fadmin/topsecret``
returned the secret and a write through ``//admin/`` succeeded: the ACL saw one path and
the store another. Vault checks policies on the canonical path: Go's ServeMux answers a
path that is not clean with a 301 to the cleaned one (hashicorp/vault#18573, #3049), and
what percent-decoding would make unclean is refused with 400 in Vault's error shape.
Paths are case-sensitive: ``Admin`` is not ``admin``, and an exact deny on ``Admin/x``
holds for every spelling of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import hvac
import hvac.exceptions
import pytest

from overcast.secrets import open_secrets
from vault_server import RawReply, ServedVault

TOP_SECRET = "admin-password-0451"
CAPITAL_SECRET = "capital-admin-value"
POLICY = """
path "secret/data/*" { capabilities = ["create", "read", "update", "delete"] }
path "secret/metadata/*" { capabilities = ["list", "read"] }
path "secret/data/admin/*" { capabilities = ["deny"] }
path "secret/data/Admin/exact" { capabilities = ["deny"] }
"""


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[ServedVault]:
    with ServedVault(open_secrets(tmp_path / "state", environ={})) as served:
        root = hvac.Client(url=served.url, token=served.root_token)
        kv = root.secrets.kv.v2
        kv.create_or_update_secret(path="admin/topsecret", secret={"v": TOP_SECRET})
        kv.create_or_update_secret(path="Admin/x", secret={"v": CAPITAL_SECRET})
        kv.create_or_update_secret(path="Admin/exact", secret={"v": TOP_SECRET})
        kv.create_or_update_secret(path="public/x", secret={"v": "public"})
        root.sys.create_or_update_policy(name="reader", policy=POLICY)
        yield served


@pytest.fixture
def reader(vault: ServedVault) -> str:
    root = hvac.Client(url=vault.url, token=vault.root_token)
    token: str = root.auth.token.create(policies=["reader"])["auth"]["client_token"]
    return token


def _follow(vault: ServedVault, method: str, target: str, token: str) -> list[RawReply]:
    """Every answer on the way, redirects followed as a client would (same method)."""
    replies = [vault.raw(method, target, token, {"data": {"v": "planted"}})]
    while replies[-1].status == 301 and len(replies) < 5:
        location = replies[-1].location
        assert location is not None
        assert location.startswith("/v1/")
        replies.append(vault.raw(method, location, token, {"data": {"v": "planted"}}))
    return replies


ADMIN_SPELLINGS = [
    "/v1/secret/data//admin/topsecret",
    "/v1/secret/data/%2Fadmin/topsecret",
    "/v1/secret/data/%2fadmin/topsecret",
    "/v1/secret/data/admin%2F%2Ftopsecret",
    "/v1/secret/data/./admin/topsecret",
    "/v1/secret/data/%2E/admin/topsecret",
    "/v1/secret/data/public/../admin/topsecret",
    "/v1/secret/data/public/%2E%2E/admin/topsecret",
    "/v1/secret/data/public%2F..%2Fadmin/topsecret",
    "/v1/secret/data/admin//topsecret",
    "/v1/secret/data/admin/topsecret/",
    "/v1/secret/data/admin/topsecret//",
    "/v1//secret/data/admin/topsecret",
    "/v1/secret//data/admin/topsecret",
    "/v1/secret/data/%61dmin/topsecret",
]


@pytest.mark.parametrize("target", ADMIN_SPELLINGS)
def test_no_spelling_of_a_denied_path_reads_it(
    vault: ServedVault, reader: str, target: str
) -> None:
    replies = _follow(vault, "GET", target, reader)
    for reply in replies:
        assert TOP_SECRET.encode() not in reply.body
    final = replies[-1]
    assert final.status in (400, 403), (target, final)
    assert isinstance(final.json()["errors"], list)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize("target", [t.replace("topsecret", "planted") for t in ADMIN_SPELLINGS])
def test_no_spelling_of_a_denied_path_writes_it(
    vault: ServedVault, reader: str, target: str, method: str
) -> None:
    final = _follow(vault, method, target, reader)[-1]
    assert final.status in (400, 403, 404), (target, final)
    root = hvac.Client(url=vault.url, token=vault.root_token)
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v2.read_secret_version(path="admin/planted", raise_on_deleted_version=True)


def test_hvac_reading_through_a_double_slash_is_forbidden(vault: ServedVault, reader: str) -> None:
    client = hvac.Client(url=vault.url, token=reader)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.adapter.get("/v1/secret/data//admin/topsecret")
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.read_secret_version(
            path="/admin/topsecret", raise_on_deleted_version=True
        )


def test_an_encoded_slash_is_refused_in_vaults_error_shape(vault: ServedVault, reader: str) -> None:
    reply = vault.raw("GET", "/v1/secret/data/%2Fadmin/topsecret", reader)
    assert reply.status == 400
    body = reply.json()
    assert list(body) == ["errors"]
    assert len(body["errors"]) == 1
    assert "\n" not in body["errors"][0]


def test_an_unclean_path_is_redirected_to_its_clean_spelling(vault: ServedVault) -> None:
    reply = vault.raw("GET", "/v1/secret/data/public/../admin//topsecret?version=1")
    assert reply.status == 301
    assert reply.location == "/v1/secret/data/admin/topsecret?version=1"


def test_paths_are_case_sensitive(vault: ServedVault, reader: str) -> None:
    client = hvac.Client(url=vault.url, token=reader)
    capital = client.secrets.kv.v2.read_secret_version(
        path="Admin/x", raise_on_deleted_version=True
    )
    assert capital["data"]["data"] == {"v": CAPITAL_SECRET}
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.read_secret_version(path="Admin/exact", raise_on_deleted_version=True)


@pytest.mark.parametrize(
    "target",
    [
        "/v1/secret/data/%41dmin/exact",
        "/v1/secret/data/Admin%2Fexact",
        "/v1/secret/data/Admin//exact",
        "/v1/secret/data/Admin/exact/",
        "/v1/secret/data/Admin/./exact",
    ],
)
def test_an_exact_deny_holds_for_every_spelling(
    vault: ServedVault, reader: str, target: str
) -> None:
    final = _follow(vault, "GET", target, reader)[-1]
    assert TOP_SECRET.encode() not in final.body
    # With its slash, "Admin/exact/" is another key (as in Vault): allowed, and absent.
    assert final.status in (400, 403, 404), (target, final)


def test_canonical_paths_and_listing_still_work(vault: ServedVault, reader: str) -> None:
    client = hvac.Client(url=vault.url, token=reader)
    read = client.secrets.kv.v2.read_secret_version(path="public/x", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"v": "public"}
    assert client.secrets.kv.v2.list_secrets(path="public")["data"]["keys"] == ["x"]
    assert vault.raw("LIST", "/v1/secret/metadata/public/", reader).status == 200
