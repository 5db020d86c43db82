"""What an importer needs to know of a cache's rules, per prefix, and its JSON form.

``cache.attributes()`` renders it; ``PullThroughCache.from_cache_attributes(scope, id,
**json.loads(text))`` reads it back, so a cache in another account is described once, not retyped.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from constructs import IConstruct

from ._validation import check_arguments, check_choice, fail, fail_unscoped
from .upstream import Upstream, UpstreamRegistry

#: The URL of each upstream registry with a fixed host (ECR and Azure name theirs).
FIXED_URLS = {
    UpstreamRegistry.DOCKER_HUB: "registry-1.docker.io",
    UpstreamRegistry.ECR_PUBLIC: "public.ecr.aws",
    UpstreamRegistry.QUAY: "quay.io",
    UpstreamRegistry.KUBERNETES: "registry.k8s.io",
    UpstreamRegistry.GITHUB: "ghcr.io",
    UpstreamRegistry.GITLAB: "registry.gitlab.com",
    UpstreamRegistry.CHAINGUARD: "cgr.dev",
}
#: The prefix the Docker Hub factory uses by default: recognized as Docker Hub in the deprecated list form.
DOCKER_HUB_DEFAULT_PREFIX = "docker-hub"


@dataclass(frozen=True)
class RuleAttributes:
    """One rule of a cache defined elsewhere, as its importers see it.

    Attributes:
        registry: the rule's upstream registry type. Default: - not known (only the deprecated list form
            of ``prefixes`` leaves it out): image URIs then take repository paths, not full references.
        url: the upstream registry's host. Default: - the registry's fixed host (required for ECR and
            Azure upstreams to accept full references such as ``<host>/<repository>``).
        upstream_repository_prefix: the ECR upstream's repository prefix. Default: - none.
        tags_repositories: whether the creation template that covers the rule tags the repositories it
            creates, so that pullers also need ``ecr:TagResource``. Default: ``False``.
    """

    registry: UpstreamRegistry | None = None
    url: str | None = None
    upstream_repository_prefix: str | None = None
    tags_repositories: bool = False

    def __post_init__(self) -> None:
        if self.registry is not None:  # a member, or its value (as the JSON form has it)
            object.__setattr__(
                self, "registry", check_choice("RuleAttributes", "registry", self.registry, UpstreamRegistry)
            )
        check_arguments(
            "RuleAttributes",
            url=(self.url, (str, None)),
            upstream_repository_prefix=(self.upstream_repository_prefix, (str, None)),
            tags_repositories=(self.tags_repositories, bool),
        )

    @property
    def docker_hub(self) -> bool:
        """Whether the upstream is Docker Hub (official images get ``library/``)."""
        return self.registry is UpstreamRegistry.DOCKER_HUB

    def upstream(self, prefix: str) -> Upstream | None:
        """The rule's upstream under ``prefix``, when its host is known."""
        check_arguments("RuleAttributes.upstream", prefix=(prefix, str))
        url = self.url or (FIXED_URLS.get(self.registry) if self.registry is not None else None)
        if self.registry is None or url is None:
            return None
        return Upstream.of(
            self.registry, url=url, prefix=prefix, upstream_repository_prefix=self.upstream_repository_prefix
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form (camelCase keys, defaults left out)."""
        rendered: dict[str, Any] = {} if self.registry is None else {"registry": self.registry.value}
        if self.url is not None and (self.registry is None or self.url != FIXED_URLS.get(self.registry)):
            rendered["url"] = self.url
        if self.upstream_repository_prefix is not None:
            rendered["upstreamRepositoryPrefix"] = self.upstream_repository_prefix
        if self.tags_repositories:
            rendered["tagsRepositories"] = True
        return rendered

    @staticmethod
    def from_json(value: Mapping[str, Any]) -> RuleAttributes:
        """Reads the JSON form of :meth:`to_json`.

        Args:
            value: the rule's JSON object.
        """
        check_arguments("RuleAttributes.from_json", value=(value, Mapping))
        unknown = sorted(set(value) - {"registry", "url", "upstreamRepositoryPrefix", "tagsRepositories"})
        if unknown:
            raise fail_unscoped(
                "RuleAttributes.from_json",
                "unknown rule attributes",
                unknown,
                "Use registry, url, upstreamRepositoryPrefix and tagsRepositories.",
            )
        return RuleAttributes(
            registry=value.get("registry"),
            url=value.get("url"),
            upstream_repository_prefix=value.get("upstreamRepositoryPrefix"),
            tags_repositories=value.get("tagsRepositories", False),
        )


#: What ``prefixes=`` of ``from_cache_attributes`` takes per prefix.
RuleDescription = RuleAttributes | UpstreamRegistry | Mapping[str, Any]


def rule_attributes(
    scope: IConstruct,
    prefixes: Mapping[str, RuleDescription] | Sequence[str],
    docker_hub_prefixes: Sequence[str] = (),
    tagged_prefixes: Sequence[str] = (),
) -> dict[str, RuleAttributes]:
    """The attributes of each prefix, from per-prefix descriptions or from the deprecated parallel lists.

    In the list form, a prefix named in ``docker_hub_prefixes`` (or, when that is empty, the Docker Hub
    factory's default prefix ``docker-hub``) is Docker Hub; the registry of the others is not known.
    """
    if isinstance(prefixes, Mapping):
        if docker_hub_prefixes or tagged_prefixes:
            raise fail(
                scope,
                "docker_hub_prefixes and tagged_prefixes are for the deprecated list form of prefixes",
                sorted([*docker_hub_prefixes, *tagged_prefixes]),
                "Say it per prefix: prefixes={'docker-hub': RuleAttributes(UpstreamRegistry.DOCKER_HUB, "
                "tags_repositories=True)}.",
            )
        return {prefix: _attributes(scope, prefix, value) for prefix, value in prefixes.items()}
    if isinstance(prefixes, str):
        raise fail(
            scope,
            "prefixes must be a mapping of prefix to rule attributes",
            prefixes,
            "Pass prefixes={'quay': UpstreamRegistry.QUAY, ...}.",
        )
    warnings.warn(
        "from_cache_attributes(prefixes=[...], docker_hub_prefixes=..., tagged_prefixes=...) is "
        "deprecated: pass prefixes={prefix: RuleAttributes(...) or UpstreamRegistry.X}, or "
        "**json.loads(cache.attributes())",
        DeprecationWarning,
        stacklevel=5,
    )
    for name, subset in (("docker_hub_prefixes", docker_hub_prefixes), ("tagged_prefixes", tagged_prefixes)):
        unknown = sorted(set(subset) - set(prefixes))
        if unknown:
            raise fail(scope, f"{name} must be among prefixes", unknown, "Add them to prefixes.")
    hub = set(docker_hub_prefixes) or ({DOCKER_HUB_DEFAULT_PREFIX} & set(prefixes))
    return {
        prefix: RuleAttributes(
            registry=UpstreamRegistry.DOCKER_HUB if prefix in hub else None, tags_repositories=prefix in tagged_prefixes
        )
        for prefix in prefixes
    }


def _attributes(scope: IConstruct, prefix: str, value: object) -> RuleAttributes:
    if isinstance(value, RuleAttributes):
        return value
    if isinstance(value, UpstreamRegistry):
        return RuleAttributes(registry=value)
    if isinstance(value, Mapping):
        try:
            return RuleAttributes.from_json(value)
        except (KeyError, ValueError) as error:
            raise fail(scope, f"the attributes of prefix {prefix!r} are not valid", dict(value), str(error)) from None
    raise fail(
        scope,
        f"the attributes of prefix {prefix!r} are not valid",
        value,
        "Pass RuleAttributes(...), an UpstreamRegistry, or the JSON form of cache.attributes().",
    )


def cache_attributes(account: str, region: str, rules: Mapping[str, RuleAttributes]) -> dict[str, Any]:
    """The keyword arguments of ``from_cache_attributes`` for a cache, in JSON form."""
    return {
        "account": account,
        "region": region,
        "prefixes": {prefix: attributes.to_json() for prefix, attributes in rules.items()},
    }
