"""Per-instance memory and pids limits: cgroup v1, cgroup v2, or a watchdog fallback.

Groups are created below *our own* cgroup (read from /proc/self/cgroup), as
``<own>/overcast-<pid>/<instance id>``, so several platforms on one machine never
collide and a crashed platform's leftovers are recognisable by its dead pid.
The worker joins its groups itself right after fork (``cgroup.procs`` paths in its
spec). Where nothing is writable, :class:`NoCgroups` leaves enforcement to the
runtime's RSS watchdog.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass

logger = logging.getLogger("overcast.runtime")

CGROUP_ROOT = "/sys/fs/cgroup"


@dataclass(frozen=True, slots=True)
class InstanceGroup:
    """The cgroup directories of one instance."""

    dirs: tuple[str, ...]
    procs_files: tuple[str, ...]
    memory_dir: str | None
    version: int


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def _write(path: str, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def _own_paths(proc_cgroup: str) -> dict[str, str]:
    """Map each controller (and ``""`` for v2) to our path in its hierarchy."""
    paths: dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            paths[""] = path
        for controller in controllers.split(","):
            paths[controller] = path
    return paths


def procs_in(directory: str) -> list[int]:
    try:
        return [int(line) for line in _read(os.path.join(directory, "cgroup.procs")).split()]
    except (OSError, ValueError):
        return []


class Cgroups:
    """Creates, limits, kills and removes per-instance cgroups."""

    version = 0

    def create(self, instance_id: str, memory_mb: int, max_pids: int) -> InstanceGroup | None:
        """A fresh group for one instance, or None when limits are the watchdog's job."""
        return None

    def kill(self, group: InstanceGroup) -> None:
        """SIGKILL every process in ``group`` (a fork bomb's children included)."""
        for _ in range(50):
            pids = {pid for directory in group.dirs for pid in procs_in(directory)}
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def oom_killed(self, group: InstanceGroup) -> bool:
        """True when the kernel's OOM killer acted inside ``group``."""
        return False

    def max_usage_mb(self, group: InstanceGroup) -> int | None:
        return None

    def remove(self, group: InstanceGroup) -> bool:
        """Remove the group's directories; False if some are still busy."""
        done = True
        for directory in group.dirs:
            try:
                os.rmdir(directory)
            except FileNotFoundError:
                pass
            except OSError:
                done = False
        return done

    def close(self) -> None:
        """Remove the platform's parent groups."""


class NoCgroups(Cgroups):
    """Neither hierarchy is writable: rely on the RSS watchdog."""


class CgroupsV1(Cgroups):
    version = 1

    def __init__(self, memory_base: str, pids_base: str | None) -> None:
        self.memory_base = memory_base
        self.pids_base = pids_base
        self.has_memsw = os.path.exists(os.path.join(memory_base, "memory.memsw.limit_in_bytes"))

    def create(self, instance_id: str, memory_mb: int, max_pids: int) -> InstanceGroup | None:
        memory_dir = os.path.join(self.memory_base, instance_id)
        os.mkdir(memory_dir)
        limit = str(memory_mb * 1024 * 1024)
        _write(os.path.join(memory_dir, "memory.limit_in_bytes"), limit)
        if self.has_memsw:
            # No swap: memory+swap capped at the same figure.
            with contextlib.suppress(OSError):
                _write(os.path.join(memory_dir, "memory.memsw.limit_in_bytes"), limit)
        dirs = [memory_dir]
        if self.pids_base:
            pids_dir = os.path.join(self.pids_base, instance_id)
            os.mkdir(pids_dir)
            _write(os.path.join(pids_dir, "pids.max"), str(max_pids))
            dirs.append(pids_dir)
        return InstanceGroup(
            tuple(dirs), tuple(os.path.join(d, "cgroup.procs") for d in dirs), memory_dir, 1
        )

    def oom_killed(self, group: InstanceGroup) -> bool:
        if group.memory_dir is None:
            return False
        try:
            control = _read(os.path.join(group.memory_dir, "memory.oom_control"))
        except OSError:
            return False
        for line in control.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip() not in ("", "0"):
                return True
        try:
            return int(_read(os.path.join(group.memory_dir, "memory.failcnt"))) > 0
        except (OSError, ValueError):
            return False

    def max_usage_mb(self, group: InstanceGroup) -> int | None:
        if group.memory_dir is None:
            return None
        try:
            return int(_read(os.path.join(group.memory_dir, "memory.max_usage_in_bytes"))) >> 20
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        for base in (self.memory_base, self.pids_base):
            if base:
                _remove_tree(base)


class CgroupsV2(Cgroups):
    version = 2

    def __init__(self, base: str) -> None:
        self.base = base

    def create(self, instance_id: str, memory_mb: int, max_pids: int) -> InstanceGroup | None:
        directory = os.path.join(self.base, instance_id)
        os.mkdir(directory)
        _write(os.path.join(directory, "memory.max"), str(memory_mb * 1024 * 1024))
        with contextlib.suppress(OSError):
            _write(os.path.join(directory, "memory.swap.max"), "0")
        with contextlib.suppress(OSError):
            _write(os.path.join(directory, "pids.max"), str(max_pids))
        return InstanceGroup((directory,), (os.path.join(directory, "cgroup.procs"),), directory, 2)

    def kill(self, group: InstanceGroup) -> None:
        kill_file = os.path.join(group.dirs[0], "cgroup.kill")
        if os.path.exists(kill_file):
            with contextlib.suppress(OSError):
                _write(kill_file, "1")
        super().kill(group)

    def oom_killed(self, group: InstanceGroup) -> bool:
        try:
            events = _read(os.path.join(group.dirs[0], "memory.events"))
        except OSError:
            return False
        for line in events.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip() not in ("", "0"):
                return True
        return False

    def max_usage_mb(self, group: InstanceGroup) -> int | None:
        try:
            return int(_read(os.path.join(group.dirs[0], "memory.peak"))) >> 20
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        _remove_tree(self.base)


def _remove_tree(base: str) -> None:
    if not os.path.isdir(base):
        return
    for entry in os.listdir(base):
        path = os.path.join(base, entry)
        if os.path.isdir(path):
            for pid in procs_in(path):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.rmdir(path)
    with contextlib.suppress(OSError):
        os.rmdir(base)


def _clean_stale(parent: str) -> None:
    """Remove groups left by overcast platforms that are no longer running."""
    with contextlib.suppress(OSError):
        for entry in os.listdir(parent):
            if not entry.startswith("overcast-"):
                continue
            pid_text = entry.removeprefix("overcast-").split("-", 1)[0]
            if pid_text.isdigit() and not _alive(int(pid_text)):
                _remove_tree(os.path.join(parent, entry))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _make_base(parent: str, name: str) -> str | None:
    if not os.path.isdir(parent):
        return None
    _clean_stale(parent)
    base = os.path.join(parent, name)
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        return None
    return base


_RUNTIME_SERIAL = itertools.count()


def detect(enabled: bool = True, root: str = CGROUP_ROOT) -> Cgroups:
    """The best available way to limit instances on this machine."""
    if not enabled:
        return NoCgroups()
    try:
        own = _own_paths(_read("/proc/self/cgroup"))
    except OSError:
        return NoCgroups()
    # One parent group per runtime: a platform runs several (one per live deployment),
    # and closing one must not remove, nor kill, the groups of another.
    serial = next(_RUNTIME_SERIAL)
    name = f"overcast-{os.getpid()}" + (f"-{serial}" if serial else "")
    if os.path.exists(os.path.join(root, "cgroup.controllers")) and "" in own:
        parent = os.path.join(root, own[""].lstrip("/"))
        base = _make_base(parent, name)
        if base is not None:
            try:
                _write(os.path.join(base, "cgroup.subtree_control"), "+memory +pids")
                return CgroupsV2(base)
            except OSError:
                logger.info("cgroup v2 controllers not delegable here; using the RSS watchdog")
                _remove_tree(base)
        return NoCgroups()
    if "memory" in own:
        memory_parent = os.path.join(root, "memory", own["memory"].lstrip("/"))
        memory_base = _make_base(memory_parent, name)
        if memory_base is not None:
            pids_base = None
            if "pids" in own:
                pids_parent = os.path.join(root, "pids", own["pids"].lstrip("/"))
                pids_base = _make_base(pids_parent, name)
            return CgroupsV1(memory_base, pids_base)
    return NoCgroups()


def rss_bytes(pid: int) -> int | None:
    """Resident set size of ``pid`` from /proc/<pid>/statm (the watchdog's probe)."""
    try:
        fields = _read(f"/proc/{pid}/statm").split()
    except OSError:
        return None
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


def group_pids(groups: Iterable[InstanceGroup]) -> set[int]:
    return {pid for group in groups for directory in group.dirs for pid in procs_in(directory)}
