"""Warms a pull-through cache: pulls images through it with the ECR API, so the first real pull is fast.

Runs in Lambda behind ``custom_resources.Provider`` (the ``Custom::PullThroughCacheWarming`` resource) and
in ``cdk-ecr-ptc warm`` with the caller's credentials. It needs boto3 only. For each image it:

1. calls ``BatchGetImage`` by tag, accepting manifest lists and OCI indexes, which makes ECR pull the
   image through the rule and create the repository;
2. calls ``BatchGetImage`` for each platform's manifest of an index (every platform, or those given),
   and ``GetDownloadUrlForLayer`` for its config and each layer. Whether ECR copies layers on
   ``BatchGetImage`` alone is undocumented [UNVERIFIED], so every layer is asked for; the layers'
   bytes are not downloaded;
3. polls ``DescribeImages`` with backoff until the image is there, within a bounded time.

Upstream failures (``UpstreamAccessDenied``, ``UpstreamTooManyRequests`` and ``UpstreamUnavailable``
after bounded retries, a missing image, ``UnableToGetUpstreamImageException``) are reported with the
code, the reason, the image and the rule.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

LOG = logging.getLogger(__name__)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
#: Sent as ``acceptedMediaTypes``: without the two index types ECR answers with one platform's manifest.
ACCEPTED_MEDIA_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_MEDIA_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)

#: Per-image failure codes worth another try: the upstream's rate limit and its availability.
RETRIED_CODES = frozenset({"UpstreamTooManyRequests", "UpstreamUnavailable"})
#: What a user should do about each failure code.
HINTS = {
    "UpstreamAccessDenied": "ECR could not authenticate to the upstream: check the user name and token in the "
    "rule's ecr-pullthroughcache/ secret, and that they can read this image",
    "UpstreamTooManyRequests": "the upstream's rate limit was hit on every try: authenticate the rule, warm "
    "fewer images, or lower the concurrency",
    "UpstreamUnavailable": "the upstream did not answer on any try: retry the deploy later",
    "ImageNotFound": "the upstream has no image with this tag: check the repository path and the tag",
    "UnableToGetUpstreamImageException": "ECR could not get the image from the upstream: check the repository "
    "path, the tag and the rule's credentials",
    "RepositoryNotFoundException": "no pull-through cache rule created the repository: check that the rule "
    "exists and that the warmer may call ecr:CreateRepository",
    "NoMatchingPlatform": "the image has none of the requested platforms",
    "DigestMismatch": "the tag points to another digest than the reference names",
    "Timeout": "the image did not appear in time: raise the time per image or warm fewer images at once",
}


@dataclass(frozen=True)
class Image:
    """One image to warm: a repository of the cache, a tag, and where it came from (for messages)."""

    repository: str
    tag: str
    rule: str
    reference: str
    digest: str | None = None

    @staticmethod
    def from_properties(value: dict[str, str]) -> Image:
        """Reads an image from the custom resource's ``Images`` property."""
        return Image(
            repository=value["Repository"],
            tag=value["Tag"],
            rule=value["Rule"],
            reference=value.get("Reference", value["Repository"]),
            digest=value.get("Digest") or None,
        )

    def as_properties(self) -> dict[str, str]:
        """The image as an entry of the custom resource's ``Images`` property."""
        properties = {"Repository": self.repository, "Tag": self.tag, "Rule": self.rule, "Reference": self.reference}
        return properties | ({"Digest": self.digest} if self.digest else {})

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass
class Result:
    """What warming one image did."""

    image: Image
    digest: str | None = None
    platforms: list[str] = field(default_factory=list)
    layers: int = 0
    code: str | None = None
    reason: str | None = None
    attempts: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Tells whether the image is in the cache."""
        return self.code is None

    def describe(self) -> str:
        """One line for a failure: the image, the rule, the code, the reason and what to do."""
        hint = HINTS.get(self.code or "")
        return f"{self.image} (rule {self.image.rule}, from {self.image.reference!r}): {self.code}: {self.reason}" + (
            f". {hint}." if hint else ""
        )


@dataclass(frozen=True)
class Settings:
    """How to warm.

    Attributes:
        platforms: ``os/architecture[/variant]`` of an index's manifests to warm; empty for every platform.
        attempts: tries of ``BatchGetImage`` for the retried failure codes.
        retry_seconds: the first wait between tries; it doubles each time.
        poll_seconds: how long to poll ``DescribeImages`` for one image.
        concurrency: images warmed at once (each counts against the upstream's rate limit).
        budget_seconds: the time for the whole list; what is left is not started.
    """

    platforms: tuple[str, ...] = ()
    attempts: int = 4
    retry_seconds: float = 2.0
    poll_seconds: float = 150.0
    concurrency: int = 2
    budget_seconds: float = 600.0


class WarmFailure(Exception):
    """A failure of one image, with the service's code and reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class Clock:
    """Time and sleep, replaceable in tests."""

    def __init__(self, now: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.now = now
        self.sleep = sleep


def _error_code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _error_message(error: Exception) -> str:
    response = getattr(error, "response", None)
    message = response.get("Error", {}).get("Message") if isinstance(response, dict) else None
    return message or str(error)


def _platform(entry: dict[str, Any]) -> str:
    platform = entry.get("platform") or {}
    parts = [platform.get("os", "unknown"), platform.get("architecture", "unknown"), platform.get("variant")]
    return "/".join(part for part in parts if part)


def _matches(platform: str, wanted: Sequence[str]) -> bool:
    """``linux/arm64`` matches ``linux/arm64/v8``; an exact name matches itself."""
    return any(platform == want or platform.startswith(want + "/") for want in wanted)


class Warmer:
    """Warms images through one ECR client."""

    def __init__(
        self,
        client: Any,
        settings: Settings,
        *,
        clock: Clock | None = None,
        progress: Callable[[str], None] | None = None,
        registry_id: str | None = None,
    ) -> None:
        self._client = client
        self._registry = {"registryId": registry_id} if registry_id else {}
        self._settings = settings
        self._clock = clock or Clock()
        self._progress = progress or LOG.info
        self._lock = threading.Lock()

    def warm_all(self, images: Sequence[Image]) -> list[Result]:
        """Warms ``images``, at most ``concurrency`` at once, within the budget; returns one result each."""
        deadline = self._clock.now() + self._settings.budget_seconds
        workers = max(1, min(self._settings.concurrency, len(images)))
        if workers == 1:
            return [self.warm(image, deadline) for image in images]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda image: self.warm(image, deadline), images))

    def warm(self, image: Image, deadline: float) -> Result:
        """Warms one image; failures are returned in the result, not raised."""
        result = Result(image)
        start = self._clock.now()
        try:
            if start >= deadline:
                raise WarmFailure("Timeout", "the time for the list ran out before this image started")
            self._say(f"{image}: pulling through rule {image.rule}")
            manifest, media_type = self._get_manifest(image, result, {"imageTag": image.tag})
            if image.digest and result.digest != image.digest:
                raise WarmFailure("DigestMismatch", f"the tag is {result.digest}, the reference names {image.digest}")
            for child_manifest, platform in self._platform_manifests(image, result, manifest, media_type):
                result.platforms += [platform] if platform else []
                self._get_layers(image, result, child_manifest, deadline)
            self._wait_until_listed(image, deadline)
        except WarmFailure as failure:
            result.code, result.reason = failure.code, failure.reason
        except Exception as error:  # a network or SDK error: reported like the service's failures
            result.code, result.reason = type(error).__name__, str(error)
        result.seconds = round(self._clock.now() - start, 1)
        self._say(
            f"{image}: "
            + (
                f"cached {result.digest} ({', '.join(result.platforms) or 'one platform'}, {result.layers} layers)"
                if result.ok
                else f"FAILED {result.code}"
            )
        )
        return result

    def _say(self, message: str) -> None:
        with self._lock:
            self._progress(message)

    def _get_manifest(self, image: Image, result: Result, image_id: dict[str, str]) -> tuple[dict, str]:
        """``BatchGetImage`` of one image id, retried on the retried codes; returns the manifest and media type."""
        wait = self._settings.retry_seconds
        for attempt in range(1, self._settings.attempts + 1):
            result.attempts += 1
            try:
                response = self._client.batch_get_image(
                    **self._registry,
                    repositoryName=image.repository,
                    imageIds=[image_id],
                    acceptedMediaTypes=list(ACCEPTED_MEDIA_TYPES),
                )
            except Exception as error:  # botocore.exceptions.ClientError; botocore is not imported here
                code = _error_code(error)
                if code is None:
                    raise
                raise WarmFailure(code, _error_message(error)) from error
            images = response.get("images") or []
            if images:
                found = images[0]
                result.digest = result.digest or found.get("imageId", {}).get("imageDigest")
                media_type = found.get("imageManifestMediaType") or ""
                manifest = json.loads(found.get("imageManifest") or "{}")
                return manifest, media_type or manifest.get("mediaType", "")
            failures = response.get("failures") or []
            code = failures[0].get("failureCode", "ImageNotFound") if failures else "ImageNotFound"
            reason = failures[0].get("failureReason", "") if failures else "BatchGetImage returned no image"
            if code not in RETRIED_CODES or attempt == self._settings.attempts:
                tries = f" (after {attempt} tries)" if code in RETRIED_CODES else ""
                raise WarmFailure(code, f"{reason}{tries}")
            self._say(f"{image}: {code}, trying again in {wait:g} s")
            self._clock.sleep(wait)
            wait *= 2
        raise AssertionError("unreachable")  # the loop returns or raises

    def _platform_manifests(
        self, image: Image, result: Result, manifest: dict, media_type: str
    ) -> Iterator[tuple[dict, str]]:
        """The manifests to warm: the image's own, or the wanted platforms' of an index (attestations skipped)."""
        if media_type not in INDEX_MEDIA_TYPES:
            yield manifest, ""
            return
        entries = [entry for entry in manifest.get("manifests", []) if _platform(entry) != "unknown/unknown"]
        wanted = self._settings.platforms
        chosen = [entry for entry in entries if not wanted or _matches(_platform(entry), wanted)]
        if not chosen:
            raise WarmFailure(
                "NoMatchingPlatform",
                f"asked for {', '.join(wanted)}; the index has {', '.join(_platform(e) for e in entries) or 'none'}",
            )
        for entry in chosen:
            yield self._get_manifest(image, result, {"imageDigest": entry["digest"]})[0], _platform(entry)

    def _get_layers(self, image: Image, result: Result, manifest: dict, deadline: float) -> None:
        """``GetDownloadUrlForLayer`` for the config and each layer of one platform's manifest."""
        blobs = [manifest["config"]] if "config" in manifest else []
        for blob in blobs + list(manifest.get("layers", [])):
            if self._clock.now() >= deadline:
                raise WarmFailure("Timeout", f"the time for the list ran out after {result.layers} layers")
            try:
                self._client.get_download_url_for_layer(
                    **self._registry, repositoryName=image.repository, layerDigest=blob["digest"]
                )
            except Exception as error:
                code = _error_code(error)
                if code is None:
                    raise
                raise WarmFailure(code, f"layer {blob['digest']}: {_error_message(error)}") from error
            result.layers += 1

    def _wait_until_listed(self, image: Image, deadline: float) -> None:
        """Polls ``DescribeImages`` with backoff (1 s doubling to 16 s) until the tag is listed and active."""
        end = min(deadline, self._clock.now() + self._settings.poll_seconds)
        wait = 1.0
        while True:
            try:
                details = self._client.describe_images(
                    **self._registry, repositoryName=image.repository, imageIds=[{"imageTag": image.tag}]
                ).get("imageDetails", [])
                if details and details[0].get("imageStatus", "ACTIVE") == "ACTIVE":
                    return
            except Exception as error:
                if _error_code(error) not in ("ImageNotFoundException", "RepositoryNotFoundException"):
                    raise
            left = end - self._clock.now()
            if left <= 0:
                raise WarmFailure("Timeout", "DescribeImages did not list the image in the time given")
            self._clock.sleep(min(wait, left))
            wait = min(wait * 2, 16.0)


def physical_id(images: Sequence[Image], platforms: Sequence[str]) -> str:
    """The custom resource's physical ID: a digest of the list, so a new list is a new warming."""
    canonical = json.dumps(
        {"images": [image.as_properties() for image in images], "platforms": list(platforms)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return "warm-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def summary(results: Sequence[Result]) -> str:
    """The failures of ``results``, one per line, after a count; what CloudFormation shows as the reason."""
    failed = [result for result in results if not result.ok]
    lines = [f"cdk-ecr-ptc warm: {len(failed)} of {len(results)} images failed"]
    return "\n".join(lines + [f"- {result.describe()}" for result in failed])


def ecr_client(region: str | None = None) -> Any:
    """An ECR client with the SDK's standard retries (throttled API calls are retried there)."""
    import boto3  # in the Lambda runtime; the CLI checks for it first
    from botocore.config import Config  # type: ignore[import-untyped]

    return boto3.client(
        "ecr",
        region_name=region,
        config=Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=30),
    )


def settings_from(properties: dict[str, Any], remaining_seconds: float) -> Settings:
    """Reads the settings from the resource properties (CloudFormation sends every value as a string)."""
    budget = float(properties.get("BudgetSeconds", 600))
    return Settings(
        platforms=tuple(properties.get("Platforms") or ()),
        attempts=int(properties.get("Attempts", 4)),
        poll_seconds=float(properties.get("PollSeconds", 150)),
        concurrency=int(properties.get("Concurrency", 2)),
        budget_seconds=max(0.0, min(budget, remaining_seconds - 15)),
    )


def handler(event: dict[str, Any], context: Any, *, client: Any = None, clock: Clock | None = None) -> dict:
    """The Provider's ``onEvent`` handler: warms on Create and Update, does nothing on Delete.

    Raises on failure when ``FailOnError`` is ``true``, which fails the deploy with :func:`summary` as
    the reason; otherwise returns the failures as a warning in the response data and the log.
    """
    properties = event["ResourceProperties"]
    images = [Image.from_properties(value) for value in properties.get("Images", [])]
    platforms = list(properties.get("Platforms") or ())
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId") or physical_id(images, platforms)}
    remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else 900.0
    settings = settings_from(properties, remaining)
    results = Warmer(client or ecr_client(), settings, clock=clock, progress=print).warm_all(images)
    failed = [result for result in results if not result.ok]
    data = {
        "Warmed": str(len(results) - len(failed)),
        "Failed": str(len(failed)),
        "Digests": ",".join(f"{r.image}={r.digest}" for r in results if r.ok)[:2000],
        "Warning": "",
    }
    if failed:
        message = summary(results)
        if str(properties.get("FailOnError", "true")).lower() == "true":
            raise RuntimeError(message[:3500])  # a response body is limited to 4096 bytes
        print(f"WARNING {message}")
        data["Warning"] = message[:2000]
    return {"PhysicalResourceId": physical_id(images, platforms), "Data": data}
