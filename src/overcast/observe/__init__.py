"""Metrics aggregation, invocation pricing and alarm evaluation.

Owns: in-memory per-(function, version, stage) aggregation and its Prometheus
collector (``aggregate``), Lambda-style cost of an invocation (``pricing``), and
CloudWatch-style alarm evaluation (``alarms``) — all pure or in-memory. Around them:
per-route request counts (``routes``), the recorder handed to the runtime and the
gateways (``recorder``: implements ``overcast.invoke.InvocationRecorder`` and the
gateway's ``RouteRecorder`` structurally, memory only), the SQLite store of
downsampled rollups (``metrics_store``) and the background flush into it
(``service``). Template ``AWS::CloudWatch::Alarm`` Properties become evaluable alarms,
and the per-stage pricing alarm on ``AWS/Billing EstimatedCharges`` is built, in
``alarm_specs``; ``AWS::Budgets::Budget`` Properties become spend budgets with a pure
evaluator in ``budgets``; ``notify`` delivers alarm state changes to signed webhooks
(httpx) and by email (smtplib) from a bounded queue. Only ``metrics_store``,
``service`` and ``notify`` do I/O, never on the data path.

May import: ``overcast.errors``, ``overcast.sqlite_wal``, ``overcast.invoke`` (data
types only), the standard library, ``prometheus_client``, orjson, and httpx (``notify``
only).
"""

from __future__ import annotations
