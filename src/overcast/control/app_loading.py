"""Finding an app's template on disk and turning its specs into runtime configs."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from overcast.control.function_credentials import secret_values
from overcast.errors import OvercastError
from overcast.runtime import FunctionConfig
from overcast.runtime.errors import SandboxError
from overcast.runtime.sandbox import (
    Endpoint,
    Volume,
    machine_memory_mb,
    parse_endpoint,
    resolve_endpoint,
)
from overcast.secrets import KvStore, open_secrets
from overcast.secrets.external import external_from_env, lookup_for
from overcast.secrets.references import Lookup, Redactor, has_references, resolve_references
from overcast.template import AppModel, FunctionSpec, load_template

TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")


class AppNotFoundError(OvercastError):
    """The folder holds no SAM template."""


def find_template(app_dir: Path) -> Path:
    """The app's template file, or a clear error saying what was looked for."""
    if app_dir.is_file():
        return app_dir
    for name in TEMPLATE_NAMES:
        candidate = app_dir / name
        if candidate.is_file():
            return candidate
    raise AppNotFoundError(
        f"no SAM template in {app_dir} (looked for {', '.join(TEMPLATE_NAMES)})",
        hint="run `overcast init DIR` to scaffold an app, or pass the folder holding template.yaml",
    )


def state_dir_for(template: Path) -> Path:
    """Where overcast keeps an app's state (logs, dependency caches): ``.overcast/`` beside it."""
    return template.parent / ".overcast"


def load_app(app_dir: Path, parameter_overrides: Mapping[str, str] | None = None) -> AppModel:
    """Read and resolve the app's template."""
    template = find_template(app_dir)
    text = template.read_text(encoding="utf-8")
    return load_template(
        text,
        filename=str(template),
        base_dir=str(template.parent.resolve()),
        parameter_overrides=dict(parameter_overrides or {}),
        stack_name=template.parent.resolve().name or "overcast",
    )


def secret_lookup(state_dir: Path, store: KvStore | None = None) -> Lookup:
    """Where ``{{resolve:...}}`` references are read: a real Vault when
    ``OVERCAST_VAULT_ADDR`` is set, else the app's embedded store (``store`` if open)."""
    external = external_from_env(os.environ)
    if external is not None:
        return lookup_for(external)
    return lookup_for(store if store is not None else open_secrets(state_dir).store)


def runtime_functions(
    model: AppModel,
    lookup: Callable[[], Lookup] | None = None,
    credentials: Mapping[str, Mapping[str, str]] | None = None,
) -> list[FunctionConfig]:
    """Map each template function onto what the runtime needs to run it.

    Secret references in environment values are resolved here, when the app is
    deployed (as CloudFormation resolves dynamic references at deploy time), through
    ``lookup()`` — asked for only when some function has a reference. The resolved
    values are masked in that function's logs; the model keeps the references, so the
    Lambda API and the routes table never show a value.

    ``credentials`` (by function name) are the variables of each function's own
    credentials (``function_credentials``): added to the environment, masked in logs,
    and, like resolved secrets, absent from the model.
    """
    configs = []
    for spec in model.functions.values():
        requirements = os.path.join(spec.code_dir, "requirements.txt")
        environment, values = dict(spec.environment), set[str]()
        if has_references(environment):
            if lookup is None:
                raise OvercastError(
                    f"function {spec.name} references secrets, but no secret store is open",
                    hint="run it with `overcast up`, which opens the app's store",
                )
            environment, resolved = resolve_references(environment, lookup())
            values.update(resolved)
        own = (credentials or {}).get(spec.name)
        if own:
            environment.update(own)
            values.update(secret_values(own))
        redactor = Redactor(values) if values else None
        network = _checked_grants(spec)
        configs.append(
            FunctionConfig(
                name=spec.name,
                handler=spec.handler,
                code_dir=spec.code_dir,
                runtime=spec.runtime,
                memory_mb=spec.memory_mb,
                timeout_s=spec.timeout_s,
                environment=environment,
                log_redactor=redactor,
                reserved_concurrency=spec.reserved_concurrency,
                provisioned_concurrency=spec.provisioned_concurrency,
                requirements_file=requirements if os.path.isfile(requirements) else None,
                sandbox_identity=sandbox_identity(model, spec),
                ephemeral_storage_mb=spec.ephemeral_storage_mb,
                network=network,
                volumes=tuple(
                    Volume(mount.arn.rsplit("/", 1)[-1], mount.local_mount_path)
                    for mount in spec.file_systems
                ),
            )
        )
    return configs


def _checked_grants(spec: FunctionSpec) -> tuple[Endpoint, ...]:
    """The function's grants, and a refusal naming the template's line when the sandbox
    could not give what it asks (a name that does not resolve, a /tmp bigger than the
    machine), before anything starts."""
    where = f"{spec.location}: " if spec.location is not None else ""
    total_mb = machine_memory_mb()
    if spec.ephemeral_storage_mb > total_mb:
        raise OvercastError(
            f"{where}Function {spec.name} asks for EphemeralStorage of "
            f"{spec.ephemeral_storage_mb} MB, more than this machine's {total_mb} MB of "
            "memory (/tmp is a tmpfs)",
            hint="lower EphemeralStorage.Size, or run on a machine with more memory",
        )
    grants = []
    for text in spec.network:
        try:
            endpoint = parse_endpoint(text)
            resolve_endpoint(endpoint)
        except (ValueError, SandboxError) as exc:
            raise OvercastError(
                f"{where}Function {spec.name}: {exc}",
                hint=getattr(exc, "hint", "") or "grant host:port endpoints this machine reaches",
            ) from exc
        grants.append(endpoint)
    return tuple(grants)


def sandbox_identity(model: AppModel, spec: FunctionSpec) -> str:
    """The sandbox identity of a function: its app's, or its own when its role differs.

    Functions whose ``Policies`` grant the same permissions share one identity (one
    uid) within a stage; a function with permissions of its own gets its own, as an
    IAM role of its own would separate it on AWS. Functions mounting the same EFS
    access point share the access point's identity whatever their Policies: on AWS the
    access point's ``PosixUser`` is who every one of them is on that file system, so
    what one writes there the others may change.
    """
    if spec.file_systems:
        # Lambda mounts at most one file system per function.
        digest = hashlib.sha256(spec.file_systems[0].arn.encode()).hexdigest()[:16]
        return f"{model.stack_name}/efs/{digest}"
    if not spec.permissions:
        return model.stack_name
    digest = hashlib.sha256(repr(spec.permissions).encode()).hexdigest()[:16]
    return f"{model.stack_name}/{digest}"


def interpreter_warnings(model: AppModel) -> list[str]:
    """Functions whose Runtime differs from the Python overcast runs them on (said, not hidden)."""
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return [
        f"{spec.name} asks for Runtime {spec.runtime}; overcast runs it on this node's "
        f"{here} (install overcast under {spec.runtime} to match)"
        for spec in model.functions.values()
        if spec.runtime != here
    ]
