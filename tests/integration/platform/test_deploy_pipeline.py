"""`overcast serve` + `overcast deploy`: versions, aliases, history, rollback, restarts."""

from __future__ import annotations

import json
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest
from platform_helpers import set_code

from overcast.cli.platform_cmd import PlatformClientError
from overcast.control.access_keys import KeyStore, read_credentials_file
from process_helpers import RunningPlatform, free_port, start_platform

pytestmark = pytest.mark.slow


def whoami(platform: RunningPlatform, stage: str) -> dict[str, str]:
    response = platform.get(stage, "/whoami")
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def test_deploy_serves_the_stage_on_its_own_host_and_nowhere_else(
    overcast_platform: RunningPlatform, versioned_app: Path
) -> None:
    overcast_platform.deploy(versioned_app, "dev")

    assert whoami(overcast_platform, "dev") == {
        "code": "v1",
        "stage": "dev",
        "greeting": "hello",
        "version": "1",
    }
    # prod has nothing deployed yet; a host that is not the platform's is misdirected
    assert overcast_platform.get("prod", "/whoami").status_code == 503
    stray = overcast_platform.get("dev", "/whoami", headers={"Host": "elsewhere.test"})
    assert stray.status_code == 421


def test_unchanged_redeploy_keeps_the_version_and_uploads_nothing(
    overcast_platform: RunningPlatform, versioned_app: Path
) -> None:
    overcast_platform.deploy(versioned_app, "dev")
    again = overcast_platform.cli("deploy", str(versioned_app), "--stage", "dev")
    assert again.returncode == 0, again.stderr.decode()
    assert "0 of 1 artifact(s) to upload" in again.stderr.decode()
    assert whoami(overcast_platform, "dev")["version"] == "1"


def test_changed_code_publishes_a_new_version_and_rollback_returns_in_one_step(
    overcast_platform: RunningPlatform, versioned_app: Path
) -> None:
    first = overcast_platform.deploy(versioned_app, "dev")
    set_code(versioned_app, "v2")
    second = overcast_platform.deploy(versioned_app, "dev")
    assert whoami(overcast_platform, "dev")["code"] == "v2"
    assert whoami(overcast_platform, "dev")["version"] == "2"

    rolled = overcast_platform.cli("rollback", "--stage", "dev")
    assert rolled.returncode == 0, rolled.stderr.decode()
    assert whoami(overcast_platform, "dev") == {
        "code": "v1",
        "stage": "dev",
        "greeting": "hello",
        "version": "1",
    }
    history = overcast_platform.cli("deployments", "--stage", "dev", "--json")
    listed = json.loads(history.stdout)
    kinds = [(d["Kind"], d["Status"]) for d in listed["Deployments"]]
    assert kinds == [("rollback", "Succeeded"), ("deploy", "Succeeded"), ("deploy", "Succeeded")]
    assert listed["Deployments"][0]["Message"] == f"rollback to {first}"
    assert listed["Current"] == listed["Deployments"][0]["DeploymentId"] != second


def test_rollback_without_history_is_refused_clearly(
    overcast_platform: RunningPlatform, versioned_app: Path
) -> None:
    overcast_platform.deploy(versioned_app, "qa")
    refused = overcast_platform.cli("rollback", "--stage", "qa")
    assert refused.returncode == 1
    assert "no earlier deployment to roll back to" in refused.stderr.decode()


def test_stages_keep_their_own_parameters_and_samconfig_sections(
    overcast_platform: RunningPlatform, versioned_app: Path
) -> None:
    (versioned_app / "samconfig.toml").write_text(
        'version = 0.1\n[prod.deploy.parameters]\nparameter_overrides = "Greeting=welcome"\n'
    )
    overcast_platform.deploy(versioned_app, "dev", "--parameter-overrides", "Greeting=hi")
    overcast_platform.deploy(versioned_app, "prod")
    assert whoami(overcast_platform, "dev")["greeting"] == "hi"
    assert whoami(overcast_platform, "prod")["greeting"] == "welcome"
    assert whoami(overcast_platform, "prod")["stage"] == "prod"
    # prod's configuration differs, so its version is a new one of the same function
    assert whoami(overcast_platform, "prod")["version"] == "2"


def test_a_deployer_key_scoped_to_dev_cannot_touch_prod(
    overcast_platform: RunningPlatform, versioned_app: Path
) -> None:
    env = overcast_platform.deployer_key_env("dev")
    denied = overcast_platform.cli("deploy", str(versioned_app), "--stage", "prod", env=env)
    assert denied.returncode == 1
    assert "AccessDeniedException" in denied.stderr.decode()
    assert "limited to stage(s) dev" in denied.stderr.decode()
    allowed = overcast_platform.cli("deploy", str(versioned_app), "--stage", "dev", env=env)
    assert allowed.returncode == 0, allowed.stderr.decode()
    assert overcast_platform.get("prod", "/whoami").status_code == 503


def test_a_restarted_platform_serves_each_stage_current_deployment(
    tmp_path: Path, versioned_app: Path
) -> None:
    first = start_platform(tmp_path / "state")
    try:
        first.deploy(versioned_app, "dev")
        set_code(versioned_app, "v2")
        first.deploy(versioned_app, "dev")
    finally:
        assert first.stop() in (0, 130), first.output()
    second = start_platform(tmp_path / "state")
    try:
        assert whoami(second, "dev")["code"] == "v2"
        assert second.get("prod", "/whoami").status_code == 503
    finally:
        assert second.stop() in (0, 130), second.output()


def test_deploy_of_a_broken_template_answers_the_template_error(
    overcast_platform: RunningPlatform, versioned_app: Path
) -> None:
    overcast_platform.deploy(versioned_app, "dev")
    template = versioned_app / "template.yaml"
    template.write_text(template.read_text().replace("Handler: app.handler", "Handler: 7"))
    done = overcast_platform.cli(
        "deploy",
        str(versioned_app),
        "--stage",
        "dev",
        "--parameter-overrides",
        "Greeting=changed",
    )
    assert done.returncode == 1
    assert "error:" in done.stderr.decode()
    # the stage still serves what it served
    assert whoami(overcast_platform, "dev")["greeting"] == "hello"


def test_boto3_invokes_a_stage_alias_and_a_version(
    overcast_platform: RunningPlatform, versioned_app: Path
) -> None:
    overcast_platform.deploy(versioned_app, "dev")
    set_code(versioned_app, "v2")
    overcast_platform.deploy(versioned_app, "prod")
    key_id, secret = read_credentials_file(
        KeyStore(overcast_platform.state_dir).admin_credentials_path
    )
    client = overcast_platform.lambda_client(key_id, secret)

    def code(**qualifier: str) -> str:
        answer = client.invoke(FunctionName="Echo", Payload=b"{}", **qualifier)
        assert "FunctionError" not in answer
        return str(json.loads(json.loads(answer["Payload"].read())["body"])["code"])

    assert code(Qualifier="dev") == "v1"
    assert code(Qualifier="prod") == "v2"
    assert code(Qualifier="1") == "v1"
    assert code() == "v2"  # no qualifier: the newest version
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="Echo", Payload=b"{}", Qualifier="qa")
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert names == ["Echo"]


def test_the_platform_answers_dns_for_its_domain(tmp_path: Path) -> None:
    port = free_port()
    running = start_platform(tmp_path / "state", "--dns-port", str(port))
    try:
        for name in ("dev.example.test", "example.test", "www.example.test"):
            reply = dns.query.udp(
                dns.message.make_query(name, "A"), "127.0.0.1", port=port, timeout=5
            )
            assert [r.to_text() for r in reply.answer[0]] == ["127.0.0.1"], name
        unknown = dns.query.udp(
            dns.message.make_query("nope.example.test", "A"), "127.0.0.1", port=port, timeout=5
        )
        assert unknown.rcode() == dns.rcode.NXDOMAIN
    finally:
        assert running.stop() in (0, 130), running.output()


def test_overcast_invoke_runs_a_stage_alias_on_the_platform(
    overcast_platform: RunningPlatform, versioned_app: Path
) -> None:
    overcast_platform.deploy(versioned_app, "qa")
    done = overcast_platform.cli("invoke", "Echo", "--stage", "qa")
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(json.loads(done.stdout)["body"])["stage"] == "qa"
    assert "REPORT RequestId:" in done.stderr.decode()
    missing = overcast_platform.cli("invoke", "Echo", "--stage", "prod")
    assert missing.returncode == 1
    assert "ResourceNotFoundException" in missing.stderr.decode()


def test_a_stage_throttle_answers_429_beyond_its_burst_and_spares_other_stages(
    tmp_path: Path, versioned_app: Path
) -> None:
    running = start_platform(tmp_path / "state", "--stage-throttle", "dev=0.01:2")
    try:
        running.deploy(versioned_app, "dev")
        running.deploy(versioned_app, "prod")
        codes = [running.get("dev", "/whoami").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        refused = running.get("dev", "/whoami")
        assert refused.json() == {"message": "Too Many Requests"}
        assert [running.get("prod", "/whoami").status_code for _ in range(5)] == [200] * 5
    finally:
        assert running.stop() in (0, 130), running.output()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "InvalidRequestContentException"),
        (b'{"template": "a: [unclosed"}', 400, "InvalidTemplateException"),
        (b'{"template": "Resources: {}", "unknown": 1}', 400, "InvalidRequestContentException"),
        (b'{"template": "x", "code": {".": "nope"}}', 400, "InvalidParameterValueException"),
    ],
)
def test_bad_deploy_requests_get_aws_shaped_errors_and_change_nothing(
    overcast_platform: RunningPlatform, body: bytes, status: int, code: str
) -> None:
    client = overcast_platform.client()
    with pytest.raises(PlatformClientError) as refused:
        client.request("POST", "/overcast/stages/dev/deployments", body)
    assert (refused.value.status, refused.value.code) == (status, code)
    history = client.request("GET", "/overcast/stages/dev/deployments")
    assert history == {"Deployments": [], "Current": None, "CurrentByStack": {}}
    with pytest.raises(PlatformClientError) as unknown:
        client.request("POST", "/overcast/stages/staging/deployments", b"{}")
    assert unknown.value.status == 404
