"""Fuzzing the spellings of a Vault request path: none reaches what the canonical path is denied.

A reader token holds ``secret/data/*`` with ``secret/data/admin/*`` denied. Hypothesis
spells ``/v1/secret/data/admin/...`` every way a client can (``//``, ``%2F`` and ``%2f``,
``/./``, ``/x/../``, their escaped forms, escaped letters, trailing ``/``, flipped case)
and drives the in-process ASGI app as uvicorn would (``raw_path`` as sent, ``path``
decoded), following each 301 as a client does. No read ever carries the admin secret and
no write ever lands under ``admin/``, while the same spellings of an allowed path still
work. The resolver itself, fed any printable path, never raises, always yields a
canonical path, and redirects only to a spelling that does not redirect again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.hang_guard import no_hang
from overcast.secrets import SecretNotFoundError, SecretsService, TokenRequest, open_secrets
from overcast.secrets.request_path import (
    CanonicalPath,
    Redirect,
    Refusal,
    clean_path,
    is_canonical,
    resolve,
)

TOP_SECRET = "admin-password-0451"
POLICY = """
path "secret/data/*" { capabilities = ["create", "read", "update", "patch", "delete"] }
path "secret/metadata/*" { capabilities = ["list", "read", "update", "delete"] }
path "secret/data/admin/*" { capabilities = ["deny"] }
path "secret/metadata/admin/*" { capabilities = ["deny"] }
"""

#: what may stand between two segments: one "/" and the spellings that hide extra ones
SEPARATORS = st.sampled_from(
    ["/", "/", "/", "//", "///", "/./", "/%2E/", "/%2e/", "%2F", "%2f", "/%2F", "%2F%2F",
     "/zz/../", "/zz/%2E%2E/", "%2Fzz%2F..%2F", "/%2E%2E/admin/", "/./././"]
)  # fmt: skip
TRAILERS = st.sampled_from(["", "", "/", "//", "/.", "%2F", "/%2E", "/..", "?list=true"])
LETTER_FORMS = st.sampled_from(["keep", "keep", "keep", "keep", "upper", "lower", "case"])


@st.composite
def spelled(draw: st.DrawFn, segments: tuple[str, ...]) -> str:
    """One raw-path spelling of ``/v1/<segments>``."""
    parts: list[str] = ["/v1"]
    for segment in segments:
        parts.append(draw(SEPARATORS))
        word = ""
        for char in segment:
            form = draw(LETTER_FORMS)
            if form == "upper":
                word += f"%{ord(char):02X}"
            elif form == "lower":
                word += f"%{ord(char):02x}"
            elif form == "case":
                word += char.swapcase()
            else:
                word += char
        parts.append(word)
    return "".join(parts) + draw(TRAILERS)


@dataclass
class Vault:
    service: SecretsService
    reader: str

    def request(self, method: str, target: str, body: Any = None) -> list[tuple[int, bytes]]:
        """Answers along the way, each 301 followed with the same method (at most 4 hops)."""
        answers = [asyncio.run(_call(self.service, method, target, self.reader, body))]
        while answers[-1][0] == 301 and len(answers) < 5:
            answers.append(
                asyncio.run(_call(self.service, method, answers[-1][2], self.reader, body))
            )
        return [(status, payload) for status, payload, _location in answers]


async def _call(
    service: SecretsService, method: str, target: str, token: str, body: Any
) -> tuple[int, bytes, str]:
    raw_path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "method": method,
        "path": unquote(raw_path),  # what uvicorn hands an app
        "raw_path": raw_path.encode("ascii"),
        "query_string": query.encode("ascii"),
        "headers": [(b"x-vault-token", token.encode())],
    }
    payload = b"" if body is None else orjson.dumps(body)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await service.api(scope, receive, send)
    start, body_message = sent
    headers = dict(start["headers"])
    location = headers.get(b"location", b"").decode("latin-1")
    return start["status"], body_message["body"], location


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Vault:
    service = open_secrets(tmp_path_factory.mktemp("vault") / "state", environ={})
    assert service.initial_root_token is not None
    root = service.tokens.authenticate(service.initial_root_token)
    service.store.write("admin/topsecret", {"v": TOP_SECRET})
    service.store.write("public/x", {"v": "public"})
    service.policies.put("reader", POLICY)
    reader, _auth = service.tokens.create(root, TokenRequest(policies=("reader",)))
    vault = Vault(service, reader)
    canonical = vault.request("GET", "/v1/secret/data/admin/topsecret")
    assert canonical[-1][0] == 403, "the canonical path must be denied, or the test means nothing"
    return vault


def _admin_untouched(service: SecretsService) -> None:
    assert service.store.list_keys("admin") == ["topsecret"]
    assert service.store.read("admin/topsecret").data == {"v": TOP_SECRET}
    with pytest.raises(SecretNotFoundError):
        service.store.read("admin/planted")


@given(target=spelled(("secret", "data", "admin", "topsecret")))
@example(target="/v1/secret/data//admin/topsecret")
@example(target="/v1/secret/data/%2Fadmin/topsecret")
@example(target="/v1/secret/data/public/%2E%2E/admin/topsecret")
def test_no_spelling_reads_what_the_canonical_path_is_denied(vault: Vault, target: str) -> None:
    with no_hang(target):
        answers = vault.request("GET", target)
    for status, body in answers:
        assert status != 500, (target, body)
        assert TOP_SECRET.encode() not in body, target


@given(
    target=spelled(("secret", "data", "admin", "planted")),
    method=st.sampled_from(["POST", "PUT", "PATCH"]),
)
@example(target="/v1/secret/data//admin/planted", method="POST")
@example(target="/v1/secret/data/%2Fadmin/planted", method="PUT")
def test_no_spelling_writes_where_the_canonical_path_is_denied(
    vault: Vault, target: str, method: str
) -> None:
    with no_hang(target):
        answers = vault.request(method, target, {"data": {"v": "planted"}})
    assert answers[-1][0] != 500, (target, answers[-1])
    if 200 <= answers[-1][0] < 300:
        # Allowed only where the policy allows: never under the denied admin/ (a secret
        # named "admin" itself, as in ".../admin/planted/..", is outside the deny).
        written = _canonical(target)
        assert written is not None, target
        assert not written.startswith("secret/data/admin/"), target
    _admin_untouched(vault.service)


@given(
    target=spelled(("secret", "metadata", "admin", "topsecret")),
    method=st.sampled_from(["DELETE", "POST"]),
)
def test_no_spelling_deletes_or_rewrites_metadata_under_a_deny(
    vault: Vault, target: str, method: str
) -> None:
    with no_hang(target):
        vault.request(method, target, {"max_versions": 1})
    _admin_untouched(vault.service)
    assert vault.service.store.read_metadata("admin/topsecret")["max_versions"] == 0


@given(target=spelled(("secret", "data", "public", "x")))
def test_a_spelling_of_an_allowed_path_reads_it_or_is_refused(vault: Vault, target: str) -> None:
    with no_hang(target):
        status, body = vault.request("GET", target)[-1]
    assert status in (200, 400, 403, 404, 405), (target, body)
    if "?" not in target and _canonical(target) == "secret/data/public/x":  # ?list: LIST
        assert status == 200
        assert orjson.loads(body)["data"]["data"] == {"v": "public"}


def _canonical(target: str) -> str | None:
    """The canonical path a spelling finally names, or None when it is refused."""
    raw_path, _, _query = target.partition("?")
    where = resolve(raw_path.encode("ascii"))
    if isinstance(where, Redirect):
        where = resolve(where.location.partition("?")[0].encode("ascii"))
    return where.path if isinstance(where, CanonicalPath) and not where.trailing_slash else None


PRINTABLE_ASCII = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=80)


@given(raw=st.one_of(PRINTABLE_ASCII, st.builds("/v1/{}".format, PRINTABLE_ASCII)))
def test_the_resolver_gives_one_meaning_or_refuses(raw: str) -> None:
    path = raw.partition("?")[0]
    with no_hang(path):
        where = resolve(path.encode("ascii"), b"q=1")
    if isinstance(where, CanonicalPath):
        assert is_canonical(where.path)
        assert clean_path(unquote(path)) == unquote(path)
    elif isinstance(where, Redirect):
        location = where.location.removesuffix("?q=1")
        assert location == clean_path(location)
        assert not isinstance(resolve(location.encode("ascii")), Redirect)
    else:
        assert isinstance(where, Refusal)
        assert where.message
        assert "\n" not in where.message


@given(raw=st.binary(max_size=80))
def test_the_resolver_never_raises_on_any_bytes(raw: bytes) -> None:
    with no_hang(repr(raw)):
        where = resolve(raw)
    assert isinstance(where, CanonicalPath | Redirect | Refusal)
    if isinstance(where, Redirect):
        assert where.location.isprintable()
