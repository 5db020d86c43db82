"""The warming handler against botocore's Stubber (botocore 1.44.8's ECR model: BatchGetImage's
``acceptedMediaTypes`` and per-image ``failures`` codes, ``UnableToGetUpstreamImageException``,
GetDownloadUrlForLayer, DescribeImages' ``imageStatus``)."""

import json
import threading
import time

import botocore.session
import pytest
from botocore.stub import Stubber

from cdk_ecr_ptc.handlers import warm
from cdk_ecr_ptc.handlers.warm import ACCEPTED_MEDIA_TYPES, Clock, Image, Settings, Warmer

REPO = "docker-hub/library/nginx"
IMAGE = Image(repository=REPO, tag="1.27", rule="docker-hub", reference="nginx:1.27")
DIGEST = "sha256:" + "a" * 64
CONFIG = "sha256:" + "c" * 64
LAYERS = ["sha256:" + "1" * 64, "sha256:" + "2" * 64]


class FakeClock(Clock):
    """Time that moves only when the code sleeps (or a call advances it)."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []
        super().__init__(now=lambda: self.t, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def client():
    return botocore.session.get_session().create_client(
        "ecr", region_name="us-east-1", aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="secret"
    )


def manifest(config=CONFIG, layers=LAYERS) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": warm.OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 1},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": 1} for d in layers
            ],
        }
    )


def get_image(stub, *, image_id=None, body=None, media_type=warm.OCI_MANIFEST, digest=DIGEST):
    image_id = image_id or {"imageTag": "1.27"}
    stub.add_response(
        "batch_get_image",
        {
            "images": [
                {
                    "repositoryName": REPO,
                    "imageId": {"imageDigest": digest, **image_id},
                    "imageManifest": body or manifest(),
                    "imageManifestMediaType": media_type,
                }
            ],
            "failures": [],
        },
        {"repositoryName": REPO, "imageIds": [image_id], "acceptedMediaTypes": list(ACCEPTED_MEDIA_TYPES)},
    )


def failure(stub, code, reason):
    stub.add_response(
        "batch_get_image",
        {"images": [], "failures": [{"imageId": {"imageTag": "1.27"}, "failureCode": code, "failureReason": reason}]},
        {"repositoryName": REPO, "imageIds": [{"imageTag": "1.27"}], "acceptedMediaTypes": list(ACCEPTED_MEDIA_TYPES)},
    )


def layers(stub, digests=(CONFIG, *LAYERS)):
    for digest in digests:
        stub.add_response(
            "get_download_url_for_layer",
            {"downloadUrl": "https://example/x", "layerDigest": digest},
            {"repositoryName": REPO, "layerDigest": digest},
        )


def listed(stub, status="ACTIVE"):
    stub.add_response(
        "describe_images",
        {
            "imageDetails": [
                {"repositoryName": REPO, "imageDigest": DIGEST, "imageTags": ["1.27"], "imageStatus": status}
            ]
        },
        {"repositoryName": REPO, "imageIds": [{"imageTag": "1.27"}]},
    )


def not_listed(stub):
    stub.add_client_error(
        "describe_images",
        "ImageNotFoundException",
        "no image",
        400,
        expected_params={"repositoryName": REPO, "imageIds": [{"imageTag": "1.27"}]},
    )


ONE_AT_A_TIME = Settings(concurrency=1)


def run(stub_setup, settings=ONE_AT_A_TIME, images=(IMAGE,), clock=None):
    ecr = client()
    clock = clock or FakeClock()
    with Stubber(ecr) as stub:
        stub_setup(stub)
        results = Warmer(ecr, settings, clock=clock, progress=lambda _: None).warm_all(list(images))
        stub.assert_no_pending_responses()
    return results, clock


def test_warms_a_single_platform_image():
    def setup(stub):
        get_image(stub)
        layers(stub)
        not_listed(stub)
        listed(stub)

    (result,), clock = run(setup)
    assert result.ok and result.digest == DIGEST and result.layers == 3
    assert clock.sleeps == [1.0]


def test_waits_while_the_image_is_activating():
    def setup(stub):
        get_image(stub)
        layers(stub)
        listed(stub, status="ACTIVATING")
        not_listed(stub)
        listed(stub)

    (result,), clock = run(setup)
    assert result.ok and clock.sleeps == [1.0, 2.0]


def index(entries) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": warm.OCI_INDEX,
            "manifests": [
                {"mediaType": warm.OCI_MANIFEST, "digest": digest, "size": 1, "platform": platform}
                for digest, platform in entries
            ],
        }
    )


AMD64 = "sha256:" + "d" * 64
ARM64 = "sha256:" + "e" * 64
ATTESTATION = "sha256:" + "f" * 64
INDEX = index(
    [
        (AMD64, {"os": "linux", "architecture": "amd64"}),
        (ARM64, {"os": "linux", "architecture": "arm64", "variant": "v8"}),
        (ATTESTATION, {"os": "unknown", "architecture": "unknown"}),
    ]
)


def test_warms_every_platform_of_a_multi_architecture_index():
    def setup(stub):
        get_image(stub, body=INDEX, media_type=warm.OCI_INDEX)
        get_image(stub, image_id={"imageDigest": AMD64}, digest=AMD64)
        layers(stub)
        get_image(
            stub,
            image_id={"imageDigest": ARM64},
            digest=ARM64,
            body=manifest(config="sha256:" + "9" * 64, layers=["sha256:" + "8" * 64]),
        )
        layers(stub, ["sha256:" + "9" * 64, "sha256:" + "8" * 64])
        listed(stub)

    (result,), _ = run(setup)
    assert result.ok
    assert result.digest == DIGEST
    assert result.platforms == ["linux/amd64", "linux/arm64/v8"]  # the attestation manifest is skipped
    assert result.layers == 5


def test_warms_only_the_platforms_asked_for():
    def setup(stub):
        get_image(stub, body=INDEX, media_type=warm.DOCKER_MANIFEST_LIST)
        get_image(stub, image_id={"imageDigest": ARM64}, digest=ARM64)
        layers(stub)
        listed(stub)

    (result,), _ = run(setup, Settings(concurrency=1, platforms=("linux/arm64",)))
    assert result.ok and result.platforms == ["linux/arm64/v8"]


def test_fails_when_the_index_has_no_platform_asked_for():
    (result,), _ = run(
        lambda stub: get_image(stub, body=INDEX, media_type=warm.OCI_INDEX),
        Settings(concurrency=1, platforms=("windows/amd64",)),
    )
    assert result.code == "NoMatchingPlatform"
    assert "linux/amd64, linux/arm64/v8" in result.reason


@pytest.mark.parametrize("code", ["UpstreamAccessDenied", "UpstreamTooManyRequests", "UpstreamUnavailable"])
def test_fails_with_each_upstream_failure_code(code):
    attempts = 1 if code == "UpstreamAccessDenied" else 3

    def setup(stub):
        for _ in range(attempts):
            failure(stub, code, "upstream said no")

    (result,), clock = run(setup, Settings(concurrency=1, attempts=3))
    assert result.code == code and result.reason.startswith("upstream said no")
    assert result.attempts == attempts
    assert f"rule docker-hub, from 'nginx:1.27'): {code}" in result.describe()


def test_retries_throttling_with_backoff_then_succeeds():
    def setup(stub):
        failure(stub, "UpstreamTooManyRequests", "rate limited")
        failure(stub, "UpstreamTooManyRequests", "rate limited")
        get_image(stub)
        layers(stub)
        listed(stub)

    (result,), clock = run(setup, Settings(concurrency=1, attempts=4, retry_seconds=2))
    assert result.ok and result.attempts == 3
    assert clock.sleeps == [2, 4]


def test_fails_throttling_after_the_bounded_retries():
    def setup(stub):
        for _ in range(4):
            failure(stub, "UpstreamTooManyRequests", "You have reached your pull rate limit.")

    (result,), clock = run(setup, Settings(concurrency=1, attempts=4, retry_seconds=2))
    assert result.code == "UpstreamTooManyRequests"
    assert result.reason == "You have reached your pull rate limit. (after 4 tries)"
    assert clock.sleeps == [2, 4, 8]


def test_fails_on_a_missing_image():
    (result,), _ = run(lambda stub: failure(stub, "ImageNotFound", "Requested image not found"))
    assert result.code == "ImageNotFound"
    assert "no image with this tag" in result.describe()


def test_fails_when_the_upstream_image_cannot_be_got():
    def setup(stub):
        stub.add_client_error(
            "batch_get_image", "UnableToGetUpstreamImageException", "The upstream registry returned 404", 400
        )

    (result,), _ = run(setup)
    assert result.code == "UnableToGetUpstreamImageException"
    assert result.reason == "The upstream registry returned 404"


def test_fails_when_a_layer_cannot_be_got():
    def setup(stub):
        get_image(stub)
        stub.add_client_error("get_download_url_for_layer", "UnableToGetUpstreamLayerException", "gone", 400)

    (result,), _ = run(setup)
    assert result.code == "UnableToGetUpstreamLayerException" and CONFIG in result.reason


class Unreachable:
    def batch_get_image(self, **kwargs):
        raise ConnectionError("Could not connect to the endpoint URL")


def test_an_sdk_error_is_reported_as_a_failure_of_the_image():
    (result,) = Warmer(Unreachable(), ONE_AT_A_TIME, progress=lambda _: None).warm_all([IMAGE])
    assert (result.code, result.reason) == ("ConnectionError", "Could not connect to the endpoint URL")


def test_fails_when_the_tag_has_another_digest():
    other = Image(repository=REPO, tag="1.27", rule="docker-hub", reference="x", digest="sha256:" + "0" * 64)
    (result,), _ = run(get_image, images=(other,))
    assert result.code == "DigestMismatch"


def test_polling_stops_at_the_time_per_image():
    def setup(stub):
        get_image(stub)
        layers(stub)
        for _ in range(6):
            not_listed(stub)

    (result,), clock = run(setup, Settings(concurrency=1, poll_seconds=20))
    assert result.code == "Timeout"
    assert clock.sleeps == [1, 2, 4, 8, 5]  # backoff, the last wait cut to the 20 s given


def test_images_after_the_budget_are_not_started():
    second = Image(repository="quay/prometheus/prometheus", tag="v2", rule="quay", reference="quay.io/p/p:v2")

    def setup(stub):
        get_image(stub)
        layers(stub)
        for _ in range(5):
            not_listed(stub)

    results, clock = run(setup, Settings(concurrency=1, poll_seconds=150, budget_seconds=10), images=(IMAGE, second))
    assert [r.code for r in results] == ["Timeout", "Timeout"]
    assert "ran out before this image started" in results[1].reason
    assert sum(clock.sleeps) == 10


class CountingClient:
    """A client that records how many images are being fetched at once."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()

    def batch_get_image(self, **kwargs):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.02)
        with self.lock:
            self.active -= 1
        return {
            "images": [
                {
                    "imageId": {"imageDigest": DIGEST},
                    "imageManifest": manifest(layers=[]),
                    "imageManifestMediaType": warm.OCI_MANIFEST,
                }
            ]
        }

    def get_download_url_for_layer(self, **kwargs):
        return {}

    def describe_images(self, **kwargs):
        return {"imageDetails": [{"imageStatus": "ACTIVE"}]}


def test_concurrency_is_bounded():
    images = [Image(repository=f"quay/i{n}", tag="1", rule="quay", reference=f"quay.io/i{n}:1") for n in range(8)]
    counting = CountingClient()
    results = Warmer(counting, Settings(concurrency=3), progress=lambda _: None).warm_all(images)
    assert all(r.ok for r in results) and [r.image for r in results] == images
    assert 1 < counting.peak <= 3


def event(request_type, **properties):
    return {
        "RequestType": request_type,
        "ResourceProperties": {
            "ServiceToken": "arn",
            "Images": [IMAGE.as_properties()],
            "Concurrency": "1",
            "Attempts": "1",
            **properties,
        },
        "PhysicalResourceId": "warm-old",
    }


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def test_create_event_returns_the_digest_of_the_list_as_physical_id():
    ecr = client()
    with Stubber(ecr) as stub:
        get_image(stub)
        layers(stub)
        listed(stub)
        response = warm.handler(event("Create"), Context(), client=ecr, clock=FakeClock())
    assert response["PhysicalResourceId"] == warm.physical_id([IMAGE], [])
    assert response["Data"] == {"Warmed": "1", "Failed": "0", "Digests": f"{IMAGE}={DIGEST}", "Warning": ""}


def test_update_event_warms_the_new_list_under_a_new_physical_id():
    other = Image(repository=REPO, tag="1.28", rule="docker-hub", reference="nginx:1.28")
    ecr = client()
    with Stubber(ecr) as stub:
        stub.add_response(
            "batch_get_image",
            {
                "images": [
                    {
                        "imageId": {"imageDigest": DIGEST, "imageTag": "1.28"},
                        "imageManifest": manifest(layers=[]),
                        "imageManifestMediaType": warm.OCI_MANIFEST,
                    }
                ]
            },
            {
                "repositoryName": REPO,
                "imageIds": [{"imageTag": "1.28"}],
                "acceptedMediaTypes": list(ACCEPTED_MEDIA_TYPES),
            },
        )
        layers(stub, [CONFIG])
        stub.add_response(
            "describe_images",
            {"imageDetails": [{"imageStatus": "ACTIVE"}]},
            {"repositoryName": REPO, "imageIds": [{"imageTag": "1.28"}]},
        )
        response = warm.handler(
            event("Update", Images=[other.as_properties()]), Context(), client=ecr, clock=FakeClock()
        )
    assert response["PhysicalResourceId"] == warm.physical_id([other], [])
    assert response["PhysicalResourceId"] != warm.physical_id([IMAGE], [])


def test_delete_event_calls_nothing_and_keeps_the_physical_id():
    ecr = client()
    with Stubber(ecr) as stub:  # no responses queued: any call would fail
        response = warm.handler(event("Delete"), Context(), client=ecr)
        stub.assert_no_pending_responses()
    assert response == {"PhysicalResourceId": "warm-old"}


def test_failure_fails_the_resource_with_code_reason_image_and_rule():
    ecr = client()
    with Stubber(ecr) as stub:
        failure(stub, "UpstreamAccessDenied", "Upstream registry returned 401 Unauthorized")
        with pytest.raises(RuntimeError) as raised:
            warm.handler(event("Create"), Context(), client=ecr, clock=FakeClock())
    assert str(raised.value) == (
        "cdk-ecr-ptc warm: 1 of 1 images failed\n"
        "- docker-hub/library/nginx:1.27 (rule docker-hub, from 'nginx:1.27'): UpstreamAccessDenied: "
        "Upstream registry returned 401 Unauthorized. ECR could not authenticate to the upstream: check the user "
        "name and token in the rule's ecr-pullthroughcache/ secret, and that they can read this image."
    )


def test_fail_on_error_false_turns_a_failure_into_a_warning(capsys):
    ecr = client()
    with Stubber(ecr) as stub:
        failure(stub, "UpstreamAccessDenied", "401")
        response = warm.handler(event("Create", FailOnError="false"), Context(), client=ecr, clock=FakeClock())
    assert response["Data"]["Failed"] == "1"
    assert "UpstreamAccessDenied: 401" in response["Data"]["Warning"]
    assert "WARNING cdk-ecr-ptc warm: 1 of 1 images failed" in capsys.readouterr().out


def test_the_budget_never_passes_the_lambda_time_left():
    settings = warm.settings_from({"BudgetSeconds": "600"}, remaining_seconds=100)
    assert settings.budget_seconds == 85
