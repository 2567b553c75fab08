"""``python -m overcast.runtime.sandbox_probe MODE``: can this machine build a sandbox?

Tries, in this throwaway process, what the launcher does first: new namespaces
(with a user namespace when MODE is ``userns``), a private tmpfs, a fork into the new
PID namespace and its own ``/proc``. Exit status 0 means yes; otherwise the last
line on stderr says what the kernel refused.
"""

from __future__ import annotations

import os
import sys

from overcast.runtime import linux


def main() -> None:
    """Probe the mode named in ``argv[1]`` (``root`` or ``userns``)."""
    rootless = sys.argv[1:] == ["userns"]
    flags = (
        linux.CLONE_NEWNS
        | linux.CLONE_NEWPID
        | linux.CLONE_NEWIPC
        | linux.CLONE_NEWNET
        | linux.CLONE_NEWUTS
    )
    try:
        uid, gid = os.geteuid(), os.getegid()
        linux.unshare(flags | (linux.CLONE_NEWUSER if rootless else 0))
        if rootless:
            linux.map_root_to(uid, gid)
        linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
        # A private mount namespace: this tmpfs hides the host's /tmp from this probe only.
        linux.mount("tmpfs", "/tmp", "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "size=1m")  # noqa: S108
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                linux.mount("proc", "/proc", "proc", linux.MS_NOSUID | linux.MS_NODEV)
                linux.interface_up("lo")
            except OSError as exc:
                print(f"sandbox probe: {exc}", file=sys.stderr, flush=True)
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
    except OSError as exc:
        print(f"sandbox probe: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
