"""Cluster mode: the shared backends many nodes agree through.

PostgreSQL holds the durable state and queues (the versioned schema, the node registry,
the deploy history, the asynchronous-invocation queue), Redis the hot counters, leases
and pub/sub, and a load balancer sits in front of the nodes. None of it is wired into
``overcast up`` / ``overcast serve`` yet: the embedded single node stays the default.

May import :mod:`overcast.errors`, :mod:`overcast.events` (its types), the store types
of :mod:`overcast.control` and :mod:`overcast.secrets`' envelope; the PostgreSQL driver
(psycopg 3, the ``cluster`` extra) is imported only by this package's modules, so
nothing outside cluster mode needs it installed.
"""
