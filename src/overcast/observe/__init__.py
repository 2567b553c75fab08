"""Metrics aggregation, invocation pricing and alarm evaluation.

Owns: in-memory per-(function, version, stage) aggregation and its Prometheus
collector (``aggregate``), Lambda-style cost of an invocation (``pricing``), and
CloudWatch-style alarm evaluation (``alarms``). Everything here is pure or
in-memory: no I/O, no event loop, no wiring to the runtime or gateway.

May import: ``overcast.errors``, the standard library, ``prometheus_client``.
"""

from __future__ import annotations
