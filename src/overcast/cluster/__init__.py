"""Cluster mode: the shared backends many nodes agree through (not wired into
``overcast up`` / ``overcast serve`` yet: the embedded single node stays the default and
imports nothing from here).

Owns, for PostgreSQL (durable state and queues): the versioned schema and its
migrations (``pg_schema``, ``migrations/``), the node registry and master-key check
(``node_registry``), the deploy history (``pg_deploy_store``) and the
asynchronous-invocation queue (``pg_async_queue``). For Redis (hot counters, pub/sub):
the pure node-local view of leased capacity (``lease_ledger``), the Redis side of those
leases and the node's refill task (``redis_leases``), and numbered pub/sub of cluster
events with gap detection (``cluster_signals``). For the load balancer in front: the
HAProxy and nginx configuration from a node list (``lb_config``).

May import :mod:`overcast.errors`, :mod:`overcast.events` (its types), the store types
of :mod:`overcast.control` and its data-port health path (``control.data_health``),
:mod:`overcast.secrets`' envelope, the standard library, msgspec, and the ``cluster``
extra's drivers (psycopg 3, redis), which only this package's modules import. Never the
gateway, the runtime or anything else HTTP.
"""

from __future__ import annotations
