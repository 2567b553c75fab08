"""A function's walls, as its template states them: /tmp size, network grants, file systems.

* ``EphemeralStorage: {Size: MB}`` (512 to 10,240, Lambda's bounds) sizes the private
  ``/tmp``.
* A function reaches, besides the platform's own ports, only the endpoints it is
  granted — on AWS, what its ``VpcConfig`` subnets and security groups let it reach.
  A template names them for overcast as ``host:port`` strings under ``Metadata:
  overcast: network:`` — on the template (every function of the app) or on one
  function — and under the template's ``Metadata: overcast: vpc:`` for every function
  with a ``VpcConfig`` (the endpoints inside the VPC, such as the app's database). SAM
  and CloudFormation ignore these keys.
* ``FileSystemConfigs`` (``Arn`` of an ``AWS::EFS::AccessPoint``, ``LocalMountPath``
  under ``/mnt/``) mount a persistent folder shared by every function naming the same
  access point, as EFS does.

Pure: values in, validated values out, errors with the template's line.
"""

from __future__ import annotations

import re
from typing import Any

from overcast.template.errors import InvalidTemplateError
from overcast.template.intrinsics import scalar_text
from overcast.template.model import FileSystemMount, Location
from overcast.template.yaml_loader import LocatedDict, key_location, location_of

#: Lambda's EphemeralStorage bounds (MB)
TMP_BOUNDS = (512, 10240)
#: Lambda's LocalMountPath pattern (API_FileSystemConfig)
_MOUNT_PATH = re.compile(r"/mnt/[a-zA-Z0-9-_.]+")
_ENDPOINT = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")
#: Lambda allows up to this many FileSystemConfigs
_MAX_FILE_SYSTEMS = 1


def ephemeral_storage_mb(owner: str, props: LocatedDict) -> int:
    """``EphemeralStorage.Size``, or Lambda's default of 512 MB."""
    value = props.get("EphemeralStorage")
    loc = props.key_location("EphemeralStorage")
    if value is None:
        return TMP_BOUNDS[0]
    if not isinstance(value, dict) or "Size" not in value:
        raise InvalidTemplateError(
            f"{owner} EphemeralStorage must be a mapping with Size", location=loc,
            hint="write EphemeralStorage: {Size: 1024} (MB, 512 to 10240)",
        )  # fmt: skip
    text = scalar_text(value["Size"])
    size_loc = key_location(value, "Size", loc)
    if text is None or not text.strip().isdigit():
        raise InvalidTemplateError(
            f"{owner} EphemeralStorage Size must be a whole number of MB", location=size_loc
        )
    size = int(text)
    if not TMP_BOUNDS[0] <= size <= TMP_BOUNDS[1]:
        raise InvalidTemplateError(
            f"{owner} EphemeralStorage Size is {size}; it must be between "
            f"{TMP_BOUNDS[0]} and {TMP_BOUNDS[1]} MB",
            location=size_loc,
        )
    return size


def endpoints(what: str, value: Any, loc: Location | None) -> tuple[str, ...]:
    """A list of ``host:port`` strings (resolved), checked one by one."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidTemplateError(
            f"{what} must be a list of host:port endpoints", location=loc,
            hint="e.g. ['127.0.0.1:5432', 'db.internal:5432']",
        )  # fmt: skip
    out: list[str] = []
    for index, item in enumerate(value):
        text = scalar_text(item)
        item_loc = loc
        match = _ENDPOINT.fullmatch(text.strip()) if text is not None else None
        if text is None or match is None or not 0 < int(match.group(2)) < 65536:
            raise InvalidTemplateError(
                f"{what}[{index}] {item!r} is not host:port",
                location=item_loc,
                hint="e.g. 127.0.0.1:5432, db.internal:5432 or [::1]:6379",
            )
        out.append(text.strip())
    return tuple(out)


def file_systems(owner: str, props: LocatedDict) -> tuple[FileSystemMount, ...]:
    """``FileSystemConfigs`` as (access point ARN, local mount path) pairs."""
    value = props.get("FileSystemConfigs")
    loc = props.key_location("FileSystemConfigs")
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > _MAX_FILE_SYSTEMS:
        raise InvalidTemplateError(
            f"{owner} FileSystemConfigs must be a list of one {{Arn, LocalMountPath}}",
            location=loc,
        )
    mounts = []
    for index, item in enumerate(value):
        item_loc = location_of(item) or loc
        arn = scalar_text(item.get("Arn")) if isinstance(item, dict) else None
        path = scalar_text(item.get("LocalMountPath")) if isinstance(item, dict) else None
        if not arn or ":access-point/" not in arn:
            raise InvalidTemplateError(
                f"{owner} FileSystemConfigs[{index}] Arn must be an EFS access point's ARN",
                location=item_loc,
                hint="write Arn: !GetAtt MyAccessPoint.Arn (an AWS::EFS::AccessPoint)",
            )
        if not path or not _MOUNT_PATH.fullmatch(path):
            raise InvalidTemplateError(
                f"{owner} FileSystemConfigs[{index}] LocalMountPath {path!r} must be /mnt/NAME",
                location=item_loc,
            )
        mounts.append(FileSystemMount(arn, path))
    return tuple(mounts)
