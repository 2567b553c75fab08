"""Configuration of the runtime and of each function, built once and handed whole."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from overcast.runtime.sandbox import DEFAULT_TMP_MB, Endpoint, SandboxConfig, Volume


def _empty_env() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class FunctionConfig:
    """One function as the runtime runs it (the lead maps a SAM FunctionSpec onto this)."""

    name: str
    handler: str  # "app.lambda_handler" / "pkg.mod.fn"
    code_dir: str
    runtime: str = "python3.11"
    memory_mb: int = 128
    timeout_s: float = 3.0
    environment: Mapping[str, str] = field(default_factory=_empty_env)
    reserved_concurrency: int | None = None
    provisioned_concurrency: int = 0
    version: str = "$LATEST"
    requirements_file: str | None = None
    #: applied to every line the function's instances print (e.g. masking secret values
    #: that were resolved into ``environment``); None leaves lines as printed
    log_redactor: Callable[[str], str] | None = None
    #: functions with the same identity (in one stage) share a sandbox uid; the control
    #: layer gives functions whose roles differ different identities
    sandbox_identity: str = ""
    #: ``EphemeralStorage.Size``: the size of the instance's private /tmp (MB)
    ephemeral_storage_mb: int = DEFAULT_TMP_MB
    #: endpoints the function may reach besides the platform's own ports (VpcConfig)
    network: tuple[Endpoint, ...] = ()
    #: persistent folders of the runtime mounted into the function (FileSystemConfigs)
    volumes: tuple[Volume, ...] = ()


@dataclass(frozen=True)
class RuntimeConfig:
    """Node-wide runtime settings.

    ``state_dir`` is the app's ``.overcast`` folder: ``logs/`` and ``deps/`` live in it.
    ``max_pids`` bounds the processes and threads of one instance (Lambda's documented
    quota is 1024, https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
    ``preload_modules`` are imported by every zygote on top of the runtime itself.
    ``stage`` labels the runtime's metrics: ``local`` under ``overcast up``, the
    stage's name on a platform. ``sandbox`` walls every instance in
    (:mod:`overcast.runtime.sandbox`); None runs instances as the platform's own user,
    unisolated.
    """

    state_dir: str
    region: str = "us-east-1"
    account_id: str = "123456789012"
    node_concurrency: int = 64
    idle_keepalive_s: float = 600.0
    watch_code: bool = False
    watch_interval_s: float = 1.0
    reaper_interval_s: float = 1.0
    drain_timeout_s: float = 10.0
    max_pids: int = 1024
    use_cgroups: bool = True
    preload_modules: tuple[str, ...] = ()
    stage: str = "local"
    #: the stack (app) of the stage this runtime runs, on a platform
    stack: str = ""
    sandbox: SandboxConfig | None = None
