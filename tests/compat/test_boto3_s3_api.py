"""boto3's real S3 client (REST-XML, path-style) against overcast's admin port."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(module_running_app):
    return module_running_app("hello")


def _client(app: Any, key_id: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=app.admin_url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 0},
            read_timeout=60,
            connect_timeout=5,
        ),
    )


@pytest.fixture(scope="module")
def s3(app) -> Any:
    creds = app.admin_credentials()
    return _client(app, creds.access_key_id, creds.secret_access_key)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = "b-" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    return name


def _role_client(app: Any, role: str) -> Any:
    done = app.cli("keys", "create", "--role", role, "--app", str(app.app_dir))
    assert done.returncode == 0, done.stderr
    values = dict(
        line.split(" = ", 1) for line in done.stdout.decode().splitlines() if " = " in line
    )
    return _client(app, values["aws_access_key_id"], values["aws_secret_access_key"])


def test_put_get_head_and_delete_an_object_with_metadata(s3: Any, bucket: str) -> None:
    body = b"hello, bucket"
    put = s3.put_object(
        Bucket=bucket,
        Key="dir/with space+plus.txt",
        Body=body,
        ContentType="text/plain",
        Metadata={"colour": "blue"},
    )
    md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
    assert put["ETag"] == f'"{md5}"'
    got = s3.get_object(Bucket=bucket, Key="dir/with space+plus.txt")
    assert got["Body"].read() == body
    assert got["ETag"] == f'"{md5}"'
    assert got["ContentType"] == "text/plain"
    assert got["ContentLength"] == len(body)
    assert got["Metadata"] == {"colour": "blue"}
    assert got["LastModified"].tzinfo is not None
    head = s3.head_object(Bucket=bucket, Key="dir/with space+plus.txt")
    assert head["ContentLength"] == len(body)
    assert head["Metadata"] == {"colour": "blue"}
    s3.delete_object(Bucket=bucket, Key="dir/with space+plus.txt")
    with pytest.raises(s3.exceptions.NoSuchKey) as info:
        s3.get_object(Bucket=bucket, Key="dir/with space+plus.txt")
    assert info.value.response["Error"]["Key"] == "dir/with space+plus.txt"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_range_read_answers_206_with_the_bytes_asked_for(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=2-4")
    assert got["Body"].read() == b"234"
    assert got["ContentRange"] == "bytes 2-4/10"
    tail = s3.get_object(Bucket=bucket, Key="r", Range="bytes=-3")
    assert tail["Body"].read() == b"789"
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=20-")
    assert info.value.response["Error"]["Code"] == "InvalidRange"


def test_a_wrong_content_md5_is_bad_digest_and_stores_nothing(s3: Any, bucket: str) -> None:
    wrong = base64.b64encode(hashlib.md5(b"other", usedforsecurity=False).digest()).decode()
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="k", Body=b"data", ContentMD5=wrong)
    assert info.value.response["Error"]["Code"] == "BadDigest"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_missing_bucket_and_key_are_modeled_exceptions(s3: Any, bucket: str) -> None:
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.get_object(Bucket="no-such-bucket-here", Key="k")
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.list_objects_v2(Bucket="no-such-bucket-here")
    with pytest.raises(ClientError) as info:
        s3.head_object(Bucket=bucket, Key="absent")
    assert info.value.response["Error"]["Code"] == "404"
    with pytest.raises(ClientError) as info:
        s3.head_bucket(Bucket="no-such-bucket-here")
    assert info.value.response["Error"]["Code"] == "404"


def test_list_with_prefix_delimiter_and_paginator(s3: Any, bucket: str) -> None:
    keys = [f"logs/2024/{i:02d}.txt" for i in range(7)] + ["logs/top.txt", "other/x", "z"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="logs/", Delimiter="/")
    assert [c["Key"] for c in listed["Contents"]] == ["logs/top.txt"]
    assert listed["CommonPrefixes"] == [{"Prefix": "logs/2024/"}]
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["logs/", "other/"]
    assert [c["Key"] for c in top["Contents"]] == ["z"]
    paginator = s3.get_paginator("list_objects_v2")
    pages = list(paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}))
    assert len(pages) == 4
    assert [c["Key"] for p in pages for c in p.get("Contents", [])] == sorted(keys)
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="logs/top.txt")
    assert [c["Key"] for c in after["Contents"]] == ["other/x", "z"]
    assert after["Contents"][0]["Size"] == len(b"other/x")


def test_copy_and_delete_objects(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"copied", Metadata={"a": "1"})
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == s3.head_object(Bucket=bucket, Key="src")["ETag"]
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"copied"
    assert got["Metadata"] == {"a": "1"}
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "src"}, {"Key": "dst"}, {"Key": "never"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["dst", "never", "src"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_buckets_are_created_listed_and_deleted_when_empty(s3: Any) -> None:
    name = "life-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=name)
    with pytest.raises(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as info:
        s3.delete_bucket(Bucket=name)
    assert info.value.response["Error"]["Code"] == "BucketNotEmpty"
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_a_wrong_secret_is_signature_does_not_match(app: Any, s3: Any, bucket: str) -> None:
    creds = app.admin_credentials()
    wrong = _client(app, creds.access_key_id, "x" * 40)
    with pytest.raises(ClientError) as info:
        wrong.list_objects_v2(Bucket=bucket)
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_an_unknown_key_is_invalid_access_key_id(app: Any, bucket: str) -> None:
    stranger = _client(app, "AKIAUNKNOWNUNKNOWN00", "x" * 40)
    with pytest.raises(ClientError) as info:
        stranger.get_object(Bucket=bucket, Key="k")
    assert info.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_a_viewer_reads_but_may_not_write(app: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    viewer = _role_client(app, "viewer")
    assert viewer.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    with pytest.raises(ClientError) as info:
        viewer.put_object(Bucket=bucket, Key="k", Body=b"y")
    assert info.value.response["Error"]["Code"] == "AccessDenied"


def test_presigned_urls_get_and_put_without_credentials(app: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="shared file.txt", Body=b"shared")
    creds = app.admin_credentials()
    v2_url = s3.generate_presigned_url(  # boto3 presigns with SigV2 unless told otherwise
        "get_object", Params={"Bucket": bucket, "Key": "shared file.txt"}, ExpiresIn=300
    )
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=app.admin_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "shared file.txt"}, ExpiresIn=300
    )
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "uploaded.bin"}, ExpiresIn=300
    )
    with httpx.Client(timeout=30) as client:
        got = client.get(get_url)
        assert got.status_code == 200, got.text
        assert got.content == b"shared"
        assert client.put(put_url, content=b"\x00\x01").status_code == 200
        refused = client.get(v2_url)
        assert refused.status_code == 400
        assert b"<Code>InvalidRequest</Code>" in refused.content
        tampered = client.get(get_url.replace("shared%20file.txt", "uploaded.bin"))
        assert tampered.status_code == 403
        assert b"<Code>SignatureDoesNotMatch</Code>" in tampered.content
    assert s3.get_object(Bucket=bucket, Key="uploaded.bin")["Body"].read() == b"\x00\x01"


def test_sdk_checksums_are_verified_on_put(s3: Any, bucket: str) -> None:
    for algorithm in ("CRC32", "SHA1", "SHA256"):
        s3.put_object(Bucket=bucket, Key=algorithm, Body=b"summed", ChecksumAlgorithm=algorithm)
        assert s3.get_object(Bucket=bucket, Key=algorithm)["Body"].read() == b"summed"
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"summed", ChecksumSHA256="A" * 44)
    assert info.value.response["Error"]["Code"] == "BadDigest"


def test_conditional_reads_and_writes(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"v1")["ETag"]
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert info.value.response["Error"]["Code"] == "304"
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert info.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="c", Body=b"v2", IfNoneMatch="*")
    assert info.value.response["Error"]["Code"] == "PreconditionFailed"
    s3.put_object(Bucket=bucket, Key="c", Body=b"v2", IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"v2"
    s3.put_object(Bucket=bucket, Key="new", Body=b"n", IfNoneMatch="*")


def test_upload_file_above_the_multipart_threshold_round_trips(
    s3: Any, bucket: str, tmp_path: Any
) -> None:
    source = tmp_path / "big.bin"
    data = bytes(range(256)) * (12 * 4096)  # 12 MiB: two parts at boto3's 8 MiB
    source.write_bytes(data)
    s3.upload_file(str(source), bucket, "big.bin", ExtraArgs={"ContentType": "x/y"})
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ContentType"] == "x/y"
    assert head["ETag"].endswith('-2"')
    target = tmp_path / "back.bin"
    s3.download_file(bucket, "big.bin", str(target))
    assert target.read_bytes() == data


def test_multipart_rules_and_abort(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    first = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"a")
    second = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=2, Body=b"b")
    parts = [
        {"PartNumber": 1, "ETag": first["ETag"]},
        {"PartNumber": 2, "ETag": second["ETag"]},
    ]
    with pytest.raises(ClientError) as info:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="m", UploadId=upload, MultipartUpload={"Parts": parts}
        )
    assert info.value.response["Error"]["Code"] == "EntityTooSmall"
    with pytest.raises(ClientError) as info:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="m", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": second["ETag"]}]},
        )  # fmt: skip
    assert info.value.response["Error"]["Code"] == "InvalidPart"
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=upload, MultipartUpload={"Parts": parts[1:]}
    )
    assert done["ETag"].endswith('-1"')
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"b"
    other = s3.create_multipart_upload(Bucket=bucket, Key="n")["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key="n", UploadId=other)
    with pytest.raises(s3.exceptions.NoSuchUpload):
        s3.upload_part(Bucket=bucket, Key="n", UploadId=other, PartNumber=1, Body=b"x")


def test_list_objects_version_1_and_the_resource_collections_that_use_it(
    app: Any, s3: Any, bucket: str
) -> None:
    keys = ["a/1", "a/2", "b", "c/1", "c/2", "d"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"v")
    top = s3.list_objects(Bucket=bucket, Delimiter="/")
    assert [c["Key"] for c in top["Contents"]] == ["b", "d"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "c/"]
    pages = list(
        s3.get_paginator("list_objects").paginate(
            Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}
        )
    )
    listed = [
        entry
        for page in pages
        for entry in [c["Key"] for c in page.get("Contents", [])]
        + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    ]
    assert listed == ["a/", "b", "c/", "d"]
    creds = app.admin_credentials()
    resource = boto3.resource(
        "s3",
        region_name="us-east-1",
        endpoint_url=app.admin_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        config=Config(s3={"addressing_style": "path"}),
    )
    objects = resource.Bucket(bucket).objects
    assert [o.key for o in objects.filter(Prefix="c/").page_size(1)] == ["c/1", "c/2"]
    objects.all().delete()
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
