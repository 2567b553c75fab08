"""Cluster mode: nodes sharing PostgreSQL, Redis and an S3 API (not yet wired into ``overcast up``).

Owns, for Redis: the pure node-local view of leased capacity (``lease_ledger``), the
Redis side of those leases and the node's refill task (``redis_leases``), and pub/sub
of cluster events with gap detection (``cluster_signals``).

May import: ``overcast.errors``, the standard library, msgspec and redis (the
``cluster`` extra). Never the gateway, the runtime or anything HTTP: the embedded
node stays the default and imports nothing from here.
"""

from __future__ import annotations
