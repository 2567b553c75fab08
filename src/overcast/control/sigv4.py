"""AWS Signature Version 4, sans I/O: one implementation for signing and verifying.

The algorithm (canonical request → string to sign → derived key → HMAC) follows
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
and reproduces what botocore's ``SigV4Auth`` computes for non-S3 services such as the
Lambda client: the path as it travels on the wire (already percent-encoded once by the
serializer, so a function ARN's ``:`` arrives as ``%3A``) is URI-encoded a second time,
so ``%3A`` becomes ``%253A`` in the canonical URI.

Errors carry the code and message that AWS returns for the rest-json protocol, sent in
the ``x-amzn-ErrorType`` header with ``{"message": ...}``, status 403 (Lambda's common
errors: https://docs.aws.amazon.com/lambda/latest/api/CommonErrors.html). The exact
texts are those AWS answers with, as reported in SDK issues:
"Signature expired: ... is now earlier than ... (... - 5 min.)" with status 403 and
``X-Amzn-Errortype: InvalidSignatureException`` (github.com/aws/aws-sdk-go/issues/859),
and the mismatch message (github.com/aws/aws-sdk-js/issues/168).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import parse_qsl, quote, unquote_plus, urlsplit

from overcast.errors import OvercastError

_T = TypeVar("_T")

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=5)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
# botocore never signs these (they are rewritten by proxies and retries).
_UNSIGNED_HEADERS = frozenset({"expect", "user-agent", "x-amzn-trace-id"})
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
#: S3's ``x-amz-content-sha256`` for a body the signature does not cover
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
UNKNOWN_KEY_MESSAGE = "The security token included in the request is invalid."
MISSING_MESSAGE = "Missing Authentication Token"
REPLAY_MESSAGE = "Signature has already been used; sign every request afresh."
PAYLOAD_MISMATCH_MESSAGE = (
    "The provided 'x-amz-content-sha256' header does not match what was computed."
)


class SignatureError(OvercastError):
    """A request whose SigV4 signature cannot be accepted; ``code`` is AWS's error type."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True, slots=True)
class Authorization:
    """The parts of an ``Authorization: AWS4-HMAC-SHA256 ...`` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP request as the server saw it.

    ``raw_path`` is the path exactly as sent (percent-encoded, no query);
    ``query`` is the raw query string; header names may be in any case and repeat.
    """

    method: str
    raw_path: str
    query: str
    headers: Sequence[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class Verified:
    """A request whose signature checked out."""

    access_key_id: str
    region: str
    service: str
    signature: str
    #: the hex sha256 the signature vouches for; :meth:`Verifier.verify_head` leaves the
    #: caller to check the body against it
    payload_hash: str = ""


def parse_authorization(header: str) -> Authorization:
    """Split an Authorization header; raise IncompleteSignatureException when malformed."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureError(
            "IncompleteSignatureException",
            f"Unsupported signing algorithm {algorithm!r}; use {ALGORITHM}.",
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if n not in fields]
    if missing:
        needs = " ".join(f"Authorization header requires '{n}' parameter." for n in missing)
        raise SignatureError("IncompleteSignatureException", f"{needs} Authorization={header}")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        raise SignatureError(
            "IncompleteSignatureException",
            "Credential should be scoped to a valid region, service and date: "
            f"{fields['Credential']!r}.",
        )
    signature = fields["Signature"].lower()
    if not _SIGNATURE.match(signature):
        raise SignatureError("IncompleteSignatureException", "Signature is not 64 hex digits.")
    signed = tuple(fields["SignedHeaders"].lower().split(";"))
    if "host" not in signed:
        raise SignatureError(
            "IncompleteSignatureException", "'Host' must be a signed header (SignedHeaders)."
        )
    return Authorization(scope[0], scope[1], scope[2], scope[3], signed, signature)


def credential_service(header: bytes | None) -> str | None:
    """The service an Authorization header's credential scope names (``sqs``, ``sns``),
    or None when there is no well-formed header: how the admin port tells apart two
    APIs that share ``POST /`` and a form body (the query protocol)."""
    if header is None:
        return None
    try:
        return parse_authorization(header.decode("latin-1")).service
    except SignatureError:
        return None


def canonical_uri(raw_path: str, service: str = "") -> str:
    """The canonical URI: for S3 the path as sent (S3 neither normalizes nor encodes it
    twice: botocore's ``S3SigV4Auth``); for every other service dot segments removed,
    then encoded again."""
    if service == "s3":
        return raw_path or "/"
    return quote(_remove_dot_segments(raw_path or "/"), safe="/~")


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 section 5.2.4, as botocore's normalize_url_path applies it.
    output: list[str] = []
    for segment in path.split("/"):
        if segment == ".":
            continue
        if segment == "..":
            if output:
                output.pop()
            continue
        output.append(segment)
    joined = "/".join(output)
    if not joined.startswith("/"):
        joined = "/" + joined
    if path.endswith("/") and not joined.endswith("/"):
        joined += "/"
    return joined


def canonical_query(query: str) -> str:
    """Each name and value decoded, re-encoded (RFC 3986 unreserved), sorted by name."""
    if not query:
        return ""
    pairs = []
    for item in query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        # '+' is a form-encoded space (botocore's AWSRequest encodes params that way
        # while signing them as %20); SDK serializers send a literal plus as %2B.
        pairs.append((_uri_encode(unquote_plus(key)), _uri_encode(unquote_plus(value))))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _uri_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def _header_values(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    merged: dict[str, list[str]] = {}
    for name, value in headers:
        merged.setdefault(name.lower(), []).append(" ".join(value.split()))
    return {name: ",".join(values) for name, values in merged.items()}


def canonical_request(
    request: Request, signed_headers: Sequence[str], payload_hash: str, service: str = ""
) -> str:
    """The canonical request string (task 1 of the signing process)."""
    values = _header_values(request.headers)
    canonical_headers = "".join(f"{name}:{values.get(name, '')}\n" for name in signed_headers)
    return "\n".join(
        [
            request.method.upper(),
            canonical_uri(request.raw_path, service),
            canonical_query(request.query),
            canonical_headers,
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    """Task 2: algorithm, timestamp, credential scope, hash of the canonical request."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """Task 3: the key derived from the secret, date, region and service."""
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signature(secret: str, auth_scope: tuple[str, str, str], amz_date: str, canonical: str) -> str:
    """Task 4: the hex signature; ``auth_scope`` is (date, region, service)."""
    date, region, service = auth_scope
    scope = f"{date}/{region}/{service}/aws4_request"
    key = signing_key(secret, date, region, service)
    to_sign = string_to_sign(amz_date, scope, canonical)
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    access_key_id: str,
    secret: str,
    region: str,
    service: str,
    now: datetime | None = None,
    payload_hash: str | None = None,
) -> dict[str, str]:
    """Headers to send: ``headers`` plus host, x-amz-date, payload hash and Authorization.

    ``url`` must already be percent-encoded as it will travel (as botocore's serializer
    produces it); the canonical URI encodes it a second time. ``payload_hash`` signs a
    body streamed from elsewhere (``body`` is then not hashed).
    """
    moment = now or datetime.now(UTC)
    amz_date = moment.strftime(_AMZ_DATE)
    parts = urlsplit(url)
    host = parts.netloc
    if (parts.scheme, parts.port) in (("http", 80), ("https", 443)):
        host = parts.hostname or host
    out = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "host")}
    out["Host"] = host
    out["X-Amz-Date"] = amz_date
    out["X-Amz-Content-SHA256"] = payload_hash or hashlib.sha256(body).hexdigest()
    signed = sorted({k.lower() for k in out} - _UNSIGNED_HEADERS)
    request = Request(method, parts.path or "/", parts.query, list(out.items()), body)
    canonical = canonical_request(request, signed, out["X-Amz-Content-SHA256"], service)
    sig = signature(secret, (amz_date[:8], region, service), amz_date, canonical)
    out["Authorization"] = (
        f"{ALGORITHM} Credential={access_key_id}/{amz_date[:8]}/{region}/{service}/aws4_request, "
        f"SignedHeaders={';'.join(signed)}, Signature={sig}"
    )
    return out


# Theory of replays. AWS accepts a resent request within its 5-minute window ("a request
# must reach AWS within five minutes of the time stamp in the request",
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_aws-signing.html); overcast
# refuses more, but cannot refuse every repeated signature: botocore signs only Host and
# X-Amz-Date for a Lambda call (its amz-sdk-invocation-id and amz-sdk-request headers
# are added unsigned), so two identical boto3 calls in one second, or a retry signed in
# the second of its first attempt, carry the same signature. What tells them apart from
# a copy is those unsigned per-call headers. So, within a signature's window:
#   - a byte-identical resend (same signature, same per-call headers) is refused;
#   - the same signature with other per-call headers is accepted for DUPLICATE_GRACE_S
#     after its first sighting (an identical call, a quick retry), refused after;
#   - a request that signed a per-call id (amz-sdk-invocation-id or x-amz-nonce in
#     SignedHeaders, as overcast's own CLI does) is refused on any resend.
DUPLICATE_GRACE_S = 2.0
_NONCE_HEADERS = frozenset({"amz-sdk-invocation-id", "x-amz-nonce"})
_CALL_HEADERS = ("amz-sdk-invocation-id", "amz-sdk-request")

#: entries the replay cache holds at most: each stays until its request's date is out of
#: the 5-minute window, so this bounds signed requests per 5 minutes (~660 a second);
#: past it, new requests are throttled rather than a still-valid signature forgotten
MAX_REMEMBERED_SIGNATURES = 200_000


class ReplayCacheFullError(SignatureError):
    """More signed requests in the window than the replay cache can remember."""

    def __init__(self) -> None:
        super().__init__(
            "TooManyRequestsException",
            "Rate exceeded: too many signed requests in the last 5 minutes; retry shortly.",
            status=429,
        )


class ReplayCache:
    """The requests accepted whose signatures are still valid (see "Theory of replays")."""

    def __init__(self, max_entries: int = MAX_REMEMBERED_SIGNATURES) -> None:
        # raw signature -> (the time its date leaves the window, first sighting)
        self._signatures: OrderedDict[bytes, tuple[float, float]] = OrderedDict()
        # digest of (signature, per-call headers) -> the time it leaves the window
        self._calls: OrderedDict[bytes, float] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._calls)

    def check_and_add(
        self,
        signature_hex: str,
        expires_at: float,
        now: float,
        *,
        call: str = "",
        grace_s: float = 0.0,
    ) -> bool:
        """True for a request not seen before (now remembered until ``expires_at``);
        False for a replay. ``call`` is its unsigned per-call headers; a signature seen
        before is accepted with another ``call`` less than ``grace_s`` after it was first.

        Raises :class:`ReplayCacheFullError` when ``max_entries`` requests are all
        still valid.
        """
        raw = bytes.fromhex(signature_hex)
        exact = hashlib.sha256(raw + call.encode("utf-8", "surrogateescape")).digest()
        with self._lock:
            _forget_expired(self._signatures, now, lambda entry: entry[0])
            _forget_expired(self._calls, now, lambda entry: entry)
            if exact in self._calls:
                return False
            first = self._signatures.get(raw)
            if first is not None and now - first[1] >= grace_s:
                return False
            if len(self._calls) >= self._max:
                raise ReplayCacheFullError
            self._calls[exact] = expires_at
            if first is None:
                self._signatures[raw] = (expires_at, now)
            return True


def _forget_expired(
    entries: OrderedDict[bytes, _T], now: float, expiry: Callable[[_T], float]
) -> None:
    # Entries leave in arrival order, which is expiry order up to the clients' skew: an
    # expired entry behind a live one waits its turn (bounded by max_entries).
    while entries:
        oldest = next(iter(entries.values()))
        if expiry(oldest) > now:
            return
        entries.popitem(last=False)


class Verifier:
    """Checks SigV4 requests against a secret lookup, the clock and a replay cache."""

    def __init__(
        self,
        secret_for: Callable[[str], str | None],
        *,
        services: frozenset[str] = frozenset({"lambda"}),
        clock: Callable[[], float] = time.time,
        replay_cache: ReplayCache | None = None,
    ) -> None:
        self._secret_for = secret_for
        self._services = services
        self._clock = clock
        self._replays = replay_cache if replay_cache is not None else ReplayCache()

    def verify(self, request: Request) -> Verified:
        """Return who signed ``request`` or raise :class:`SignatureError` in AWS's terms."""
        values = _header_values(request.headers)
        return self._verify(
            request, values, lambda service: self._payload_hash(values, request.body, service)
        )

    def verify_head(self, request: Request) -> Verified:
        """Verify a request from its head alone, before its body is read.

        The payload hash is part of the canonical request, so when a request declares it
        (a signed ``x-amz-content-sha256``, as ``overcast deploy`` sends) the signature is
        checked against the declared value; ``request.body`` is ignored, and the caller
        must check the body it reads against ``Verified.payload_hash``.
        """
        values = _header_values(request.headers)
        return self._verify(request, values, lambda service: declared_payload_hash(values, service))

    def _verify(
        self, request: Request, values: Mapping[str, str], payload_hash: Callable[[str], str]
    ) -> Verified:
        header = values.get("authorization")
        if header is None:
            raise SignatureError("MissingAuthenticationTokenException", MISSING_MESSAGE)
        auth = parse_authorization(header)
        amz_date = values.get("x-amz-date")
        if amz_date is None:
            raise SignatureError(
                "IncompleteSignatureException",
                "Authorization header requires existence of either a 'X-Amz-Date' or a "
                "'Date' header.",
            )
        try:
            signed_at = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC)
        except ValueError:
            raise SignatureError(
                "IncompleteSignatureException", f"Date must be in ISO-8601 basic format: {amz_date}"
            ) from None
        if auth.date != amz_date[:8]:
            raise SignatureError(
                "InvalidSignatureException",
                f"Credential should be scoped to a valid date: {auth.date!r} != {amz_date[:8]!r}.",
            )
        if auth.service not in self._services:
            raise SignatureError(
                "InvalidSignatureException",
                "Credential should be scoped to correct service: "
                + " or ".join(repr(name) for name in sorted(self._services))
                + ".",
            )
        if "x-amz-date" not in auth.signed_headers:
            raise SignatureError("InvalidSignatureException", MISMATCH_MESSAGE)
        if "x-amz-content-sha256" in values and "x-amz-content-sha256" not in auth.signed_headers:
            # Unsigned, it could be rewritten in transit to match a rewritten body.
            raise SignatureError(
                "InvalidSignatureException",
                "'x-amz-content-sha256' must be a signed header (SignedHeaders).",
            )
        now = datetime.fromtimestamp(self._clock(), UTC)
        self._check_skew(signed_at, now)
        secret = self._secret_for(auth.access_key_id)
        if secret is None:
            raise SignatureError("UnrecognizedClientException", UNKNOWN_KEY_MESSAGE)
        hashed = payload_hash(auth.service)
        canonical = canonical_request(request, auth.signed_headers, hashed, auth.service)
        expected = signature(secret, (auth.date, auth.region, auth.service), amz_date, canonical)
        if not hmac.compare_digest(expected, auth.signature):
            raise SignatureError("InvalidSignatureException", MISMATCH_MESSAGE)
        # Remembered until its date leaves the window; the skew check refuses it after.
        expires = (signed_at + MAX_SKEW).timestamp()
        nonce = not _NONCE_HEADERS.isdisjoint(auth.signed_headers)
        call = "\n".join(values.get(name, "") for name in _CALL_HEADERS)
        if not self._replays.check_and_add(
            auth.signature,
            expires,
            now.timestamp(),
            call=call,
            grace_s=0.0 if nonce else DUPLICATE_GRACE_S,
        ):
            # Not an AWS message: AWS accepts a resend within the window.
            raise SignatureError("InvalidSignatureException", REPLAY_MESSAGE)
        return Verified(auth.access_key_id, auth.region, auth.service, auth.signature, hashed)

    def verify_presigned(self, request: Request) -> Verified:
        """Verify a presigned URL (query-string authentication, as S3 takes it:
        https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html).

        The signature is in ``X-Amz-Signature``, the rest of the query is canonical;
        the payload is unsigned. Valid from ``X-Amz-Date`` (less the skew) for
        ``X-Amz-Expires`` seconds, and reusable within that window as S3 allows: a
        presigned URL is handed out to be used, so no replay cache applies.
        """
        params = dict(parse_qsl(request.query, keep_blank_values=True))
        needed = ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders")
        missing = [name for name in (*needed, "X-Amz-Signature") if name not in params]
        if params.get("X-Amz-Algorithm") != ALGORITHM or missing:
            raise SignatureError(
                "AuthorizationQueryParametersError",
                "Query-string authentication version 4 requires the X-Amz-Algorithm "
                "(AWS4-HMAC-SHA256), X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
                "X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
                status=400,
            )
        scope = params["X-Amz-Credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
            raise SignatureError(
                "AuthorizationQueryParametersError",
                f"X-Amz-Credential is malformed: {params['X-Amz-Credential']!r}.",
                status=400,
            )
        key_id, date, region, service = scope[:4]
        if service not in self._services:
            raise SignatureError("InvalidSignatureException", MISMATCH_MESSAGE)
        amz_date = params["X-Amz-Date"]
        expires = params["X-Amz-Expires"]
        try:
            signed_at = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC)
        except ValueError:
            signed_at = None
        if signed_at is None or date != amz_date[:8]:
            raise SignatureError(
                "AuthorizationQueryParametersError",
                "X-Amz-Date must be in the ISO8601 Long Format and match the credential's date.",
                status=400,
            )
        if not expires.isdigit() or not 1 <= int(expires) <= 604_800:
            raise SignatureError(
                "AuthorizationQueryParametersError",
                "X-Amz-Expires must be between 1 and 604800 seconds.",
                status=400,
            )
        now = datetime.fromtimestamp(self._clock(), UTC)
        if signed_at > now + MAX_SKEW:
            raise SignatureError("AccessDenied", "Request is not valid yet")
        if now > signed_at + timedelta(seconds=int(expires)):
            raise SignatureError("AccessDenied", "Request has expired")
        secret = self._secret_for(key_id)
        if secret is None:
            raise SignatureError("UnrecognizedClientException", UNKNOWN_KEY_MESSAGE)
        signed_headers = tuple(params["X-Amz-SignedHeaders"].lower().split(";"))
        if "host" not in signed_headers:
            raise SignatureError(
                "AuthorizationQueryParametersError",
                "'Host' must be a signed header (X-Amz-SignedHeaders).",
                status=400,
            )
        query = "&".join(
            item for item in request.query.split("&") if not item.startswith("X-Amz-Signature=")
        )
        unsigned = Request(request.method, request.raw_path, query, request.headers, b"")
        canonical = canonical_request(unsigned, signed_headers, UNSIGNED_PAYLOAD, service)
        expected = signature(secret, (date, region, service), amz_date, canonical)
        if not hmac.compare_digest(expected, params["X-Amz-Signature"].lower()):
            raise SignatureError("InvalidSignatureException", MISMATCH_MESSAGE)
        return Verified(key_id, region, service, expected, UNSIGNED_PAYLOAD)

    @staticmethod
    def _check_skew(signed_at: datetime, now: datetime) -> None:
        fmt = _AMZ_DATE
        if signed_at < now - MAX_SKEW:
            raise SignatureError(
                "InvalidSignatureException",
                f"Signature expired: {signed_at.strftime(fmt)} is now earlier than "
                f"{(now - MAX_SKEW).strftime(fmt)} ({now.strftime(fmt)} - 5 min.)",
            )
        if signed_at > now + MAX_SKEW:
            raise SignatureError(
                "InvalidSignatureException",
                f"Signature not yet current: {signed_at.strftime(fmt)} is still later than "
                f"{(now + MAX_SKEW).strftime(fmt)} ({now.strftime(fmt)} + 5 min.)",
            )

    @staticmethod
    def _payload_hash(values: Mapping[str, str], body: bytes, service: str = "") -> str:
        actual = hashlib.sha256(body).hexdigest()
        claimed = values.get("x-amz-content-sha256")
        if claimed is None:
            return actual
        if service == "s3" and claimed == UNSIGNED_PAYLOAD:
            return claimed
        # The claimed hash is what was signed; it must also be the body's, or a signed
        # header would vouch for a body it never saw. Unsigned payloads are an S3 feature.
        if not hmac.compare_digest(claimed.lower(), actual):
            raise SignatureError("InvalidSignatureException", PAYLOAD_MISMATCH_MESSAGE)
        return claimed


def declared_payload_hash(values: Mapping[str, str], service: str = "") -> str:
    """The body's sha256 a request declares (``x-amz-content-sha256``), lower-case hex.

    ``UNSIGNED-PAYLOAD`` and the streaming forms are Amazon S3's alone
    (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html):
    the S3 API (``service`` "s3") takes ``UNSIGNED-PAYLOAD`` as is; the rest of the
    admin API signs every body, so only a hex digest is a declaration there.
    """
    claimed = values.get("x-amz-content-sha256")
    if claimed is None:
        raise SignatureError(
            "IncompleteSignatureException",
            "Missing required header for this request: x-amz-content-sha256 "
            "(the hex sha256 of the body, signed).",
        )
    if service == "s3" and (claimed == UNSIGNED_PAYLOAD or claimed.startswith("STREAMING-")):
        # The S3 API checks the body itself (and answers NotImplemented for streaming).
        return claimed
    if not _SIGNATURE.match(claimed):
        raise SignatureError(
            "InvalidSignatureException",
            f"x-amz-content-sha256 must be the body's lower-case hex sha256, not {claimed[:80]!r}.",
        )
    return claimed
