"""Typed messages between the platform, the zygotes and the workers (msgpack).

Two channels, each a Unix stream socket carrying :mod:`overcast.runtime.frames`:

* platform -> sandbox launcher: one ``LaunchSpec`` (in a memory file), then the
  launcher execs the zygote inside the sandbox it built; if it cannot, it sends
  ``ZygoteFailed`` on the zygote's socket instead.
* platform <-> zygote: ``ZygoteInit``/``ZygoteReady`` (sent with the sandbox's
  listening sockets as SCM_RIGHTS), ``Spawn`` (sent with the worker's socket, log
  pipe and cgroup.procs descriptors) / ``Spawned`` (with a pidfd of the worker when
  sandboxed) / ``SpawnFailed``, and ``Exited`` whenever a worker the zygote forked is
  reaped.
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
    marker: bytes
    dont_write_bytecode: bool = False


# --- platform -> sandbox launcher ----------------------------------------------------


class Mount(msgspec.Struct, frozen=True, array_like=True):
    """One entry of a sandbox's filesystem, applied in order below the new root.

    ``kind``: ``ro`` (read-only bind of ``source``), ``rw`` (writable bind, devices),
    ``data`` (writable bind of a persistent folder), ``tmpfs`` (``options`` as tmpfs
    takes them, e.g. ``size=512m,mode=1777``), ``empty`` (an empty read-only folder).
    """

    kind: str
    target: str
    source: str = ""
    options: str = ""


class Listener(msgspec.Struct, frozen=True, array_like=True):
    """A TCP port opened inside the sandbox's network namespace, relayed by the platform."""

    address: str
    port: int
    #: a second loopback address this one needs (a granted non-loopback IPv4 address)
    alias: bool = False


class LaunchSpec(msgspec.Struct, frozen=True):
    """How the launcher builds one zygote's sandbox and what it executes inside."""

    root_dir: str
    mounts: list[Mount]
    files: dict[str, bytes]
    symlinks: dict[str, str]
    hostname: str
    listeners: list[Listener]
    argv: list[str]
    env: dict[str, str]
    #: rootless: a user namespace mapping uid/gid 0 inside to these ids outside
    map_uid: int | None = None
    map_gid: int | None = None


class Seal(msgspec.Struct, frozen=True, array_like=True):
    """What the zygote does, inside its sandbox, before any function code runs."""

    #: the sandbox identity; None keeps uid 0 of a user namespace (rootless)
    uid: int | None
    gid: int | None
    seccomp: bytes
    #: mounts only the zygote's own start needed (the folder it imported itself from)
    detach: list[str]
    #: top-level modules the zygote imported for itself, forgotten so a handler cannot
    #: import them from the cache
    forget: list[str]
    sys_path: list[str]
    max_open_files: int = 1024


# --- platform <-> zygote -----------------------------------------------------------


class ZygoteInit(msgspec.Struct, frozen=True, tag=True, array_like=True):
    deps_dir: str | None
    preload: list[str]
    seal: Seal | None = None


class ZygoteReady(msgspec.Struct, frozen=True, tag=True, array_like=True):
    pid: int
    preloaded: list[str]
    skipped: list[str]  # "name: why", for the platform to log
    #: listening sockets (the launch spec's ``listeners``, in order) sent with it
    listeners: int = 0


class ZygoteFailed(msgspec.Struct, frozen=True, tag=True, array_like=True):
    """The sandbox could not be built or sealed; the zygote exits after sending it."""

    message: str


class Spawn(msgspec.Struct, frozen=True, tag=True, array_like=True):
    instance_id: str
    spec: WorkerSpec
    #: cgroup.procs descriptors sent after the socket and the log pipe
    cgroups: int = 0


class Spawned(msgspec.Struct, frozen=True, tag=True, array_like=True):
    instance_id: str
    pid: int  # in the zygote's PID namespace
    #: a pidfd of the worker is sent with it (the platform reads its own view of the pid)
    pidfd: bool = False


class SpawnFailed(msgspec.Struct, frozen=True, tag=True, array_like=True):
    instance_id: str
    message: str


class Exited(msgspec.Struct, frozen=True, tag=True, array_like=True):
    instance_id: str
    pid: int
    exit_code: int | None
    signal: int | None


ToZygote = ZygoteInit | Spawn
FromZygote = ZygoteReady | ZygoteFailed | Spawned | SpawnFailed | Exited


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
launch_decoder = msgspec.msgpack.Decoder(LaunchSpec)
to_zygote_decoder = msgspec.msgpack.Decoder(ToZygote)
from_zygote_decoder = msgspec.msgpack.Decoder(FromZygote)
to_worker_decoder = msgspec.msgpack.Decoder(Invoke)
from_worker_decoder = msgspec.msgpack.Decoder(FromWorker)
