"""Deployer keys limited to stages: prod cannot be changed with a key scoped to dev."""

from __future__ import annotations

from pathlib import Path

import pytest

from overcast.control.access import AccessControl, resource_stage
from overcast.control.access_keys import AccessKeyError, KeyStore

DEV = "arn:aws:overcast:us-east-1:123456789012:stage/dev"
PROD = "arn:aws:overcast:us-east-1:123456789012:stage/prod"


def test_a_scoped_key_acts_on_its_stages_only(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    key = keys.create("deployer", stages=("dev", "qa"))
    access = AccessControl(keys, "123456789012")
    assert access.authorize(key, "overcast:Deploy", DEV) is None
    denied = access.authorize(key, "overcast:Deploy", PROD)
    assert denied is not None
    assert denied.status == 403
    assert "limited to stage(s) dev, qa" in denied.message
    # invalidations are stage-scoped too (a distribution per stage)
    assert (
        access.authorize(
            key,
            "cloudfront:CreateInvalidation",
            "arn:aws:cloudfront::123456789012:distribution/prod",
        )
        is not None
    )
    # the scope survives the key file
    reread = KeyStore(tmp_path).get(key.access_key_id)
    assert reread is not None
    assert reread.stages == ("dev", "qa")


def test_an_unscoped_deployer_may_deploy_any_stage_but_a_viewer_none(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    access = AccessControl(keys, "123456789012")
    assert access.authorize(keys.create("deployer"), "overcast:Deploy", PROD) is None
    viewer = keys.create("viewer")
    assert access.authorize(viewer, "overcast:ListDeployments", PROD) is None
    assert access.authorize(viewer, "overcast:Deploy", PROD) is not None


def test_a_stage_name_must_be_a_word(tmp_path: Path) -> None:
    with pytest.raises(AccessKeyError, match="not a stage name"):
        KeyStore(tmp_path).create("deployer", stages=("dev/../prod",))


def test_resource_stage_reads_stage_and_distribution_arns() -> None:
    assert resource_stage(DEV) == "dev"
    assert resource_stage("arn:aws:cloudfront::1:distribution/qa") == "qa"
    assert resource_stage("arn:aws:lambda:us-east-1:1:function:Echo") is None
    assert resource_stage("*") is None
