"""Docker image references, and which pull-through cache rule serves one (no CDK import: the CLI uses it too).

A reference is ``[host[:port]/]path[:tag][@digest]`` as Docker reads it: the first component is a host
when it has a ``.`` or ``:`` or is ``localhost``; without a host the image is on Docker Hub, where a
one-component path is an official image (``library/<name>``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_HOST = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")
#: Hosts that name Docker Hub.
DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")
#: Longest repository name ECR accepts.
MAX_REPOSITORY_LENGTH = 256


class BadReference(Exception):
    """A reference that cannot be warmed: the problem, the value and the fix, for the library's error format."""

    def __init__(self, problem: str, value: object, fix: str) -> None:
        super().__init__(f"{problem}: got {value!r}. {fix}")
        self.problem, self.value, self.fix = problem, value, fix


@dataclass(frozen=True)
class Reference:
    """A parsed image reference."""

    host: str | None
    path: str
    tag: str | None
    digest: str | None


def parse(text: str) -> Reference:
    """Parses ``text``; raises :class:`BadReference` when Docker would not accept it."""
    rest, at, digest_text = text.partition("@")
    digest = digest_text if at else None
    host = None
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        host, rest = first, remainder
        if not _HOST.fullmatch(host):
            raise BadReference("the registry host of an image reference is not valid", text, "Fix the host name.")
    path, tag = rest, None
    if ":" in rest.rsplit("/", 1)[-1]:
        path, tag = rest.rsplit(":", 1)
    if not path or not all(_COMPONENT.fullmatch(part) for part in path.split("/")):
        raise BadReference("an image reference has an invalid repository path", text,
                           "Use lowercase path components such as 'bitnami/redis:7.4'.")
    if tag is not None and not _TAG.fullmatch(tag):
        raise BadReference("an image reference has an invalid tag", text,
                           "Use up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'.")
    if digest is not None and not _DIGEST.fullmatch(digest):
        raise BadReference("an image reference has an invalid digest", text, "Use '@sha256:<64 hex digits>'.")
    return Reference(host=host, path=path, tag=tag, digest=digest)


@dataclass(frozen=True)
class RuleInfo:
    """What routing needs of a rule: its prefix (``ROOT`` for none), upstream host and upstream prefix."""

    prefix: str
    upstream_url: str
    upstream_repository_prefix: str | None = None

    @property
    def docker_hub(self) -> bool:
        return self.upstream_url in DOCKER_HUB_HOSTS


@dataclass(frozen=True)
class Route:
    """A reference routed through a rule: the cache repository and tag to warm."""

    rule: RuleInfo
    repository: str
    tag: str
    digest: str | None


def repository_in(rule: RuleInfo, path: str) -> str:
    """The cache repository that holds the upstream repository ``path`` of ``rule``."""
    if rule.docker_hub and "/" not in path:
        path = f"library/{path}"
    upstream_prefix = (rule.upstream_repository_prefix or "").strip("/")
    if upstream_prefix and upstream_prefix != "ROOT":
        if not path.startswith(upstream_prefix + "/"):
            raise BadReference(f"the rule {rule.prefix} caches only upstream repositories under "
                               f"{upstream_prefix}/", path, "Name an image under that prefix.")
        path = path[len(upstream_prefix) + 1:]
    return path if rule.prefix == "ROOT" else f"{rule.prefix.rstrip('/')}/{path}"


def route(text: str, rules: Sequence[RuleInfo], *, upstream_of: RuleInfo | None = None) -> Route:
    """Finds the rule that serves ``text`` and the repository and tag to warm.

    Args:
        text: the reference.
        rules: the rules to choose from (a cache's).
        upstream_of: read a reference without a host as a path of this rule's upstream, not Docker Hub.
    """
    reference = parse(text)
    if reference.digest is not None and reference.tag is None:
        raise BadReference("a first pull by digest is not cached (aws/containers-roadmap#2837), so an image is "
                           "warmed by tag", text, "Name the tag, such as 'nginx:1.27' or 'nginx:1.27@sha256:...'.")
    if upstream_of is not None:
        host = reference.host or upstream_of.upstream_url
        matching = [upstream_of] if _same_host(host, upstream_of.upstream_url) else []
    else:
        host = reference.host or "docker.io"
        matching = [rule for rule in rules if _same_host(host, rule.upstream_url)]
    if not matching:
        known = sorted({rule.upstream_url for rule in ([upstream_of] if upstream_of else rules)})
        raise BadReference("no pull-through cache rule caches this image's registry", text,
                           f"Warm images of {', '.join(known) or 'no registry'}, or add a rule for {host}.")
    if len(matching) > 1:
        raise BadReference(f"several rules cache {host} ({', '.join(rule.prefix for rule in matching)})", text,
                           "Warm through one of them: cache.rule(prefix).warm([...]).")
    rule = matching[0]
    repository = repository_in(rule, reference.path)
    if len(repository) > MAX_REPOSITORY_LENGTH:
        raise BadReference(f"the cache repository name is longer than {MAX_REPOSITORY_LENGTH} characters",
                           repository, "Use a shorter prefix or image path.")
    return Route(rule=rule, repository=repository, tag=reference.tag or "latest", digest=reference.digest)


def _same_host(host: str, upstream_url: str) -> bool:
    if host in DOCKER_HUB_HOSTS:
        return upstream_url in DOCKER_HUB_HOSTS
    return host.lower() == upstream_url.lower()
