"""The sandbox of a zygote and its instances, planned on the platform's side.

A sandbox is built once per zygote — one per sandbox identity, code folder and
dependency set — and every instance forked from that zygote inherits it, so a cold
start stays a fork. What an instance sees:

* ``/var/task``: the function's code, read-only (``LAMBDA_TASK_ROOT``);
* ``/opt/python``: its dependencies, read-only;
* ``/var/lang``: the Python runtime, read-only, without its site-packages;
* ``/var/runtime``: boto3 and botocore (Lambda bundles them), read-only;
* ``/usr`` (and the merged ``/bin``, ``/lib``...) read-only, a few generated files
  under ``/etc``, ``/dev/null``/``zero``/``full``/``random``/``urandom``;
* ``/tmp``: a private tmpfs of ``EphemeralStorage`` megabytes (ENOSPC past it);
* ``/proc`` of its own PID namespace; its own IPC and UTS namespaces;
* a network namespace whose only interface is the loopback, where the ports the
  function was granted (and the platform's own API ports) are relayed by the
  platform to their real address.

It runs as the identity's own uid/gid (never root, never the platform's), with no
capabilities, ``no_new_privs`` and a seccomp filter; without root, a user namespace
maps uid 0 inside to the platform's uid and the same walls stand, capabilities
dropped. :func:`detect` says which of the two this machine allows.

This module only plans: :mod:`overcast.runtime.sandbox_launch` builds the sandbox
from a :class:`LaunchSpec`, :mod:`overcast.runtime.sandbox_seal` finishes it inside.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import ipaddress
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import util as import_util
from pathlib import Path

import msgspec

import overcast
from overcast.runtime import syscall_filter
from overcast.runtime.errors import SandboxError
from overcast.runtime.messages import LaunchSpec, Listener, Mount, Seal

TASK_ROOT = "/var/task"
DEPS_ROOT = "/opt/python"
LANG_ROOT = "/var/lang"
RUNTIME_DIR = "/var/runtime"
#: where the zygote imports itself from; detached before any function code runs
BOOT_DIR = "/var/runtime/.boot"
#: Lambda's quota on open files per execution environment
MAX_OPEN_FILES = 1024
#: Lambda's default and largest ``EphemeralStorage.Size`` (MB)
DEFAULT_TMP_MB = 512
MAX_TMP_MB = 10240
#: what Lambda's Python runtimes bundle, exposed under /var/runtime when installed here
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
#: sandbox uids and gids: one per identity, hashed into a range no distribution hands out
UID_BASE = 0x4000_0000
UID_SPAN = 1 << 24
#: Lambda's execution environment user name
SANDBOX_USER = "sbx_user1051"
_DEVICES = ("null", "zero", "full", "random", "urandom")


class SandboxMode(enum.Enum):
    """How this machine can wall instances in."""

    ROOT = "root"  # real uids per identity, namespaces, seccomp
    USER_NAMESPACE = "userns"  # not root: a user namespace, capabilities dropped


@dataclass(frozen=True, slots=True)
class SandboxSupport:
    """What :func:`detect` found: a mode, or None with the reason."""

    mode: SandboxMode | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A TCP endpoint a function may reach: ``host:port``."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_endpoint(text: str) -> Endpoint:
    """``host:port``, ``[v6]:port``; raises ValueError with what is wrong."""
    value = text.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, _, port_text = value.rpartition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{text!r} is not host:port (e.g. 127.0.0.1:5432 or db.internal:5432)")
    return Endpoint(host, int(port_text))


@dataclass(frozen=True, slots=True)
class PortMapping:
    """A platform port as functions reach it: ``inside`` relayed to ``target``.

    The admin port is reached at its own address inside, but relayed to a listener
    of the admin app that serves functions only the APIs their credentials open.
    """

    inside: Endpoint
    target: Endpoint


@dataclass(frozen=True, slots=True)
class Volume:
    """A persistent, writable folder of the runtime mounted into a function (EFS's part)."""

    name: str  # the folder under ``<state_dir>/volumes/``
    mount_path: str  # "/mnt/..."


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """Node-wide sandbox settings (part of :class:`~overcast.runtime.config.RuntimeConfig`).

    ``platform_ports`` are reachable from every sandbox (the admin port, where
    functions use their own credentials; the data port, as any client reaches it; the
    egress proxy, when functions may reach the internet).
    """

    mode: SandboxMode
    platform_ports: tuple[PortMapping, ...] = ()
    #: the forward proxy functions reach the internet through (inside the sandbox, at
    #: the same address; also in ``platform_ports``); None: no internet
    egress_proxy: Endpoint | None = None


@dataclass(frozen=True, slots=True)
class SandboxRequest:
    """What one zygote's sandbox must hold."""

    identity: str
    code_dir: str
    deps_dir: str | None
    tmp_mb: int = DEFAULT_TMP_MB
    grants: tuple[Endpoint, ...] = ()
    #: (host folder, mount path) of each persistent volume
    volumes: tuple[tuple[str, str], ...] = ()
    #: host folders that must not be seen even where the code folder holds them (the
    #: runtime's own state folder, when an app's CodeUri is the folder holding it)
    hidden: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SandboxPlan:
    """A built plan: the launcher's spec, the zygote's seal, and where each port goes."""

    launch: LaunchSpec
    seal: Seal
    #: (host, port) each listener of ``launch`` is relayed to, in order
    relay_targets: tuple[tuple[str, int], ...]
    uid: int
    sys_path: tuple[str, ...] = ()


def identity_uid(identity: str) -> int:
    """The uid (and gid) of a sandbox identity: stable, unprivileged, never the platform's."""
    digest = hashlib.sha256(identity.encode()).digest()
    return UID_BASE + int.from_bytes(digest[:4], "big") % UID_SPAN


def _python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def lambda_sys_path() -> tuple[str, ...]:
    """The interpreter's search path inside a sandbox, as Lambda's Python runtime has it."""
    version = _python_version()
    nodot = version.replace(".", "")
    return (
        RUNTIME_DIR,
        f"{LANG_ROOT}/lib/python{nodot}.zip",
        f"{LANG_ROOT}/lib/python{version}",
        f"{LANG_ROOT}/lib/python{version}/lib-dynload",
        f"{LANG_ROOT}/lib/python{version}/site-packages",
    )


def instance_paths(deps: bool) -> dict[str, str]:
    """Where a sandboxed instance finds its code and dependencies (WorkerSpec's paths)."""
    return {"code_dir": TASK_ROOT, "deps_dir": DEPS_ROOT if deps else ""}


def lambda_environment() -> dict[str, str]:
    """The runtime variables whose values are paths inside the sandbox (Lambda's own)."""
    return {
        "PATH": f"{LANG_ROOT}/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "LD_LIBRARY_PATH": (
            f"{LANG_ROOT}/lib:/lib64:/usr/lib64:{RUNTIME_DIR}:{RUNTIME_DIR}/lib:"
            f"{TASK_ROOT}:{TASK_ROOT}/lib:/opt/lib"
        ),
        "PYTHONPATH": RUNTIME_DIR,
        "LAMBDA_TASK_ROOT": TASK_ROOT,
        "LAMBDA_RUNTIME_DIR": RUNTIME_DIR,
    }


def egress_environment(proxy: Endpoint | None, grants: Sequence[Endpoint]) -> dict[str, str]:
    """The variables that send a sandboxed function's HTTP(S) to the egress proxy (both
    spellings: libraries read one or the other), and its grants and the platform past it."""
    if proxy is None:
        return {}
    url = f"http://{proxy}"
    direct = ",".join(dict.fromkeys(["localhost", "127.0.0.1", "::1", *(g.host for g in grants)]))
    return {
        "HTTP_PROXY": url,
        "HTTPS_PROXY": url,
        "http_proxy": url,
        "https_proxy": url,
        "NO_PROXY": direct,
        "no_proxy": direct,
    }


def _interpreter() -> tuple[str, str]:
    """The Python installation to expose (its prefix) and the interpreter's path inside it."""
    prefix = os.path.realpath(sys.base_prefix)
    executable = os.path.realpath(sys.executable)
    if not executable.startswith(prefix + os.sep):
        # A venv's interpreter is a link into the base installation; follow it there.
        candidate = os.path.join(prefix, "bin", os.path.basename(executable))
        if not os.path.exists(candidate):
            candidate = os.path.join(prefix, "bin", f"python{_python_version()}")
        executable = candidate
    return prefix, LANG_ROOT + executable[len(prefix) :]


def _package_location(name: str) -> list[tuple[str, str]]:
    """(host path, name in /var/runtime) of an installed package and its metadata."""
    spec = import_util.find_spec(name)
    if spec is None:
        return []
    if spec.submodule_search_locations:
        path = next(iter(spec.submodule_search_locations))
    elif spec.origin and spec.origin.endswith(".py"):
        path = spec.origin
    else:
        return []
    found = [(path, os.path.basename(path))]
    parent = os.path.dirname(path)
    normalized = name.replace("-", "_").lower()
    try:
        entries = os.listdir(parent)
    except OSError:
        entries = []
    for entry in entries:
        if entry.endswith(".dist-info"):
            dist = entry.split("-", 1)[0].replace("-", "_").lower()
            if dist == normalized or (name == "dateutil" and dist == "python_dateutil"):
                found.append((os.path.join(parent, entry), entry))
    return found


def _boot_mounts() -> list[Mount]:
    """The zygote's own code: overcast and msgspec, detached by the seal."""
    mounts = [Mount("ro", f"{BOOT_DIR}/overcast", os.path.dirname(overcast.__file__))]
    mounts.append(Mount("ro", f"{BOOT_DIR}/msgspec", os.path.dirname(msgspec.__file__)))
    return mounts


def _system_mounts() -> tuple[list[Mount], dict[str, str]]:
    mounts = [Mount("ro", "/usr", "/usr")]
    links: dict[str, str] = {}
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = f"/{name}"
        if os.path.islink(host):
            links[host] = os.readlink(host)
        elif os.path.isdir(host):
            mounts.append(Mount("ro", host, host))
    for path in ("/etc/ld.so.cache", "/etc/ssl", "/etc/ca-certificates", "/etc/pki"):
        if os.path.exists(path):
            mounts.append(Mount("ro", path, os.path.realpath(path)))
    for device in _DEVICES:
        mounts.append(Mount("rw", f"/dev/{device}", f"/dev/{device}"))
    links.update(
        {
            "/dev/fd": "/proc/self/fd",
            "/dev/stdin": "/proc/self/fd/0",
            "/dev/stdout": "/proc/self/fd/1",
            "/dev/stderr": "/proc/self/fd/2",
        }
    )
    return mounts, links


def _etc_files(uid: int, hosts: Sequence[tuple[str, str]]) -> dict[str, bytes]:
    host_lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost"]
    host_lines += [f"{address}\t{name}" for address, name in hosts]
    return {
        "/etc/passwd": (
            "root:x:0:0:root:/root:/sbin/nologin\n"
            f"{SANDBOX_USER}:x:{uid}:{uid}::/tmp:/sbin/nologin\n"
            "nobody:x:65534:65534:nobody:/:/sbin/nologin\n"
        ).encode(),
        "/etc/group": f"root:x:0:\n{SANDBOX_USER}:x:{uid}:\nnobody:x:65534:\n".encode(),
        "/etc/hosts": ("\n".join(host_lines) + "\n").encode(),
        # Nothing answers DNS inside: a refused query fails at once instead of waiting.
        "/etc/resolv.conf": b"nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
        "/etc/nsswitch.conf": b"passwd: files\ngroup: files\nhosts: files dns\n",
    }


def resolve_endpoint(endpoint: Endpoint) -> str:
    """The address a granted endpoint is relayed to (a name resolved here, once)."""
    try:
        address = ipaddress.ip_address(endpoint.host)
    except ValueError:
        try:
            infos = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise SandboxError(
                f"network grant {endpoint}: {endpoint.host} does not resolve ({exc})",
                hint="Grant an address this machine can reach, or fix the name.",
            ) from None
        infos.sort(key=lambda info: info[0] != socket.AF_INET)
        return str(infos[0][4][0])
    return str(address)


def _listeners(
    grants: Sequence[PortMapping],
) -> tuple[list[Listener], list[tuple[str, int]], list[tuple[str, str]]]:
    """Ports to open inside, where each is relayed, and the names /etc/hosts maps."""
    listeners: list[Listener] = []
    targets: list[tuple[str, int]] = []
    hosts: list[tuple[str, str]] = []
    seen: set[tuple[str, int]] = set()
    for mapping in grants:
        endpoint = mapping.inside
        target = resolve_endpoint(endpoint)
        address = ipaddress.ip_address(target)
        if address.version == 6 and not address.is_loopback:
            raise SandboxError(
                f"network grant {endpoint}: only loopback IPv6 addresses can be granted yet",
                hint="Grant the endpoint's IPv4 address or a name that resolves to one.",
            )
        inside = str(address)
        if endpoint.host != inside:
            hosts.append((inside, endpoint.host))
        if (inside, endpoint.port) in seen:
            continue
        seen.add((inside, endpoint.port))
        alias = address.version == 4 and not address.is_loopback
        listeners.append(Listener(inside, endpoint.port, alias))
        if mapping.target == endpoint:
            targets.append((target, endpoint.port))
        else:
            targets.append((resolve_endpoint(mapping.target), mapping.target.port))
    return listeners, targets, hosts


def machine_memory_mb() -> int:
    """This machine's memory (a tmpfs /tmp can never hold more)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") >> 20


def plan(request: SandboxRequest, config: SandboxConfig, root_dir: str) -> SandboxPlan:
    """Everything the launcher and the zygote need to build and seal one sandbox."""
    if not DEFAULT_TMP_MB <= request.tmp_mb <= MAX_TMP_MB:
        raise SandboxError(
            f"EphemeralStorage of {request.tmp_mb} MB is outside Lambda's 512-10240 MB",
        )
    total_mb = machine_memory_mb()
    if request.tmp_mb > total_mb:
        raise SandboxError(
            f"EphemeralStorage of {request.tmp_mb} MB is more than this machine's "
            f"{total_mb} MB of memory (/tmp is a tmpfs)",
            hint="Lower EphemeralStorage.Size, or run on a machine with more memory.",
        )
    uid = identity_uid(request.identity)
    rootless = config.mode is SandboxMode.USER_NAMESPACE
    prefix, interpreter = _interpreter()
    version = _python_version()
    mounts, links = _system_mounts()
    mounts.append(Mount("ro", LANG_ROOT, prefix))
    site = f"{LANG_ROOT}/lib/python{version}/site-packages"
    if os.path.isdir(prefix + site[len(LANG_ROOT) :]):
        mounts.append(Mount("empty", site))
    for name in RUNTIME_PACKAGES:
        for host_path, inside_name in _package_location(name):
            mounts.append(Mount("ro", f"{RUNTIME_DIR}/{inside_name}", host_path))
    boot = _boot_mounts()
    mounts.extend(boot)
    code = os.path.realpath(request.code_dir)
    mounts.append(Mount("ro", TASK_ROOT, code))
    for folder in request.hidden:
        inside = os.path.relpath(os.path.realpath(folder), code)
        if not inside.startswith("..") and inside != ".":
            mounts.append(Mount("empty", f"{TASK_ROOT}/{inside}"))
    if not rootless:
        _check_readable(request.code_dir, "the function's code")
    if request.deps_dir:
        if not rootless:
            _readable_folder(request.deps_dir)
        mounts.append(Mount("ro", DEPS_ROOT, os.path.realpath(request.deps_dir)))
    for host_dir, mount_path in request.volumes:
        _own(host_dir, None if rootless else uid)
        mounts.append(Mount("data", mount_path, host_dir))
    # The sandbox's own /tmp, a fresh tmpfs inside its mount namespace.
    tmp = Mount("tmpfs", "/tmp", options=f"size={request.tmp_mb}m,mode=1777,nr_inodes=1m")  # noqa: S108
    mounts.append(tmp)
    grants = tuple(PortMapping(endpoint, endpoint) for endpoint in request.grants)
    listeners, targets, hosts = _listeners(config.platform_ports + grants)
    launch = LaunchSpec(
        root_dir=root_dir,
        mounts=mounts,
        files=_etc_files(0 if rootless else uid, hosts),
        symlinks=links,
        hostname="localhost",
        listeners=listeners,
        argv=[interpreter, "-S", "-B", "-m", "overcast.runtime.zygote"],
        env={
            "PYTHONPATH": BOOT_DIR,
            "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "C.UTF-8",
            "PATH": lambda_environment()["PATH"],
            "LD_LIBRARY_PATH": f"{LANG_ROOT}/lib",
        },
        map_uid=os.geteuid() if rootless else None,
        map_gid=os.getegid() if rootless else None,
    )
    sys_path = lambda_sys_path()
    seal = Seal(
        uid=None if rootless else uid,
        gid=None if rootless else uid,
        seccomp=syscall_filter.compile_filter(),
        detach=[mount.target for mount in boot],
        forget=["overcast", "msgspec"],
        sys_path=list(sys_path),
        max_open_files=MAX_OPEN_FILES,
    )
    return SandboxPlan(launch, seal, tuple(targets), uid, sys_path)


#: how many entries of a code folder are checked for permissions before a sandbox starts
_CHECK_LIMIT = 20000


def _check_readable(folder: str, what: str) -> None:
    """Refuse to start when the sandbox identity ("other") could not read the code."""
    unreadable: list[str] = []
    checked = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name, need in [*((d, 0o005) for d in dirs), *((f, 0o004) for f in files)]:
            path = os.path.join(root, name)
            try:
                mode = os.stat(path).st_mode
            except OSError:
                continue
            if mode & need != need:
                unreadable.append(path)
        checked += len(dirs) + len(files)
        if checked > _CHECK_LIMIT or len(unreadable) > 3:
            break
    if os.stat(folder).st_mode & 0o005 != 0o005:
        unreadable.insert(0, folder)
    if unreadable:
        raise SandboxError(
            f"{what} in {folder} is not readable by the sandbox: "
            + ", ".join(unreadable[:3])
            + (" …" if len(unreadable) > 3 else ""),
            hint=f"functions run as their own user, as on Lambda: chmod -R o+rX {folder}",
        )


def _readable_folder(folder: str) -> None:
    # An install from before sandboxes existed is owner-only at its top (mkdtemp).
    if os.stat(folder).st_mode & 0o005 != 0o005:
        os.chmod(folder, 0o755)  # noqa: S103 - read-only to others, on purpose


def _own(host_dir: str, uid: int | None) -> None:
    """Create a volume's folder, writable by the sandbox identity alone."""
    os.makedirs(host_dir, mode=0o700, exist_ok=True)
    if uid is not None and os.stat(host_dir).st_uid != uid:
        os.chown(host_dir, uid, uid)


def detect() -> SandboxSupport:
    """Which sandbox this machine allows: probe it in a throwaway child."""
    if not sys.platform.startswith("linux"):
        return SandboxSupport(None, "function sandboxes need Linux namespaces")
    try:
        syscall_filter.compile_filter()
    except SandboxError as exc:
        return SandboxSupport(None, exc.message)
    mode = SandboxMode.ROOT if os.geteuid() == 0 else SandboxMode.USER_NAMESPACE
    result = subprocess.run(
        [sys.executable, "-m", "overcast.runtime.sandbox_probe", mode.value],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.defpath},
        timeout=30,
    )
    if result.returncode == 0:
        return SandboxSupport(mode)
    reason = (result.stderr.strip().splitlines() or ["unknown"])[-1]
    if mode is SandboxMode.USER_NAMESPACE:
        reason += " (user namespaces may be disabled: sysctl kernel.unprivileged_userns_clone)"
    return SandboxSupport(None, reason)


@functools.cache
def detected() -> SandboxSupport:
    """:func:`detect`, asked once per process."""
    return detect()


def sandbox_root(state_dir: str | Path) -> str:
    """The empty folder every sandbox's private root is mounted on (in its own namespace)."""
    path = Path(state_dir) / "sandbox" / "root"
    path.mkdir(parents=True, exist_ok=True)
    return str(path)
