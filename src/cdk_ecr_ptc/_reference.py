"""Which pull-through cache rule warms an image reference (no CDK import: the CLI uses it too).

References are parsed by :mod:`cdk_ecr_ptc.images`, and a rule's cache repository is
:func:`cdk_ecr_ptc.images.cache_repository`, as for ``image_uri``; this module adds what warming needs:
choosing the rule by the reference's registry host, and warming by tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .images import DOCKER_HUB, InvalidImageReference, cache_repository, canonical_host, parse

#: Longest repository name ECR accepts.
MAX_REPOSITORY_LENGTH = 256


@dataclass(frozen=True)
class RuleInfo:
    """What routing needs of a rule: its prefix (``ROOT`` for none), upstream host and upstream prefix."""

    prefix: str
    upstream_url: str
    upstream_repository_prefix: str | None = None


@dataclass(frozen=True)
class Route:
    """A reference routed through a rule: the cache repository and tag to warm."""

    rule: RuleInfo
    repository: str
    tag: str
    digest: str | None


def route(text: str, rules: Sequence[RuleInfo], *, upstream_of: RuleInfo | None = None) -> Route:
    """Finds the rule that serves ``text`` and the repository and tag to warm.

    Args:
        text: the reference.
        rules: the rules to choose from (a cache's).
        upstream_of: read a reference without a host as a path of this rule's upstream, not Docker Hub.

    Raises:
        InvalidImageReference: when Docker would reject the reference, it has only a digest, or no one rule
            caches its registry.
    """
    reference = parse(text, default_host=None)
    if reference.digest is not None and reference.tag is None:
        raise InvalidImageReference(
            "a first pull by digest is not cached (aws/containers-roadmap#2837), so an image is warmed by tag",
            text,
            "Name the tag, such as 'nginx:1.27' or 'nginx:1.27@sha256:...'.",
        )
    candidates = [upstream_of] if upstream_of is not None else list(rules)
    host = reference.host or (upstream_of.upstream_url if upstream_of is not None else DOCKER_HUB)
    matching = [rule for rule in candidates if canonical_host(rule.upstream_url) == canonical_host(host)]
    if not matching:
        known = sorted({rule.upstream_url for rule in candidates})
        raise InvalidImageReference(
            "no pull-through cache rule caches this image's registry",
            text,
            f"Warm images of {', '.join(known) or 'no registry'}, or add a rule for {host}.",
        )
    if len(matching) > 1:
        raise InvalidImageReference(
            f"several rules cache {host} ({', '.join(rule.prefix for rule in matching)})",
            text,
            "Warm through one of them: cache.rule(prefix).warm([...]).",
        )
    rule = matching[0]
    repository, _ = cache_repository(
        reference,
        prefix=rule.prefix,
        upstream_host=rule.upstream_url,
        upstream_repository_prefix=rule.upstream_repository_prefix,
    )
    if len(repository) > MAX_REPOSITORY_LENGTH:
        raise InvalidImageReference(
            f"the cache repository name is longer than {MAX_REPOSITORY_LENGTH} characters",
            repository,
            "Use a shorter prefix or image path.",
        )
    return Route(rule=rule, repository=repository, tag=reference.tag or "latest", digest=reference.digest)
