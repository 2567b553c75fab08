"""The sandbox's seccomp filter, compiled by libseccomp (through pyseccomp) on the host.

Denies, with ``EPERM`` rather than a kill, what no Lambda function may do: so a
library that probes a call (``ptrace`` for a debugger check, ``unshare`` for a
sandbox of its own) sees an ordinary error and degrades as it would on Lambda.
Everything else is allowed: the other walls (an unprivileged uid, namespaces, a
read-only root) stand on their own, and this filter narrows the kernel surface they
rest on. ``clone3`` answers ``ENOSYS`` so that the C library falls back to ``clone``,
whose namespace flags the filter can see (Docker's default profile does the same).

The compiled program (raw classic BPF) is handed to the zygote, which installs it
after dropping its privileges (:func:`overcast.runtime.linux.load_seccomp`); the
sandbox itself never needs libseccomp.
"""

from __future__ import annotations

import errno
import os
import threading

from overcast.runtime import linux
from overcast.runtime.errors import SandboxError

#: Denied with EPERM: tracing other processes, mounting and namespaces, kernel
#: modules and keyrings, BPF and perf, rebooting, swap, file handles that bypass
#: paths, userfaultfd, the raw I/O ports and clocks of the host.
DENIED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "unshare",
    "setns",
    "bpf",
    "perf_event_open",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "keyctl",
    "add_key",
    "request_key",
    "reboot",
    "swapon",
    "swapoff",
    "open_by_handle_at",
    "name_to_handle_at",
    "userfaultfd",
    "acct",
    "quotactl",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "iopl",
    "ioperm",
    "lookup_dcookie",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "personality",
    "vhangup",
)

#: clone() flags that would make a new namespace: refused like unshare().
NAMESPACE_FLAGS = (
    linux.CLONE_NEWNS,
    linux.CLONE_NEWCGROUP,
    linux.CLONE_NEWUTS,
    linux.CLONE_NEWIPC,
    linux.CLONE_NEWUSER,
    linux.CLONE_NEWPID,
    linux.CLONE_NEWNET,
)

_compiled: bytes | None = None
_lock = threading.Lock()


def compile_filter() -> bytes:
    """The filter as raw BPF (compiled once per process)."""
    global _compiled  # noqa: PLW0603 - one compilation serves every zygote
    with _lock:
        if _compiled is None:
            _compiled = _compile()
        return _compiled


def _compile() -> bytes:
    try:
        import pyseccomp  # noqa: PLC0415 - loads libseccomp; only the host ever needs it
    except (ImportError, OSError) as exc:
        raise SandboxError(
            f"libseccomp is not usable here ({exc})",
            hint="Install libseccomp (Debian: apt-get install libseccomp2).",
        ) from exc
    deny = pyseccomp.ERRNO(errno.EPERM)
    syscall_filter = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    for name in DENIED:
        try:
            syscall_filter.add_rule(deny, name)
        except (OSError, ValueError):
            continue  # a call this architecture does not have (iopl on aarch64)
    for flag in NAMESPACE_FLAGS:
        syscall_filter.add_rule(deny, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag))
    syscall_filter.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    # An in-memory file rather than a pipe: export_bpf writes it whole before we read.
    with os.fdopen(os.memfd_create("overcast-seccomp"), "w+b") as buffer:
        syscall_filter.export_bpf(buffer)
        buffer.seek(0)
        return buffer.read()
