"""Container image references, parsed as Docker parses them, and their URIs through a pull-through cache.

Pure Python, with no CDK import: the constructs, the routing Aspect and the tests all read it.

The grammar is Docker's (``github.com/distribution/reference``)::

    reference := name [ ":" tag ] [ "@" digest ]
    name      := [ host [ ":" port ] "/" ] path-component [ "/" path-component ]*

A first path part is a registry host only when it contains ``.`` or ``:``, is ``localhost``, or has
upper-case letters (which a path cannot). ``docker.io``, ``index.docker.io`` and ``registry-1.docker.io``
are Docker Hub, and a single-part Docker Hub name gets ``library/``. Digests are ``sha256:`` and 64
lower-case hex digits, the one algorithm ECR stores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Docker Hub as a reference names it.
DOCKER_HUB = "docker.io"
#: Host names that mean Docker Hub: the reference's, the legacy index's and the registry API's.
DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
OFFICIAL_PREFIX = "library/"

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = re.compile(rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_ANY_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_HEX64 = re.compile(r"[a-fA-F0-9]{64}")
#: Docker's limit on the length of a name (host and path).
NAME_MAX_LENGTH = 255
#: A private ECR registry host: ``<account>.dkr.ecr[-fips].<region>.<suffix>``.
_ECR_HOST = re.compile(
    r"^[0-9]{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.(?:amazonaws\.com(?:\.cn)?|"
    r"sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$"
)


class InvalidImageReference(ValueError):
    """An image reference that Docker (or ECR) rejects: the problem, the value and the fix, so that the
    constructs can name their path in front (``[path] problem: got value. fix``)."""

    def __init__(self, problem: str, value: object, fix: str) -> None:
        super().__init__(f"{problem}: got {value!r}. {fix}")
        self.problem = problem
        self.value = value
        self.fix = fix


@dataclass(frozen=True)
class ImageReference:
    """A parsed image reference.

    Attributes:
        host: the registry host (with its port), ``docker.io`` for Docker Hub, or ``None`` when the
            reference names none and no default was asked for.
        repository: the repository path, with ``library/`` for Docker Hub official images.
        tag: the tag, if any.
        digest: the digest (``sha256:...``), if any.
    """

    host: str | None
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def docker_hub(self) -> bool:
        """Whether the image is on Docker Hub."""
        return self.host == DOCKER_HUB

    def __str__(self) -> str:
        name = self.repository if self.host is None else f"{self.host}/{self.repository}"
        return name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def canonical_host(host: str) -> str:
    """The host as references name it: Docker Hub's three names are ``docker.io``; others are lower-cased."""
    lowered = host.lower()
    return DOCKER_HUB if lowered in DOCKER_HUB_HOSTS else lowered


def is_ecr_host(host: str | None) -> bool:
    """Whether ``host`` is a private Amazon ECR registry (``<account>.dkr.ecr.<region>.amazonaws.com``)."""
    return host is not None and _ECR_HOST.match(host.lower()) is not None


def check_tag(tag: str) -> str:
    """Returns ``tag`` when Docker accepts it; raises :class:`InvalidImageReference` otherwise."""
    if not _TAG.fullmatch(tag):
        raise InvalidImageReference(
            "the image tag is not valid",
            tag,
            "Use up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'.",
        )
    return tag


def check_digest(digest: str) -> str:
    """Returns ``digest`` when it is ``sha256:`` and 64 lower-case hex digits; raises otherwise."""
    if _DIGEST.fullmatch(digest):
        return digest
    if _HEX64.fullmatch(digest):
        raise InvalidImageReference("the image digest has no algorithm", digest, f"Write it 'sha256:{digest.lower()}'.")
    if _ANY_DIGEST.fullmatch(digest) and not digest.startswith("sha256:"):
        raise InvalidImageReference(
            "ECR stores sha256 image digests only",
            digest,
            "Use the image's sha256 digest ('sha256:' and 64 hex digits).",
        )
    raise InvalidImageReference(
        "the image digest is not valid", digest, "Use 'sha256:' followed by 64 lower-case hex digits."
    )


def parse(reference: str, *, default_host: str | None = DOCKER_HUB) -> ImageReference:
    """Parses ``reference`` as Docker does (``docker pull`` normalization).

    Args:
        reference: an image reference, such as ``nginx:1.27``, ``quay.io/prometheus/prometheus@sha256:...``
            or ``localhost:5000/team/app``.
        default_host: the host of a reference that names none. Default: ``docker.io`` (Docker's);
            ``None`` keeps the host unknown, and then no ``library/`` is added.

    Raises:
        InvalidImageReference: when Docker would reject the reference, or it has upper case in its path.
    """
    if not isinstance(reference, str) or not reference:
        raise InvalidImageReference("the image reference is empty", reference, "Give a name such as 'nginx:1.27'.")
    rest, digest = reference, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        check_digest(digest)
    name, tag = rest, None
    last = rest.rfind(":")
    if last > rest.rfind("/"):  # a ':' after the last '/' starts the tag; before it, it is a port
        name, tag = rest[:last], rest[last + 1 :]
        if not tag:
            raise InvalidImageReference(
                "the image reference ends its name with ':' but has no tag", reference, "Remove the ':' or add a tag."
            )
        check_tag(tag)
    if not name:
        raise InvalidImageReference("the image reference has no name", reference, "Give a repository name.")
    if _HEX64.fullmatch(name):
        raise InvalidImageReference(
            "a repository name cannot be a 64-character hex string",
            reference,
            "Docker reads it as an image ID; give the repository name.",
        )
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidImageReference(
            f"the image name is longer than {NAME_MAX_LENGTH} characters", reference, "Shorten the repository path."
        )
    host, path = _split_host(name)
    if host is not None and not _HOST.fullmatch(host):
        raise InvalidImageReference(
            "the registry host is not valid",
            host,
            "Give a host name (with an optional ':port') or leave it out for Docker Hub.",
        )
    if path != path.lower():
        raise InvalidImageReference(
            "repository names must be lowercase",
            reference,
            f"Write {path.lower()!r}; Docker and ECR reject upper case.",
        )
    if not path or not all(_PATH_COMPONENT.fullmatch(part) for part in path.split("/")):
        raise InvalidImageReference(
            "the repository path is not valid",
            reference,
            "Use lowercase path parts of letters and digits joined by '.', '_', '__' or '-', separated by '/'.",
        )
    host = canonical_host(host) if host is not None else default_host
    if host == DOCKER_HUB and "/" not in path:
        path = OFFICIAL_PREFIX + path
    return ImageReference(host, path, tag, digest)


def _split_host(name: str) -> tuple[str | None, str]:
    """Splits a name's host off as Docker's ``splitDockerDomain`` does; ``None`` when it names none."""
    first, slash, rest = name.partition("/")
    if not slash:
        return None, name
    if "." in first or ":" in first or first == "localhost" or first != first.lower():
        return first, rest
    return None, name


def cache_uri(
    reference: str,
    *,
    registry_host: str,
    prefix: str,
    upstream_host: str | None,
    upstream_repository_prefix: str | None = None,
    docker_hub: bool = False,
    tag: str | None = None,
    digest: str | None = None,
) -> tuple[str, ImageReference]:
    """The URI that pulls ``reference`` of an upstream through the cache rule with ``prefix``.

    Args:
        reference: a repository path of the upstream (``nginx``, ``bitnami/redis:7``), or a full
            reference whose host is the upstream's (``docker.io/library/nginx:1.27``).
        registry_host: the cache registry's host, ``<account>.dkr.ecr.<region>.<suffix>``.
        prefix: the rule's prefix, or ``ROOT``.
        upstream_host: the rule's upstream registry host. ``None`` when unknown: then a reference that
            names a host is rejected.
        upstream_repository_prefix: the ECR upstream's repository prefix; a full reference must be under
            it, and it is removed. Default: - none.
        docker_hub: whether the upstream is Docker Hub (``library/`` for single-part names).
            Default: ``False``.
        tag: the tag, when the reference has none. Default: - none.
        digest: the digest, when the reference has none. Default: - none.

    Returns:
        the URI, and the reference as the upstream names it (with the tag or digest that the URI pulls).
    """
    parsed = parse(reference, default_host=None)
    if tag is not None and parsed.tag is not None:
        raise InvalidImageReference(
            "the tag is given twice, in the reference and as tag=", (reference, tag), "Give it once."
        )
    if digest is not None and parsed.digest is not None:
        raise InvalidImageReference(
            "the digest is given twice, in the reference and as digest=", (reference, digest), "Give it once."
        )
    tag, digest = parsed.tag or tag, parsed.digest or digest
    if tag is not None and digest is not None:
        raise InvalidImageReference(
            "image_uri takes a tag or a digest, not both",
            (tag, digest),
            "Pass only one: a pull by digest ignores the tag.",
        )
    if tag is not None:
        check_tag(tag)
    if digest is not None:
        check_digest(digest)
    path, repository = cache_repository(
        parsed,
        prefix=prefix,
        upstream_host=upstream_host,
        upstream_repository_prefix=upstream_repository_prefix,
        docker_hub=docker_hub,
    )
    uri = f"{registry_host}/{path}" + (f"@{digest}" if digest else f":{tag}" if tag else "")
    upstream = canonical_host(upstream_host) if upstream_host is not None else None
    return uri, ImageReference(upstream, repository, tag, digest)


def cache_repository(
    parsed: ImageReference,
    *,
    prefix: str,
    upstream_host: str | None,
    upstream_repository_prefix: str | None = None,
    docker_hub: bool = False,
) -> tuple[str, str]:
    """The cache repository that holds ``parsed`` through the rule with ``prefix``, and the repository as the
    upstream names it.

    Args:
        parsed: the reference, parsed with ``default_host=None``: a repository path of the upstream, or a full
            reference whose host is the upstream's.
        prefix: the rule's prefix, or ``ROOT``.
        upstream_host: the rule's upstream registry host. ``None`` when unknown: then a reference that
            names a host is rejected.
        upstream_repository_prefix: the ECR upstream's repository prefix; a full reference must be under
            it, and it is removed (a path without host is the part after it). Default: - none.
        docker_hub: whether the upstream is Docker Hub (``library/`` for single-part names).
            Default: ``False``.

    Raises:
        InvalidImageReference: when the reference is of another upstream, or not under its repository prefix.
    """
    repository = parsed.repository
    upstream = canonical_host(upstream_host) if upstream_host is not None else None
    if parsed.host is not None:
        if upstream is None:
            raise InvalidImageReference(
                "the reference names a registry host, and this rule's upstream is not known",
                str(parsed),
                "Give the repository path without its host.",
            )
        if parsed.host != upstream:
            raise InvalidImageReference(
                f"the reference is of another upstream than this rule's ({upstream})",
                parsed.host,
                "Use the rule of that upstream, or cache.image_uri(...), which picks the rule by host.",
            )
        if upstream_repository_prefix not in (None, "ROOT"):
            under = upstream_repository_prefix.rstrip("/") + "/"
            if not repository.startswith(under):
                raise InvalidImageReference(
                    "the repository is not under this rule's upstream repository prefix",
                    repository,
                    f"This rule caches {upstream}/{under}* only.",
                )
            repository = repository[len(under) :]
    if (docker_hub or upstream == DOCKER_HUB) and "/" not in repository:
        repository = OFFICIAL_PREFIX + repository
    return (repository if prefix == "ROOT" else f"{prefix.rstrip('/')}/{repository}"), repository
