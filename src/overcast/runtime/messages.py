"""Typed messages between the platform, the zygotes and the workers (msgpack).

Two channels, each a Unix stream socket carrying :mod:`overcast.runtime.frames`:

* platform <-> zygote: ``ZygoteInit``/``ZygoteReady``, ``Spawn`` (sent with the
  worker's socket and log pipe as SCM_RIGHTS) / ``Spawned`` / ``SpawnFailed``,
  and ``Exited`` whenever a worker the zygote forked is reaped.
* platform <-> worker: ``Ready``/``InitFailed`` once, then per invocation one
  ``Invoke`` frame in and one ``Done`` frame out.
"""

from __future__ import annotations

import msgspec


class WorkerSpec(msgspec.Struct, frozen=True, array_like=True):
    """Everything a forked worker needs; the environment is complete, nothing inherited."""

    function_name: str
    handler: str
    code_dir: str
    deps_dir: str | None
    env: dict[str, str]
    cgroup_procs: list[str]
    marker: bytes
    dont_write_bytecode: bool = False


# --- platform <-> zygote -----------------------------------------------------------


class ZygoteInit(msgspec.Struct, frozen=True, tag=True, array_like=True):
    deps_dir: str | None
    preload: list[str]


class ZygoteReady(msgspec.Struct, frozen=True, tag=True, array_like=True):
    pid: int
    preloaded: list[str]
    skipped: list[str]  # "name: why", for the platform to log


class Spawn(msgspec.Struct, frozen=True, tag=True, array_like=True):
    instance_id: str
    spec: WorkerSpec


class Spawned(msgspec.Struct, frozen=True, tag=True, array_like=True):
    instance_id: str
    pid: int


class SpawnFailed(msgspec.Struct, frozen=True, tag=True, array_like=True):
    instance_id: str
    message: str


class Exited(msgspec.Struct, frozen=True, tag=True, array_like=True):
    instance_id: str
    pid: int
    exit_code: int | None
    signal: int | None


ToZygote = ZygoteInit | Spawn
FromZygote = ZygoteReady | Spawned | SpawnFailed | Exited


# --- platform <-> worker -----------------------------------------------------------


class Invoke(msgspec.Struct, frozen=True, tag=True, array_like=True):
    request_id: str
    payload: bytes
    deadline_ms: int
    invoked_function_arn: str
    client_context: str | None = None


class Ready(msgspec.Struct, frozen=True, tag=True, array_like=True):
    init_duration_ms: float


class InitFailed(msgspec.Struct, frozen=True, tag=True, array_like=True):
    error: bytes  # AWS-shaped error JSON
    init_duration_ms: float


class Done(msgspec.Struct, frozen=True, tag=True, array_like=True):
    request_id: str
    payload: bytes
    is_error: bool
    duration_ms: float
    max_rss_kb: int
    #: False when the worker skipped the log end marker because the platform had
    #: already read all of the invocation's output (see ``log_pipe``).
    log_marked: bool = True


ToWorker = Invoke
FromWorker = Ready | InitFailed | Done

zygote_encoder = msgspec.msgpack.Encoder()
to_zygote_decoder = msgspec.msgpack.Decoder(ToZygote)
from_zygote_decoder = msgspec.msgpack.Decoder(FromZygote)
to_worker_decoder = msgspec.msgpack.Decoder(Invoke)
from_worker_decoder = msgspec.msgpack.Decoder(FromWorker)
