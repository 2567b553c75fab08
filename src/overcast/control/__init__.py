"""The control plane: assembling a node and the admin port's APIs.

Owns: building a running node from a resolved app (``node``), its listening ports
(``listeners``: addresses, ``tls``, and ``http_server``, uvicorn held to the request
limits of ``http_limits``), the AWS Lambda API
subset served on the admin port (``lambda_api``) and the SQS and SNS APIs beside it
(``sqs_api`` over ``overcast.events.sqs_store``, with the event source mappings that
poll it in ``sqs_sources``, run by ``overcast.events.sqs_poller``; ``sns_api`` over
``overcast.events.sns_store``; the query protocol's codec in ``query_protocol``, with
each service's wire names in ``sqs_query_shapes`` and ``sns_query_shapes``; Lambda's
queue and topic destinations in ``record_sink``), the S3 API (``s3_api`` over
``s3_buckets`` and ``s3_multipart``, with the pure ``s3_xml``, ``s3_listing`` and
``s3_checks``) and its notifications (``s3_notifications``), the admin port's access control
(``sigv4`` signing and verification, ``access_keys`` issued keys and roles,
``access`` the gate in front of the Lambda API, ``permissions`` and
``function_credentials`` for each function's own key and Vault token), and the mapping
from template specs to runtime configs (``app_loading``, which also resolves secret
references); the edge in local mode (``local_edge``, ``edge_admin``); the platform of
``overcast serve`` (``platform``, ``stage``, ``platform_invoker``, ``dns_responder``) and
its deploy pipeline (``deploy_bundle`` built by the CLI, ``deploy_api`` on the admin
port, ``deployer`` with ``deploy_store``, ``code_store``, ``static_sync``,
``alias_router`` and ``deploy_alarms``), over the pure pieces of gradual deploys
(``deployment_preference``, ``traffic_split``, ``rollout``).
May import every other overcast package; nothing imports ``control`` but ``cli``.
"""
