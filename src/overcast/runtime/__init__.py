"""Lambda-semantics function instances: zygotes, workers, pools, limits, sandbox and logs.

Owns everything about running a handler in a process: forking instances from a
zygote, the sandbox each zygote is built in (namespaces, a read-only root, an
unprivileged identity, a syscall filter), the worker's Lambda runtime (context,
environment, error shapes), the instance lifecycle, concurrency, timeouts, memory
limits (cgroups), function logs and dependency installs. Knows no HTTP. It may import
``overcast.errors``, ``overcast.ids``, ``overcast.invoke``, the standard library,
msgspec, orjson, psutil and pyseccomp — never ``overcast.template`` (the caller maps a
FunctionSpec onto :class:`FunctionConfig`).

The public names are imported lazily: the zygote and the worker import modules of
this package inside the sandbox, where only the standard library and msgspec exist,
so importing the package itself must not pull in the platform side.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from overcast.runtime.config import FunctionConfig, RuntimeConfig
    from overcast.runtime.deps import prepare_dependencies
    from overcast.runtime.errors import DependencyInstallError, RuntimePlatformError
    from overcast.runtime.log_store import LogEvent, LogStore
    from overcast.runtime.runtime import Runtime

_EXPORTS = {
    "DependencyInstallError": "overcast.runtime.errors",
    "FunctionConfig": "overcast.runtime.config",
    "LogEvent": "overcast.runtime.log_store",
    "LogStore": "overcast.runtime.log_store",
    "Runtime": "overcast.runtime.runtime",
    "RuntimeConfig": "overcast.runtime.config",
    "RuntimePlatformError": "overcast.runtime.errors",
    "prepare_dependencies": "overcast.runtime.deps",
}

__all__ = [
    "DependencyInstallError",
    "FunctionConfig",
    "LogEvent",
    "LogStore",
    "Runtime",
    "RuntimeConfig",
    "RuntimePlatformError",
    "prepare_dependencies",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'overcast.runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
