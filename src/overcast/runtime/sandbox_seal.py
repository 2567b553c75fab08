"""The zygote's last steps inside its sandbox, before any function code runs.

The launcher built the walls (namespaces, a read-only root); the zygote arrives with
the privileges it needed to get there and the modules it imported for itself. Sealing
gives up both, in this order, each step assuming the ones before may have failed:

1. detach the folder the zygote imported overcast and msgspec from, and forget
   those modules, so a handler's ``import overcast`` fails as it would on Lambda;
2. set the interpreter's search path to Lambda's;
3. become the sandbox identity (``setgroups``/``setresgid``/``setresuid``; in a user
   namespace, stay uid 0 there but drop every capability), with ``no_new_privs``
   and not dumpable (no instance can read another's memory through ``/proc``);
4. install the seccomp filter compiled by the platform;
5. cap open files at Lambda's 1,024 and core dumps at 0.

Standard library only: this runs inside the sandbox.
"""

from __future__ import annotations

import os
import resource
import sys

from overcast.runtime import linux
from overcast.runtime.messages import Seal


def seal(spec: Seal) -> None:
    """Apply ``spec`` to this process (and so to every instance it forks)."""
    for path in spec.detach:
        linux.umount(path, linux.MNT_DETACH)
    for name in list(sys.modules):
        if name.split(".", 1)[0] in spec.forget:
            del sys.modules[name]
    sys.path[:] = list(spec.sys_path)
    sys.path_importer_cache.clear()
    linux.drop_bounding_set()
    if spec.uid is not None and spec.gid is not None:
        os.setgroups([])
        os.setresgid(spec.gid, spec.gid, spec.gid)
        os.setresuid(spec.uid, spec.uid, spec.uid)
    linux.clear_capabilities()
    linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
    linux.prctl(linux.PR_SET_DUMPABLE, 0)
    if spec.seccomp:
        linux.load_seccomp(spec.seccomp)
    resource.setrlimit(resource.RLIMIT_NOFILE, (spec.max_open_files, spec.max_open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
