"""overcast: a self-hosted serverless platform that runs AWS SAM apps unchanged.

Packages, one concern each (see DESIGN.md):
``template`` (pure SAM loading), ``gateway`` (API Gateway semantics, no processes),
``runtime`` (Lambda instances and zygotes, no HTTP), ``control`` (assembling a node,
the admin/Lambda API), ``cli`` (the ``overcast`` command). ``invoke`` is the narrow
contract between the gateway/admin API and the runtime.
"""

__version__ = "0.1.0"
