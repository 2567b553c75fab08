"""Per-request routing between an alias's two versions during a traffic shift.

A Lambda alias with a routing configuration sends ``weight`` of its invocations to an
additional version and the rest to its main version
(https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html).
overcast decides per request from the request id alone, so the same id always lands
on the same version and tests can replay a split exactly.

The id is hashed with BLAKE2b (8-byte digest) into a point in ``[0, 1)``; the request
goes to the new version when that point is below the weight. Python's ``hash()`` is
not used because it is salted per process (``PYTHONHASHSEED``), and CRC32 because
ids that differ only in their last characters would cluster. It runs on every request
while a shift is under way: one hash, two comparisons, no table.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import blake2b

__all__ = ["TrafficSplit", "goes_to_new", "request_point"]

# A float holds 53 bits exactly; keeping only the top 53 of the 64 hashed bits keeps
# the largest digest strictly below 1.0 (all 64 would round up to 1.0).
_SCALE = 1.0 / 2.0**53


def request_point(request_id: str) -> float:
    """The request's fixed point in ``[0, 1)``, the same in every process and run."""
    digest = blake2b(request_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) * _SCALE


def goes_to_new(request_id: str, weight: float) -> bool:
    """Whether the request goes to the new version when ``weight`` of traffic does.

    A weight of 0 (or less) sends every request to the old version, 1 (or more) every
    request to the new one.
    """
    if weight <= 0.0:
        return False
    if weight >= 1.0:
        return True
    return request_point(request_id) < weight


@dataclass(frozen=True, slots=True)
class TrafficSplit:
    """An alias's routing at one moment: ``weight`` of requests go to ``new_version``."""

    old_version: str
    new_version: str
    weight: float

    def version_for(self, request_id: str) -> str:
        """The version this request runs on."""
        return self.new_version if goes_to_new(request_id, self.weight) else self.old_version
