"""The sandbox launcher: builds one zygote's sandbox, then executes the zygote inside it.

Started by the platform as ``python -m overcast.runtime.sandbox_launch`` with two
descriptors: the zygote's control socket (``OVERCAST_ZYGOTE_FD``) and a memory file
holding a :class:`~overcast.runtime.messages.LaunchSpec` (``OVERCAST_LAUNCH_FD``). It
runs single-threaded and imports nothing of the platform but this package's
messages, so the state it carries into the sandbox is what the spec says.

Theory of operation:

1. ``unshare`` new mount, PID, IPC, network and UTS namespaces (plus a user
   namespace mapping uid 0 to the platform's own uid when not root).
2. ``fork``: the child is PID 1 of the new PID namespace and becomes the zygote; the
   parent only waits for it and passes its exit status on.
3. The child makes every mount private, builds a fresh root on a tmpfs (read-only
   binds of the runtime, the code and the dependencies; device nodes; a private
   ``/tmp``; a few generated files under ``/etc``), ``pivot_root``\\ s into it,
   detaches the old root, mounts its own ``/proc`` and remounts the root read-only.
4. It brings the loopback up, opens the relayed ports (their descriptors are handed
   to the zygote by number in ``OVERCAST_SANDBOX_LISTENERS``), sets the host name,
   and executes the interpreter with the spec's argv and environment — nothing else
   of the platform's environment or memory crosses.

Any failure is sent on the control socket as ``ZygoteFailed`` so the platform can
say why, instead of waiting for a zygote that never comes.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import NoReturn

from overcast.runtime import linux
from overcast.runtime.frames import encode_frame
from overcast.runtime.messages import (
    LaunchSpec,
    Listener,
    Mount,
    ZygoteFailed,
    launch_decoder,
    zygote_encoder,
)

_NAMESPACES = (
    linux.CLONE_NEWNS
    | linux.CLONE_NEWPID
    | linux.CLONE_NEWIPC
    | linux.CLONE_NEWNET
    | linux.CLONE_NEWUTS
)
#: statvfs flags a bind mount inherits and, in a user namespace, must keep when remounted
_LOCKED_FLAGS = (
    (os.ST_NOEXEC, linux.MS_NOEXEC),
    (os.ST_NOATIME, 0x400),
    (os.ST_NODIRATIME, 0x800),
    (os.ST_RELATIME, 0x200000),
)
_OLD_ROOT = ".old-root"


def _fail(control_fd: int, message: str) -> NoReturn:
    frame = encode_frame(zygote_encoder.encode(ZygoteFailed(message)))
    try:
        with socket.socket(fileno=control_fd) as control:
            control.sendall(frame)
    except OSError:
        pass
    print(f"overcast sandbox: {message}", file=sys.stderr, flush=True)
    os._exit(1)


def _inherited_flags(path: str) -> int:
    flags = os.statvfs(path).f_flag
    return sum(ms for st, ms in _LOCKED_FLAGS if flags & st)


def _prepare_target(source: str, target: str) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            with open(target, "w"):
                pass


def _apply(root: str, entry: Mount) -> None:
    target = root + entry.target
    base = linux.MS_NOSUID | linux.MS_NODEV
    if entry.kind == "tmpfs":
        os.makedirs(target, exist_ok=True)
        linux.mount("tmpfs", target, "tmpfs", base, entry.options or None)
        return
    if entry.kind == "empty":
        os.makedirs(target, exist_ok=True)
        linux.mount("tmpfs", target, "tmpfs", base | linux.MS_RDONLY, "size=4k,mode=0755")
        return
    _prepare_target(entry.source, target)
    linux.mount(entry.source, target, None, linux.MS_BIND | linux.MS_REC)
    if entry.kind == "ro":
        flags = linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | base
    elif entry.kind == "rw":  # device nodes: writable, never executable
        flags = linux.MS_REMOUNT | linux.MS_BIND | linux.MS_NOSUID | linux.MS_NOEXEC
    elif entry.kind == "data":  # a persistent volume: writable, no devices or setuid
        flags = linux.MS_REMOUNT | linux.MS_BIND | base
    else:
        raise ValueError(f"unknown mount kind {entry.kind!r}")
    linux.mount(None, target, None, flags | _inherited_flags(entry.source))


def _build_root(spec: LaunchSpec) -> None:
    root = spec.root_dir
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    linux.mount("tmpfs", root, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "size=8m,mode=0755")
    for entry in spec.mounts:
        _apply(root, entry)
    for path, data in spec.files.items():
        full = root + path
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as handle:
            handle.write(data)
        os.chmod(full, 0o644)
    for link, target in spec.symlinks.items():
        full = root + link
        os.makedirs(os.path.dirname(full), exist_ok=True)
        os.symlink(target, full)
    # /proc of the new PID namespace, mounted while the host's is still in view: in a
    # user namespace the kernel allows a new proc only where a full one is visible.
    os.makedirs(root + "/proc", exist_ok=True)
    linux.mount("proc", root + "/proc", "proc", linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC)
    put_old = os.path.join(root, _OLD_ROOT)
    os.mkdir(put_old)
    linux.pivot_root(root, put_old)
    os.chdir("/")
    linux.umount("/" + _OLD_ROOT, linux.MNT_DETACH)
    os.rmdir("/" + _OLD_ROOT)
    linux.mount(
        None,
        "/",
        None,
        linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV,
    )


def _open_listeners(listeners: list[Listener]) -> list[int]:
    linux.interface_up("lo")
    aliases = 0
    fds = []
    for listener in listeners:
        if listener.alias:
            aliases += 1
            linux.add_ipv4_address(f"lo:{aliases}", listener.address)
        family = socket.AF_INET6 if ":" in listener.address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((listener.address, listener.port))
        sock.listen(256)
        fd = sock.detach()
        os.set_inheritable(fd, True)
        fds.append(fd)
    return fds


def _become_zygote(spec: LaunchSpec, control_fd: int) -> NoReturn:
    try:
        _build_root(spec)
        listeners = _open_listeners(spec.listeners)
        linux.sethostname(spec.hostname)
        env = dict(spec.env)
        env["OVERCAST_ZYGOTE_FD"] = str(control_fd)
        env["OVERCAST_SANDBOX_LISTENERS"] = ",".join(str(fd) for fd in listeners)
        os.execve(spec.argv[0], spec.argv, env)  # noqa: S606 - argv from the platform's plan
    except (OSError, ValueError) as exc:
        _fail(control_fd, f"could not build the sandbox: {exc}")


def main() -> None:
    """Build the sandbox described on ``OVERCAST_LAUNCH_FD`` and exec the zygote in it."""
    control_fd = int(os.environ["OVERCAST_ZYGOTE_FD"])
    with os.fdopen(int(os.environ["OVERCAST_LAUNCH_FD"]), "rb") as source:
        spec = launch_decoder.decode(source.read())
    if os.getpid() == 1:
        # Started by util-linux's ``unshare --pid --fork`` (and ``--map-root-user`` when
        # not root): already PID 1 of a new PID namespace, with only that small C
        # process waiting above. The other namespaces are made here, no fork needed.
        try:
            linux.unshare(_NAMESPACES & ~linux.CLONE_NEWPID)
        except OSError as exc:
            _fail(control_fd, f"could not create the sandbox's namespaces: {exc}")
        _become_zygote(spec, control_fd)
    try:
        flags = _NAMESPACES | (linux.CLONE_NEWUSER if spec.map_uid is not None else 0)
        linux.unshare(flags)
        if spec.map_uid is not None:
            linux.map_root_to(spec.map_uid, spec.map_gid if spec.map_gid is not None else 0)
        pid = os.fork()
    except OSError as exc:
        _fail(control_fd, f"could not create the sandbox's namespaces: {exc}")
    if pid == 0:
        _become_zygote(spec, control_fd)
    # Without util-linux's unshare: this interpreter waits above the zygote instead (it
    # holds nothing the zygote needs) and reports how it ended.
    os.close(control_fd)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
