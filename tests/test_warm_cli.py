"""``cdk-ecr-ptc warm``: the deploy-time warmer's code run with the caller's credentials (stubbed client)."""

import json

import botocore.session
import pytest
from botocore.stub import Stubber

from cdk_ecr_ptc import __main__ as cli_main
from cdk_ecr_ptc import warm_cli
from cdk_ecr_ptc.handlers.warm import ACCEPTED_MEDIA_TYPES, OCI_MANIFEST

ACCOUNT, REGION = "111122223333", "eu-west-1"
DIGEST = "sha256:" + "a" * 64
LAYER = "sha256:" + "b" * 64
RULES = {
    "pullThroughCacheRules": [
        {"ecrRepositoryPrefix": "docker-hub", "upstreamRegistryUrl": "registry-1.docker.io"},
        {"ecrRepositoryPrefix": "quay", "upstreamRegistryUrl": "quay.io"},
    ]
}


@pytest.fixture
def ecr(monkeypatch):
    client = botocore.session.get_session().create_client(
        "ecr", region_name=REGION, aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="secret"
    )
    monkeypatch.setattr(warm_cli, "_client", lambda region: client)
    with Stubber(client) as stub:
        stub.add_response("describe_pull_through_cache_rules", RULES, {"registryId": ACCOUNT})
        yield stub
        stub.assert_no_pending_responses()


def warmed(stub, repository, tag):
    stub.add_response(
        "batch_get_image",
        {
            "images": [
                {
                    "imageId": {"imageDigest": DIGEST, "imageTag": tag},
                    "imageManifestMediaType": OCI_MANIFEST,
                    "imageManifest": json.dumps({"mediaType": OCI_MANIFEST, "layers": [{"digest": LAYER}]}),
                }
            ]
        },
        {
            "registryId": ACCOUNT,
            "repositoryName": repository,
            "imageIds": [{"imageTag": tag}],
            "acceptedMediaTypes": list(ACCEPTED_MEDIA_TYPES),
        },
    )
    stub.add_response(
        "get_download_url_for_layer", {}, {"registryId": ACCOUNT, "repositoryName": repository, "layerDigest": LAYER}
    )
    stub.add_response(
        "describe_images",
        {"imageDetails": [{"imageStatus": "ACTIVE"}]},
        {"registryId": ACCOUNT, "repositoryName": repository, "imageIds": [{"imageTag": tag}]},
    )


def run(*images):
    return cli_main.main(["warm", "--region", REGION, "--account", ACCOUNT, "--concurrency", "1", *images])


def test_warms_and_prints_progress_and_a_summary(ecr, capsys):
    warmed(ecr, "docker-hub/library/nginx", "1.27")
    warmed(ecr, "quay/prometheus/prometheus", "v2.53.0")
    assert run("nginx:1.27", f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/quay/prometheus/prometheus:v2.53.0") == 0
    out = capsys.readouterr().out
    assert "docker-hub/library/nginx:1.27: pulling through rule docker-hub" in out
    assert f"docker-hub/library/nginx:1.27: cached {DIGEST} (one platform, 1 layers)" in out
    header, first, second, total = out.split("\n\n", 1)[1].strip().splitlines()
    assert header.split() == ["IMAGE", "RULE", "RESULT", "PLATFORMS", "LAYERS", "SECONDS", "DIGEST"]
    assert first.split() == ["docker-hub/library/nginx:1.27", "docker-hub", "cached", "-", "1", "0", DIGEST]
    assert second.split()[:3] == ["quay/prometheus/prometheus:v2.53.0", "quay", "cached"]
    assert total == "2 of 2 images cached."


def test_exits_1_with_the_reason_when_an_image_fails(ecr, capsys):
    ecr.add_response(
        "batch_get_image",
        {
            "images": [],
            "failures": [
                {
                    "imageId": {"imageTag": "1"},
                    "failureCode": "UpstreamAccessDenied",
                    "failureReason": "Upstream registry returned 401",
                }
            ],
        },
    )
    assert run("nginx:1") == 1
    out = capsys.readouterr().out
    assert "FAILED UpstreamAccessDenied" in out and "0 of 1 images cached." in out
    assert "- docker-hub/library/nginx:1 (rule docker-hub, from 'nginx:1'): UpstreamAccessDenied: " in out


def test_exits_2_on_a_reference_no_rule_serves(ecr, capsys):
    assert run("ghcr.io/org/app:1") == 2
    assert "no pull-through cache rule caches this image's registry" in capsys.readouterr().err


def test_exits_2_on_a_digest_only_reference(ecr, capsys):
    assert run("nginx@sha256:" + "a" * 64) == 2
    assert "warmed by tag" in capsys.readouterr().err


def test_exits_2_on_a_bad_account(capsys):
    assert cli_main.main(["warm", "--region", REGION, "--account", "123", "nginx:1"]) == 2
    assert "--account must be 12 digits" in capsys.readouterr().err


def test_needs_images(capsys):
    assert cli_main.main(["warm", "--region", REGION, "--account", ACCOUNT]) == 2
