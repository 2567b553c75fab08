"""`overcast serve`: the admin port speaks SQS too, and a stopping platform ends long polls."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.control.access_keys import KeyStore, read_credentials_file
from process_helpers import RunningPlatform, start_platform

pytestmark = pytest.mark.slow


def _sqs(platform: RunningPlatform) -> Any:
    key_id, secret = read_credentials_file(KeyStore(platform.state_dir).admin_credentials_path)
    return boto3.client(
        "sqs",
        endpoint_url=platform.admin_url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )


def test_queues_on_the_platform_survive_a_long_poll_at_shutdown(
    overcast_platform: RunningPlatform,
) -> None:
    sqs = _sqs(overcast_platform)
    url = sqs.create_queue(QueueName="platform-jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    empty = sqs.create_queue(QueueName="platform-empty")["QueueUrl"]
    outcome: dict[str, Any] = {}

    def poll() -> None:
        outcome.update(sqs.receive_message(QueueUrl=empty, WaitTimeSeconds=20))

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    assert poller.is_alive()
    # The poll is answered (empty) as the platform stops, not after its 20 s.
    assert overcast_platform.stop() in (0, 130), overcast_platform.output()
    poller.join(timeout=15)
    assert not poller.is_alive()
    assert outcome == {"ResponseMetadata": outcome["ResponseMetadata"]}
    # The queue and its message are in the state folder: a restart finds them.
    again = start_platform(overcast_platform.state_dir, *overcast_platform.extra)
    try:
        sqs = _sqs(again)
        url = sqs.get_queue_url(QueueName="platform-jobs")["QueueUrl"]
        [message] = sqs.receive_message(QueueUrl=url)["Messages"]
        assert message["Body"] == "kept"
    finally:
        assert again.stop() in (0, 130), again.output()


STAGE_PARAMETER = "Parameters:\n  Stage:\n    Type: String\n    Default: dev\n\n"
SQS_APP = Path(__file__).resolve().parents[2] / "compat" / "apps" / "sqs_template"


def _sender(platform: RunningPlatform, stage: str, event: dict[str, str]) -> dict[str, str]:
    answer: dict[str, str] = platform.client().request(
        "POST",
        f"/2015-03-31/functions/Sender/invocations?Qualifier={stage}",
        json.dumps(event).encode(),
    )
    return answer


def _stage_sqs(platform: RunningPlatform, stage: str) -> Any:
    env = platform.deployer_key_env(stage)
    return boto3.client(
        "sqs",
        endpoint_url=platform.admin_url,
        region_name="us-east-1",
        aws_access_key_id=env["OVERCAST_ACCESS_KEY_ID"],
        aws_secret_access_key=env["OVERCAST_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 0}),
    )


def test_each_stage_has_its_own_template_queues(
    overcast_platform: RunningPlatform, tmp_path: Path
) -> None:
    app = tmp_path / "sqs_template"
    shutil.copytree(SQS_APP, app, ignore=shutil.ignore_patterns(".overcast"))
    # The dead-letter queue's literal name would be shared by the stages: make it the
    # stage's own, as a template deployed to two stacks on AWS must.
    template = app / "template.yaml"
    template.write_text(
        template.read_text()
        .replace('"${AWS::StackName}-jobs-dead"', '"${AWS::StackName}-jobs-dead-${Stage}"')
        .replace("Resources:", STAGE_PARAMETER + "Resources:", 1)
    )
    overcast_platform.deploy(app, "dev")
    overcast_platform.deploy(app, "prod")
    admin = _sqs(overcast_platform)
    names = [url.rsplit("/", 1)[1] for url in admin.list_queues()["QueueUrls"]]
    jobs = sorted(n for n in names if "-Jobs-" in n)
    assert len(jobs) == 2, names
    dev_jobs = next(n for n in jobs if "-dev-" in n)
    prod_jobs = next(n for n in jobs if "-prod-" in n)

    # Each stage's function sends to its own stage's queue (its policy names it).
    sent = _sender(overcast_platform, "dev", {"body": "dev job"})
    assert "sent" in sent, sent
    dev_url = admin.get_queue_url(QueueName=dev_jobs)["QueueUrl"]
    prod_url = admin.get_queue_url(QueueName=prod_jobs)["QueueUrl"]
    [message] = admin.receive_message(QueueUrl=dev_url)["Messages"]
    assert message["Body"] == "dev job"
    admin.delete_message(QueueUrl=dev_url, ReceiptHandle=message["ReceiptHandle"])
    # ... and is refused prod's, though the queue exists.
    refused = _sender(overcast_platform, "dev", {"body": "leak", "url": prod_url})
    assert refused["error"] == "AccessDeniedException", refused
    assert "Messages" not in admin.receive_message(QueueUrl=prod_url)

    # A key limited to dev reaches dev's queues, not prod's.
    dev_key = _stage_sqs(overcast_platform, "dev")
    dev_key.send_message(QueueUrl=dev_url, MessageBody="by the dev key")
    with pytest.raises(ClientError) as info:
        dev_key.send_message(QueueUrl=prod_url, MessageBody="by the dev key")
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"

    # Deleting dev's stack deletes its queues, as DeleteStack does; prod's stay.
    deleted = overcast_platform.cli("delete", "sqs-template", "--stage", "dev")
    assert deleted.returncode == 0, deleted.stderr.decode()
    left = [url.rsplit("/", 1)[1] for url in admin.list_queues()["QueueUrls"]]
    assert dev_jobs not in left
    assert prod_jobs in left
    assert "sqs-template-jobs-dead-dev" not in left
    assert "sqs-template-jobs-dead-prod" in left


def test_a_queue_name_another_stage_holds_is_refused_at_deploy(
    overcast_platform: RunningPlatform, tmp_path: Path
) -> None:
    app = tmp_path / "sqs_template"
    shutil.copytree(SQS_APP, app, ignore=shutil.ignore_patterns(".overcast"))
    overcast_platform.deploy(app, "dev")
    done = overcast_platform.cli("deploy", str(app), "--stage", "prod")
    assert done.returncode != 0
    error = " ".join(done.stderr.decode().split())
    assert "sqs-template-jobs-dead already exists in stack sqs-template of stage dev" in error
    assert "!Sub 'jobs-${Stage}'" in error
