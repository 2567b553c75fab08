"""A function's walls from its template: EphemeralStorage, network grants, EFS mounts."""

from __future__ import annotations

import pytest

from overcast.template import InvalidTemplateError

from .helpers import function, load_resources, messages


def test_ephemeral_storage_defaults_to_lambdas_512_mb() -> None:
    model = load_resources(function())
    assert model.functions["Hello"].ephemeral_storage_mb == 512


def test_ephemeral_storage_size_is_read() -> None:
    model = load_resources(function(props="EphemeralStorage: {Size: 2048}"))
    assert model.functions["Hello"].ephemeral_storage_mb == 2048
    assert messages(model) == []


@pytest.mark.parametrize("size", ["100", "10241", "lots"])
def test_ephemeral_storage_outside_lambdas_bounds_is_refused_with_its_line(size: str) -> None:
    with pytest.raises(InvalidTemplateError) as info:
        load_resources(function(props=f"EphemeralStorage: {{Size: {size}}}"))
    assert "EphemeralStorage Size" in info.value.message
    assert info.value.location is not None
    assert info.value.location.line == 8


def test_network_grants_come_from_the_function_and_the_template() -> None:
    resources = function("Db") + (
        "    Metadata:\n      overcast:\n        network: ['db.internal:5432']\n"
    )
    resources += function("Other")
    before = "Metadata:\n  overcast:\n    network: ['127.0.0.1:6379']\n"
    model = load_resources(resources, before=before)
    assert model.functions["Db"].network == ("127.0.0.1:6379", "db.internal:5432")
    assert model.functions["Other"].network == ("127.0.0.1:6379",)


def test_vpc_endpoints_reach_only_functions_with_a_vpc_config() -> None:
    vpc = "VpcConfig: {SubnetIds: [subnet-1], SecurityGroupIds: [sg-1]}"
    resources = function("InVpc", props=vpc) + function("Outside")
    before = "Metadata:\n  overcast:\n    vpc: ['10.0.0.5:5432']\n"
    model = load_resources(resources, before=before)
    assert model.functions["InVpc"].network == ("10.0.0.5:5432",)
    assert model.functions["Outside"].network == ()
    assert messages(model) == []


def test_a_grant_that_is_not_host_port_is_refused() -> None:
    before = "Metadata:\n  overcast:\n    network: ['postgres']\n"
    with pytest.raises(InvalidTemplateError, match="is not host:port"):
        load_resources(function(), before=before)


def test_grants_resolve_intrinsics() -> None:
    before = (
        "Parameters:\n  Db:\n    Type: String\n    Default: '127.0.0.1:5432'\n"
        "Metadata:\n  overcast:\n    network: [!Ref Db]\n"
    )
    model = load_resources(function(), before=before)
    assert model.functions["Hello"].network == ("127.0.0.1:5432",)


EFS = """\
  Files:
    Type: AWS::EFS::FileSystem
  Point:
    Type: AWS::EFS::AccessPoint
    Properties:
      FileSystemId: !Ref Files
"""


def test_file_system_configs_name_an_access_point_and_a_mount_path() -> None:
    props = "FileSystemConfigs:\n  - Arn: !GetAtt Point.Arn\n    LocalMountPath: /mnt/data"
    model = load_resources(EFS + function(props=props))
    (mount,) = model.functions["Hello"].file_systems
    assert mount.local_mount_path == "/mnt/data"
    assert mount.arn.startswith("arn:aws:elasticfilesystem:us-east-1:")
    assert ":access-point/fsap-" in mount.arn
    assert messages(model) == []  # EFS resources are run (as folders), not ignored


def test_a_mount_path_outside_mnt_is_refused() -> None:
    props = "FileSystemConfigs:\n  - Arn: !GetAtt Point.Arn\n    LocalMountPath: /data"
    with pytest.raises(InvalidTemplateError, match="must be /mnt/NAME"):
        load_resources(EFS + function(props=props))
