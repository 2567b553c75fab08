"""The edge of a platform (``overcast serve``) never shares one caller's private response.

The same app and checks as test_edge_private_responses, deployed to a platform's dev
stage and reached by its host name: the deploy path builds each stage's edge from the
template (its behaviors and the credentials its authorizers read) on its own. API keys
are the platform's (random values the app cannot know), so that kind is left to the
``overcast up`` test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from process_helpers import RunningPlatform, start_platform
from security.edge_callers import APP, KINDS, MODES, Issuer, Target, check_only_alice_reads_alice

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    running = Issuer()
    yield running
    running.close()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, issuer: Issuer) -> Iterator[RunningPlatform]:
    work = tmp_path_factory.mktemp("edge-private")
    app = work / "private_api"
    shutil.copytree(APP, app)
    running = start_platform(work / "state")
    try:
        running.deploy(app, "dev", "--parameter-overrides", f"Issuer={issuer.url}")
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind != "key"])
def test_a_private_response_reaches_no_one_but_its_owner_on_a_platform(
    platform: RunningPlatform, issuer: Issuer, kind: str, mode: str
) -> None:
    target = Target(platform.url("dev", ""), host=platform.host("dev"))
    check_only_alice_reads_alice(target, issuer, kind, mode, logs=platform.output()[-3000:])
