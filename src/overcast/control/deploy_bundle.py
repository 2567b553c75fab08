"""What ``overcast deploy`` sends: the deploy request and the artifacts it names.

Built on the client from an app folder: the template text, one deterministic zip per
distinct ``CodeUri`` folder (named by its sha256, so identical code has one name
everywhere and is uploaded once), and — when the template says
``Metadata: overcast: static: {bucket: WebBucket, source: ./web}`` — each file of the
static folder, also by sha256. The server rebuilds the app from these alone.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from overcast.errors import OvercastError
from overcast.storage import validate_key, zip_directory
from overcast.template import AppModel
from overcast.template.yaml_loader import parse_yaml


class DeployBundleError(OvercastError):
    """The app folder cannot be turned into a deployment."""


class DeployRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of ``POST /overcast/stages/<stage>/deployments``."""

    template: str
    template_name: str = "template.yaml"
    #: CodeUri folder relative to the template's folder ('.' for the folder itself) → sha256
    code: dict[str, str] = {}
    #: static site object key → sha256 of its bytes (None: the app has no static site)
    static: dict[str, str] | None = None
    parameter_overrides: dict[str, str] = {}
    message: str = ""
    #: the stack (app) of the stage it deploys; "" = the stage's default stack
    stack: str = ""
    #: the API mapping key the stack is served under on the stage's hosts ("" = the root)
    base_path: str = ""


@dataclass(frozen=True, slots=True)
class StaticSettings:
    """``Metadata: overcast: static:``: which bucket holds the site, and its source folder."""

    bucket: str
    source: str


@dataclass(frozen=True, slots=True)
class DeployBundle:
    """A request and the local files behind every digest it names."""

    request: DeployRequest
    #: sha256 → a zip's bytes (code) or a file's path (static)
    artifacts: Mapping[str, bytes | Path]

    def size_of(self, digest: str) -> int:
        item = self.artifacts[digest]
        return len(item) if isinstance(item, bytes) else item.stat().st_size

    def read(self, digest: str) -> bytes:
        item = self.artifacts[digest]
        return item if isinstance(item, bytes) else item.read_bytes()


def static_settings(template: Mapping[str, Any]) -> StaticSettings | None:
    """Read and check ``Metadata: overcast: static:`` from a parsed template."""
    metadata = template.get("Metadata")
    overcast = metadata.get("overcast") if isinstance(metadata, Mapping) else None
    raw = overcast.get("static") if isinstance(overcast, Mapping) else None
    if raw is None:
        return None
    where = "Metadata.overcast.static"
    if not isinstance(raw, Mapping) or set(raw) - {"bucket", "source"}:
        raise DeployBundleError(
            f"{where} must be a mapping with bucket and source",
            hint="e.g. static: {bucket: WebBucket, source: ./web}",
        )
    bucket, source = raw.get("bucket"), raw.get("source")
    if not isinstance(bucket, str) or not isinstance(source, str) or not source.strip():
        raise DeployBundleError(f"{where}: bucket and source must both be given as strings")
    resources = template.get("Resources")
    resource = resources.get(bucket) if isinstance(resources, Mapping) else None
    if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::S3::Bucket":
        raise DeployBundleError(
            f"{where}.bucket: {bucket!r} is not an AWS::S3::Bucket of this template",
            hint=f"add Resources: {bucket}: {{Type: AWS::S3::Bucket}}",
        )
    return StaticSettings(bucket=bucket, source=source)


def base_path_setting(template: Mapping[str, Any]) -> str:
    """``Metadata: overcast: base_path:``: the API mapping key the app asks for ("" = root)."""
    metadata = template.get("Metadata")
    overcast = metadata.get("overcast") if isinstance(metadata, Mapping) else None
    raw = overcast.get("base_path", "") if isinstance(overcast, Mapping) else ""
    if not isinstance(raw, str):
        raise DeployBundleError(
            "Metadata.overcast.base_path must be one path segment", hint="e.g. base_path: notes"
        )
    return raw


def build_bundle(
    template_path: Path,
    model: AppModel,
    parameter_overrides: Mapping[str, str] | None = None,
    message: str = "",
) -> DeployBundle:
    """Zip each function's code folder and hash the static site of the app at ``template_path``."""
    base = template_path.parent.resolve()
    text = template_path.read_text(encoding="utf-8")
    artifacts: dict[str, bytes | Path] = {}
    code: dict[str, str] = {}
    for spec in model.functions.values():
        folder = Path(spec.code_dir).resolve()
        relative = os.path.relpath(folder, base)
        if relative in code:
            continue
        if relative.startswith(".."):
            raise DeployBundleError(
                f"function {spec.name}: CodeUri {folder} is outside the app folder {base}",
                hint="keep each function's code under the folder holding template.yaml",
            )
        data = zip_directory(folder)
        digest = hashlib.sha256(data).hexdigest()
        code[relative] = digest
        artifacts[digest] = data
    static: dict[str, str] | None = None
    parsed = _parsed(text, template_path)
    settings = static_settings(parsed)
    if settings is not None:
        static = {}
        root = (base / settings.source).resolve()
        if not root.is_dir():
            raise DeployBundleError(
                f"Metadata.overcast.static.source: {root} is not a folder",
                hint="create it, or point source at the folder holding the site",
            )
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            key = path.relative_to(root).as_posix()
            if any(part.startswith(".") for part in key.split("/")):
                continue  # dotfiles (.DS_Store, .git) are not part of a site
            validate_key(key)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            static[key] = digest
            artifacts[digest] = path
    request = DeployRequest(
        template=text,
        template_name=template_path.name,
        code=code,
        static=static,
        parameter_overrides=dict(parameter_overrides or {}),
        message=message,
        base_path=base_path_setting(parsed),
    )
    return DeployBundle(request, artifacts)


def _parsed(text: str, path: Path) -> Mapping[str, Any]:
    raw = parse_yaml(text, str(path))
    return raw if isinstance(raw, Mapping) else {}
