"""Image URIs through a pull-through cache rule, with the library's errors and the first-pull warning.

The parsing is :mod:`cdk_ecr_ptc.images` (pure Python); this module adds what needs the construct: its
path in errors, tokens passed through, and the digest warning.
"""

from __future__ import annotations

from aws_cdk import Annotations
from constructs import IConstruct

from ._env import resolved
from ._validation import check_arguments, fail
from .images import InvalidImageReference, cache_uri
from .upstream import Upstream

#: Warning id of a digest-pinned URI (aws/containers-roadmap#2837).
DIGEST_WARNING = "cdk-ecr-ptc:digestNotCachedOnFirstPull"
DIGEST_MESSAGE = (
    "the first pull of an image by digest through a pull-through cache is not cached and fails "
    "(aws/containers-roadmap#2837); warm the cache by pulling the tag first, or pull by tag"
)


def rule_image_uri(
    rule: IConstruct,
    reference: str,
    *,
    registry_host: str,
    prefix: str,
    docker_hub: bool,
    upstream: Upstream | None,
    tag: str | None = None,
    digest: str | None = None,
) -> str:
    """The URI of ``reference`` through ``rule``: :func:`cdk_ecr_ptc.images.cache_uri` with the rule's path
    in errors, and a synth warning on ``rule`` for a digest-pinned URI.

    A reference that holds a token is passed through unparsed (appended to the rule's prefix); a tag or
    digest that holds one is appended to the parsed reference's URI unchecked.
    """
    check_arguments(rule, reference=(reference, str), tag=(tag, (str, None)), digest=(digest, (str, None)))
    if not resolved(reference):
        return _unparsed(rule, reference, registry_host=registry_host, prefix=prefix, tag=tag, digest=digest)
    late = any(value is not None and not resolved(value) for value in (tag, digest))  # a token: appended
    if late and tag is not None and digest is not None:
        raise fail(rule, "image_uri takes a tag or a digest, not both", (tag, digest), "Pass only one.")
    try:
        uri, pulled = cache_uri(
            reference,
            registry_host=registry_host,
            prefix=prefix,
            upstream_host=upstream.url if upstream is not None else None,
            upstream_repository_prefix=upstream.upstream_repository_prefix if upstream else None,
            docker_hub=docker_hub,
            tag=None if late else tag,
            digest=None if late else digest,
        )
    except InvalidImageReference as error:
        raise fail(rule, error.problem, error.value, error.fix) from None
    if late:
        if pulled.tag is not None or pulled.digest is not None:
            raise fail(
                rule, "the reference has a tag or digest, and tag= or digest= gives another", reference, "Give it once."
            )
        uri += f":{tag}" if tag is not None else f"@{digest}"
    if pulled.digest is not None or digest is not None:
        warn_digest(rule, uri)
    return uri


def warn_digest(scope: IConstruct, uri: str) -> None:
    """Warns on ``scope`` that the digest-pinned ``uri`` is not cached on its first pull."""
    Annotations.of(scope).add_warning_v2(DIGEST_WARNING, f"{uri}: {DIGEST_MESSAGE}.")


def _unparsed(
    rule: IConstruct, reference: str, *, registry_host: str, prefix: str, tag: str | None, digest: str | None
) -> str:
    if tag is not None and digest is not None:
        raise fail(rule, "image_uri takes a tag or a digest, not both", (tag, digest), "Pass only one.")
    path = reference if prefix == "ROOT" else f"{prefix.rstrip('/')}/{reference}"
    if digest is not None:
        warn_digest(rule, f"{registry_host}/{path}@{digest}")
    return f"{registry_host}/{path}" + (f"@{digest}" if digest else f":{tag}" if tag else "")
