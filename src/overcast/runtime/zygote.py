"""The zygote: a single-threaded process that forks instances with the runtime pre-imported.

Started by the platform as ``python -m overcast.runtime.zygote`` with its end of a Unix
socket in ``OVERCAST_ZYGOTE_FD`` — directly, or inside a sandbox by
:mod:`overcast.runtime.sandbox_launch`, in which case ``ZygoteInit`` carries a
:class:`~overcast.runtime.messages.Seal` that the zygote applies before it imports any
of the function's packages, and ``OVERCAST_SANDBOX_LISTENERS`` names the relayed ports
it hands to the platform with ``ZygoteReady``. It never runs an event loop or a thread (fork would
copy a half-held lock): one ``selectors`` loop over the control socket and the SIGCHLD
wakeup pipe. Protocol (see :mod:`overcast.runtime.messages`): ``ZygoteInit`` ->
``ZygoteReady``; then each ``Spawn`` arrives with two descriptors (worker socket, log
pipe) as SCM_RIGHTS and is answered with ``Spawned``/``SpawnFailed``; each reaped worker
is reported as ``Exited``. EOF on the control socket means the platform is gone: kill
every worker's process group and leave.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import signal
import socket
import sys
import threading
from collections import deque

from overcast.runtime import linux, sandbox_seal, worker
from overcast.runtime.frames import FrameDecoder, encode_frame
from overcast.runtime.messages import (
    Exited,
    Spawn,
    Spawned,
    SpawnFailed,
    ZygoteFailed,
    ZygoteInit,
    ZygoteReady,
    to_zygote_decoder,
    zygote_encoder,
)

#: Modules most handlers import; cheap to hold in the zygote, costly in every cold start.
BASE_PRELOAD = (
    "base64",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "email.utils",
    "hashlib",
    "http",
    "re",
    "typing",
    "urllib.parse",
    "uuid",
)

_PROBE_THREADS = 3
_PROBE_IMPORT_FAILED = 4


def _become_subreaper() -> None:
    # Orphans of a worker (a fork bomb's children) are re-parented here and reaped.
    # (Inside a sandbox the zygote is its PID namespace's init, which is one anyway.)
    with contextlib.suppress(OSError):
        linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)


def _top_level_packages(deps_dir: str) -> list[str]:
    names: set[str] = set()
    try:
        entries = os.listdir(deps_dir)
    except OSError:
        return []
    for entry in entries:
        path = os.path.join(deps_dir, entry)
        if entry.endswith(".dist-info"):
            top_level = os.path.join(path, "top_level.txt")
            if os.path.exists(top_level):
                with open(top_level) as handle:
                    names.update(line.strip() for line in handle if line.strip())
            continue
        if entry.startswith(("_", ".")) or entry == "bin":
            continue
        if os.path.isdir(path) and os.path.exists(os.path.join(path, "__init__.py")):
            names.add(entry)
        elif entry.endswith(".py"):
            names.add(entry[:-3])
    return sorted(name for name in names if name.isidentifier() and not name.startswith("_"))


def _probe(name: str) -> int:
    """Import ``name`` in a throwaway child; 0 if it imports cleanly without threads."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            before = threading.active_count()
            __import__(name)
            if threading.active_count() != before:
                code = _PROBE_THREADS
        except BaseException:  # noqa: BLE001 - any failure means "leave it to the instance"
            code = _PROBE_IMPORT_FAILED
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _preload(init: ZygoteInit) -> tuple[list[str], list[str]]:
    if init.deps_dir:
        sys.path.insert(0, init.deps_dir)
    loaded: list[str] = []
    skipped: list[str] = []
    candidates = list(BASE_PRELOAD) + list(init.preload)
    if init.deps_dir:
        candidates += _top_level_packages(init.deps_dir)
    for name in candidates:
        if name in sys.modules:
            continue
        outcome = _probe(name)
        if outcome == 0:
            try:
                __import__(name)
                loaded.append(name)
            except BaseException as exc:  # noqa: BLE001 - recorded and left to the instance
                skipped.append(f"{name}: import failed in the zygote ({exc})")
        elif outcome == _PROBE_THREADS:
            skipped.append(f"{name}: starts a thread on import")
        else:
            skipped.append(f"{name}: import fails")
    return loaded, skipped


class Zygote:
    def __init__(self, control: socket.socket, listeners: list[int] | None = None) -> None:
        self.control = control
        self.listeners = listeners or []
        self.sandboxed = False
        self.decoder = FrameDecoder()
        self.fds: deque[int] = deque()
        self.workers: dict[int, str] = {}  # pid -> instance id
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)

    def send(self, message: object, fds: list[int] | None = None) -> None:
        data = encode_frame(zygote_encoder.encode(message))
        if fds:
            sent = socket.send_fds(self.control, [data], fds)
            data = data[sent:]
        if data:
            self.control.sendall(data)

    def serve(self) -> None:
        frames = self._read_until_frame()
        if not frames:
            return
        init = to_zygote_decoder.decode(frames.pop(0))
        if not isinstance(init, ZygoteInit):
            return
        if init.seal is not None:
            try:
                sandbox_seal.seal(init.seal)
            except (OSError, ValueError) as exc:
                self.send(ZygoteFailed(f"could not seal the sandbox: {exc}"))
                return
            self.sandboxed = True
        loaded, skipped = _preload(init)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda _n, _f: None)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.send(ZygoteReady(os.getpid(), loaded, skipped, len(self.listeners)), self.listeners)
        for fd in self.listeners:
            os.close(fd)
        self.listeners = []
        for frame in frames:
            self._handle(frame)
        selector = selectors.DefaultSelector()
        selector.register(self.control, selectors.EVENT_READ, "control")
        selector.register(self.wake_r, selectors.EVENT_READ, "wake")
        while True:
            for key, _ in selector.select():
                if key.data == "wake":
                    self._drain_wakeups()
                    self._reap()
                elif not self._read_control():
                    self._shutdown()
                    return

    def _read_until_frame(self) -> list[bytes]:
        frames: list[bytes] = []
        while not frames:
            data, fds, _, _ = socket.recv_fds(self.control, 1 << 16, 16)
            self.fds.extend(fds)
            if not data:
                return []
            frames = self.decoder.feed(data)
        return frames

    def _read_control(self) -> bool:
        try:
            data, fds, _, _ = socket.recv_fds(self.control, 1 << 16, 16)
        except InterruptedError:
            return True
        self.fds.extend(fds)
        if not data:
            return False
        for frame in self.decoder.feed(data):
            self._handle(frame)
        return True

    def _handle(self, frame: bytes) -> None:
        message = to_zygote_decoder.decode(frame)
        if isinstance(message, Spawn):
            self._spawn(message)

    def _spawn(self, request: Spawn) -> None:
        wanted = 2 + request.cgroups
        if len(self.fds) < wanted:
            self.send(SpawnFailed(request.instance_id, "descriptors missing"))
            return
        sock_fd = self.fds.popleft()
        log_fd = self.fds.popleft()
        cgroup_fds = [self.fds.popleft() for _ in range(request.cgroups)]
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in (sock_fd, log_fd, *cgroup_fds):
                os.close(fd)
            self.send(SpawnFailed(request.instance_id, f"fork failed: {exc}"))
            return
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            self.control.close()
            os.close(self.wake_r)
            os.close(self.wake_w)
            for fd in self.fds:
                os.close(fd)
            worker.run(request.spec, sock_fd, log_fd, cgroup_fds)
        for fd in (sock_fd, log_fd, *cgroup_fds):
            os.close(fd)
        self.workers[pid] = request.instance_id
        if not self.sandboxed:
            self.send(Spawned(request.instance_id, pid))
            return
        # The platform cannot read this pid (another PID namespace): a pidfd carries
        # the process itself across, and the platform's /proc names it.
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            self.send(Spawned(request.instance_id, pid))
            return
        try:
            self.send(Spawned(request.instance_id, pid, pidfd=True), [pidfd])
        finally:
            os.close(pidfd)

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            except InterruptedError:
                continue
            if pid == 0:
                return
            instance_id = self.workers.pop(pid, None)
            if instance_id is None:
                continue  # an orphan re-parented to us; reaping it is all we owe
            if os.WIFSIGNALED(status):
                message = Exited(instance_id, pid, None, os.WTERMSIG(status))
            else:
                message = Exited(instance_id, pid, os.waitstatus_to_exitcode(status), None)
            try:
                self.send(message)
            except OSError as exc:
                if exc.errno not in (errno.EPIPE, errno.ECONNRESET):
                    raise

    def _shutdown(self) -> None:
        for pid in list(self.workers):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pid in list(self.workers):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def main() -> None:
    """Run the zygote on the descriptor named by ``OVERCAST_ZYGOTE_FD``."""
    fd = int(os.environ.pop("OVERCAST_ZYGOTE_FD"))
    listeners = [int(n) for n in os.environ.pop("OVERCAST_SANDBOX_LISTENERS", "").split(",") if n]
    _become_subreaper()
    control = socket.socket(fileno=fd)
    control.setblocking(True)
    Zygote(control, listeners).serve()


if __name__ == "__main__":
    main()
