"""`overcast serve`: Event invocations of a stage alias go through the platform's queue."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from overcast.control.access_keys import KeyStore, read_credentials_file
from overcast.events import EVENTS_FILE, AsyncQueue
from process_helpers import RunningPlatform

pytestmark = pytest.mark.slow


def test_an_event_invocation_of_a_stage_is_queued_durably_and_delivered(
    overcast_platform: RunningPlatform, versioned_app: Path
) -> None:
    overcast_platform.deploy(versioned_app, "dev")
    key_id, secret = read_credentials_file(
        KeyStore(overcast_platform.state_dir).admin_credentials_path
    )
    client = overcast_platform.lambda_client(key_id, secret)
    answer = client.invoke(
        FunctionName="Echo", Payload=b"{}", InvocationType="Event", Qualifier="dev"
    )
    assert answer["StatusCode"] == 202
    # an Event invocation answers no payload; reading it frees the connection
    assert answer["Payload"].read() == b""
    request_id = answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    queue = AsyncQueue(overcast_platform.state_dir / EVENTS_FILE, recover=False)
    try:
        deadline = time.monotonic() + 60
        while queue.state_of(request_id) != "succeeded":
            assert time.monotonic() < deadline, queue.state_of(request_id)
            time.sleep(0.1)
        assert queue.counts("Echo", "dev").delivered == 1
    finally:
        queue.close()
        client.close()
