"""Lambda-semantics function instances: zygotes, workers, pools, limits and logs.

Owns everything about running a handler in a process: forking instances from a
zygote, the worker's Lambda runtime (context, environment, error shapes), the
instance lifecycle, concurrency, timeouts, memory limits (cgroups), function logs and
dependency installs. Knows no HTTP. It may import ``overcast.errors``, ``overcast.ids``,
``overcast.invoke``, the standard library, msgspec, orjson and psutil — never
``overcast.template`` (the caller maps a FunctionSpec onto :class:`FunctionConfig`).
"""

from overcast.runtime.config import FunctionConfig, RuntimeConfig
from overcast.runtime.deps import prepare_dependencies
from overcast.runtime.errors import DependencyInstallError, RuntimePlatformError
from overcast.runtime.log_store import LogEvent, LogStore
from overcast.runtime.runtime import Runtime

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
