"""A stage's static site: uploaded on deploy into its bucket, served and cached by its edge."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from process_helpers import RunningPlatform

pytestmark = pytest.mark.slow

SITE = Path(__file__).parent / "apps" / "site"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    target = tmp_path / "site"
    shutil.copytree(SITE, target)
    return target


def test_deploy_uploads_the_site_and_the_edge_serves_it_with_the_api(
    overcast_platform: RunningPlatform, site: Path
) -> None:
    overcast_platform.deploy(site, "dev")
    first = overcast_platform.get("dev", "/")
    assert first.status_code == 200
    assert "<h1>first</h1>" in first.text
    assert first.headers["x-cache"] == "Miss from overcast"
    again = overcast_platform.get("dev", "/")
    assert again.headers["x-cache"] == "Hit from overcast"
    api = overcast_platform.get("dev", "/api/hello")
    assert api.status_code == 200
    assert api.json() == {"path": "/hello"}
    # the bucket of the stage holds the files, in the platform's state folder
    # <stage>-<stack>-<bucket>: the stack is the app folder's name, "site"
    bucket = overcast_platform.state_dir / "buckets" / "dev-site-sitebucket"
    assert bucket.is_dir()
    # prod has no deployment, and dev's cache never answers for it
    assert overcast_platform.get("prod", "/").status_code == 503


def test_new_static_content_is_served_at_once_and_unchanged_files_are_not_uploaded(
    overcast_platform: RunningPlatform, site: Path
) -> None:
    overcast_platform.deploy(site, "dev")
    assert overcast_platform.get("dev", "/").headers["x-cache"] == "Miss from overcast"
    assert overcast_platform.get("dev", "/assets/app.js").status_code == 200
    assert overcast_platform.get("dev", "/").headers["x-cache"] == "Hit from overcast"
    (site / "web" / "index.html").write_text("<!doctype html><h1>second</h1>\n")
    done = overcast_platform.cli("deploy", str(site), "--stage", "dev")
    assert done.returncode == 0, done.stderr.decode()
    assert "1 of 3 artifact(s) to upload" in done.stderr.decode()
    fresh = overcast_platform.get("dev", "/")
    assert "<h1>second</h1>" in fresh.text
    assert fresh.headers["x-cache"] == "Miss from overcast"  # the deploy invalidated it
    assert overcast_platform.get("dev", "/assets/app.js").headers["x-cache"] == "Hit from overcast"
    # a rollback brings the old page back, and invalidates it again
    rolled = overcast_platform.cli("rollback", "--stage", "dev")
    assert rolled.returncode == 0, rolled.stderr.decode()
    assert "<h1>first</h1>" in overcast_platform.get("dev", "/").text


def test_an_invalidation_by_a_dev_key_purges_dev(
    overcast_platform: RunningPlatform, site: Path
) -> None:
    overcast_platform.deploy(site, "dev")
    overcast_platform.get("dev", "/assets/app.js")
    assert overcast_platform.get("dev", "/assets/app.js").headers["x-cache"] == "Hit from overcast"
    answer = overcast_platform.client().request(
        "POST",
        "/2020-05-31/distribution/dev/invalidation",
        b'{"Paths": {"Quantity": 1, "Items": ["/assets/*"]}, "CallerReference": "t"}',
    )
    assert answer["Invalidation"]["Status"] == "Completed"
    assert overcast_platform.get("dev", "/assets/app.js").headers["x-cache"] == "Miss from overcast"


def test_overcast_invalidate_purges_a_platform_stage(
    overcast_platform: RunningPlatform, site: Path
) -> None:
    overcast_platform.deploy(site, "dev")
    overcast_platform.get("dev", "/assets/app.js")
    assert overcast_platform.get("dev", "/assets/app.js").headers["x-cache"] == "Hit from overcast"
    done = overcast_platform.cli("invalidate", "--stage", "dev", "/assets/*")
    assert done.returncode == 0, done.stderr.decode()
    assert "1 entries purged" in done.stderr.decode()
    assert overcast_platform.get("dev", "/assets/app.js").headers["x-cache"] == "Miss from overcast"


def test_an_edge_sending_requests_to_a_static_origin_without_a_site_is_refused_at_deploy(
    overcast_platform: RunningPlatform, site: Path
) -> None:
    template = site / "template.yaml"
    static = "    static:\n      bucket: SiteBucket\n      source: ./web\n"
    template.write_text(template.read_text().replace(static, ""))
    refused = overcast_platform.cli("deploy", str(site), "--stage", "dev")
    assert refused.returncode != 0
    message = refused.stderr.decode()
    assert "the edge sends requests to the static origin but the app has no static site" in message
    assert "Metadata.overcast.static" in message
    assert overcast_platform.get("dev", "/").status_code == 503  # nothing was deployed


def test_the_spa_example_deploys_with_its_site(overcast_platform: RunningPlatform) -> None:
    overcast_platform.deploy(Path(__file__).parents[3] / "examples" / "spa-with-api", "dev")
    page = overcast_platform.get("dev", "/")
    assert page.status_code == 200
    assert "<html" in page.text.lower()
    assert overcast_platform.get("dev", "/api/hello").status_code == 200
