"""The upstream registries a pull-through cache rule can cache from."""

from __future__ import annotations

import functools
import re
from enum import Enum

from aws_cdk import aws_iam as iam
from aws_cdk.region_info import RegionInfo
from constructs import Construct, IConstruct

from ._env import facts, partition_of, resolved, same, url_suffix_of
from ._validation import (
    ROOT,
    check_account,
    check_arguments,
    check_choice,
    check_interface,
    check_passed_role,
    check_prefix,
    check_type,
    fail,
)
from .credentials import UpstreamCredentials
from .roles import PULL_THROUGH_CACHE_SERVICE


class UpstreamRegistry(str, Enum):
    """The ``UpstreamRegistry`` values of ``AWS::ECR::PullThroughCacheRule``."""

    AZURE = "azure-container-registry"
    CHAINGUARD = "chainguard"
    DOCKER_HUB = "docker-hub"
    ECR = "ecr"
    ECR_PUBLIC = "ecr-public"
    GITHUB = "github-container-registry"
    GITLAB = "gitlab-container-registry"
    KUBERNETES = "k8s"
    QUAY = "quay"


#: Upstreams that AWS documents as requiring a Secrets Manager secret.
NEEDS_CREDENTIALS = frozenset(
    {
        UpstreamRegistry.AZURE,
        UpstreamRegistry.CHAINGUARD,
        UpstreamRegistry.DOCKER_HUB,
        UpstreamRegistry.GITHUB,
        UpstreamRegistry.GITLAB,
    }
)
#: The one registry host ECR accepts for each upstream with a fixed host (AWS documents each).
HOSTS = {
    UpstreamRegistry.CHAINGUARD: "cgr.dev",
    UpstreamRegistry.DOCKER_HUB: "registry-1.docker.io",
    UpstreamRegistry.ECR_PUBLIC: "public.ecr.aws",
    UpstreamRegistry.GITHUB: "ghcr.io",
    UpstreamRegistry.GITLAB: "registry.gitlab.com",
    UpstreamRegistry.KUBERNETES: "registry.k8s.io",
    UpstreamRegistry.QUAY: "quay.io",
}
_AZURE_NAME = re.compile(r"^[a-z0-9]{5,50}$")
_AZURE_HOST = ".azurecr.io"
_ECR_HOST = re.compile(r"^(?P<account>[^.]+)\.dkr\.ecr\.(?P<region>[^.]+)\.(?P<suffix>.+)$")
#: Passed by the factories, so that ``Upstream(...)`` cannot be called directly.
_FACTORY = object()


@functools.cache
def known_regions() -> frozenset[str]:
    """Every Region name of every partition that aws-cdk-lib's ``RegionInfo`` knows."""
    return frozenset(region.name for region in RegionInfo.regions)


class Upstream:
    """An upstream registry, as one pull-through cache rule caches it.

    Build one with a factory (``Upstream.docker_hub(...)``, or ``Upstream.of(...)``); each factory
    sets the registry URL and a default repository prefix that ``prefix=`` overrides. Inputs are
    checked when the upstream is attached to a rule, so that errors name the rule's construct path.
    """

    def __init__(
        self,
        factory: object = None,
        *,
        registry: UpstreamRegistry,
        url: str,
        prefix: str,
        credentials: UpstreamCredentials | None = None,
        role: iam.IRole | None = None,
        upstream_repository_prefix: str | None = None,
        account: str | None = None,
        region: str | None = None,
        validate_after_deploy: bool = False,
    ) -> None:
        if factory is not _FACTORY:
            raise TypeError(
                "[Upstream] the constructor is not public: got Upstream(...). Use a factory such as "
                "Upstream.docker_hub(...), Upstream.ecr(...) or Upstream.of(...)."
            )
        self._registry = check_choice("Upstream", "registry", registry, UpstreamRegistry)
        self._url = url
        self._prefix = prefix
        self._credentials = credentials
        self._role = role
        self._upstream_repository_prefix = upstream_repository_prefix
        self._account = account
        self._region = region
        self._validate_after_deploy = validate_after_deploy

    @staticmethod
    def of(
        registry: UpstreamRegistry,
        *,
        url: str,
        prefix: str,
        credentials: UpstreamCredentials | None = None,
        role: iam.IRole | None = None,
        upstream_repository_prefix: str | None = None,
        validate_after_deploy: bool = False,
    ) -> Upstream:
        """Describes any upstream explicitly; prefer the named factories.

        The URL is checked as the named factory would build it: ``registry-1.docker.io`` for
        ``docker-hub``, ``registry.gitlab.com`` only for ``gitlab-container-registry`` (GitLab.com;
        AWS does not support self-managed GitLab), ``<name>.azurecr.io`` for Azure, and
        ``<account>.dkr.ecr.<region>.<suffix>`` for ``ecr``, whose account and Region are read from it.
        The URL is a host name, without ``https://``.

        Args:
            registry: the upstream registry type.
            url: the upstream registry URL (host name).
            prefix: the cache's repository prefix.
            credentials: the upstream credentials. Default: - none (required by authenticated upstreams).
            role: the ECR-to-ECR custom role (``ecr`` only). Default: - none.
            upstream_repository_prefix: only upstream repositories under this prefix are cached.
                Default: - ``ROOT``, every repository.
            validate_after_deploy: check the credentials with ``ecr:ValidatePullThroughCacheRule`` after
                each change, failing the deploy when they do not work (adds a Lambda). Default: ``False``.
        """
        registry = check_choice("Upstream.of", "registry", registry, UpstreamRegistry)
        account = region = None
        match = _ECR_HOST.fullmatch(url) if registry is UpstreamRegistry.ECR and isinstance(url, str) else None
        if match is not None and resolved(url):
            account, region = match["account"], match["region"]
        return Upstream(
            _FACTORY,
            registry=registry,
            url=url,
            prefix=prefix,
            credentials=credentials,
            role=role,
            upstream_repository_prefix=upstream_repository_prefix,
            account=account,
            region=region,
            validate_after_deploy=validate_after_deploy,
        )

    @staticmethod
    def ecr_public(*, prefix: str = "ecr-public") -> Upstream:
        """Amazon ECR Public (``public.ecr.aws``); no authentication.

        Args:
            prefix: the cache's repository prefix. Default: ``ecr-public``.
        """
        return Upstream._fixed(UpstreamRegistry.ECR_PUBLIC, prefix)

    @staticmethod
    def kubernetes(*, prefix: str = "kubernetes") -> Upstream:
        """The Kubernetes registry (``registry.k8s.io``); no authentication.

        Args:
            prefix: the cache's repository prefix. Default: ``kubernetes``.
        """
        return Upstream._fixed(UpstreamRegistry.KUBERNETES, prefix)

    @staticmethod
    def quay(*, prefix: str = "quay") -> Upstream:
        """Quay (``quay.io``); no authentication.

        Args:
            prefix: the cache's repository prefix. Default: ``quay``.
        """
        return Upstream._fixed(UpstreamRegistry.QUAY, prefix)

    @staticmethod
    def docker_hub(
        *, credentials: UpstreamCredentials, prefix: str = "docker-hub", validate_after_deploy: bool = False
    ) -> Upstream:
        """Docker Hub (``registry-1.docker.io``); a secret is required.

        Official images are cached as ``<prefix>/library/<image>``.

        Args:
            credentials: the Docker Hub user name and access token.
            prefix: the cache's repository prefix. Default: ``docker-hub``.
            validate_after_deploy: check the credentials with ``ecr:ValidatePullThroughCacheRule`` after
                each change, failing the deploy when they do not work (adds a Lambda). Default: ``False``.
        """
        return Upstream._fixed(UpstreamRegistry.DOCKER_HUB, prefix, credentials, validate_after_deploy)

    @staticmethod
    def github(
        *, credentials: UpstreamCredentials, prefix: str = "github", validate_after_deploy: bool = False
    ) -> Upstream:
        """GitHub Container Registry (``ghcr.io``); a secret is required.

        Args:
            credentials: the GitHub user name and personal access token.
            prefix: the cache's repository prefix. Default: ``github``.
            validate_after_deploy: check the credentials with ``ecr:ValidatePullThroughCacheRule`` after
                each change, failing the deploy when they do not work (adds a Lambda). Default: ``False``.
        """
        return Upstream._fixed(UpstreamRegistry.GITHUB, prefix, credentials, validate_after_deploy)

    @staticmethod
    def gitlab(
        *, credentials: UpstreamCredentials, prefix: str = "gitlab", validate_after_deploy: bool = False
    ) -> Upstream:
        """GitLab Container Registry (``registry.gitlab.com``, GitLab.com only); a secret is required.

        Args:
            credentials: the GitLab user name and access token.
            prefix: the cache's repository prefix. Default: ``gitlab``.
            validate_after_deploy: check the credentials with ``ecr:ValidatePullThroughCacheRule`` after
                each change, failing the deploy when they do not work (adds a Lambda). Default: ``False``.
        """
        return Upstream._fixed(UpstreamRegistry.GITLAB, prefix, credentials, validate_after_deploy)

    @staticmethod
    def azure(
        *,
        registry_name: str,
        credentials: UpstreamCredentials,
        prefix: str = "azure",
        validate_after_deploy: bool = False,
    ) -> Upstream:
        """An Azure Container Registry (``<registry_name>.azurecr.io``); a secret is required.

        Args:
            registry_name: the registry name: 5-50 lowercase letters and digits.
            credentials: the registry user name and access token.
            prefix: the cache's repository prefix. Default: ``azure``.
            validate_after_deploy: check the credentials with ``ecr:ValidatePullThroughCacheRule`` after
                each change, failing the deploy when they do not work (adds a Lambda). Default: ``False``.
        """
        check_arguments("Upstream.azure", registry_name=(registry_name, str))
        return Upstream(
            _FACTORY,
            registry=UpstreamRegistry.AZURE,
            url=f"{registry_name}{_AZURE_HOST}",
            prefix=prefix,
            credentials=credentials,
            validate_after_deploy=validate_after_deploy,
        )

    @staticmethod
    def chainguard(
        *, credentials: UpstreamCredentials, prefix: str = "chainguard", validate_after_deploy: bool = False
    ) -> Upstream:
        """Chainguard (``cgr.dev``); a secret with the pull token is required.

        Args:
            credentials: the Chainguard pull-token user name and token.
            prefix: the cache's repository prefix. Default: ``chainguard``.
            validate_after_deploy: check the credentials with ``ecr:ValidatePullThroughCacheRule`` after
                each change, failing the deploy when they do not work (adds a Lambda). Default: ``False``.
        """
        return Upstream._fixed(UpstreamRegistry.CHAINGUARD, prefix, credentials, validate_after_deploy)

    @staticmethod
    def ecr(
        *,
        account: str,
        region: str,
        upstream_repository_prefix: str | None = None,
        role: iam.IRole | None = None,
        prefix: str = "ecr",
    ) -> Upstream:
        """Another Amazon ECR private registry (``<account>.dkr.ecr.<region>.amazonaws.com``).

        When the upstream is in another account (or the account is not known at synth), the rule
        gets a role trusted by ``pullthroughcache.ecr.amazonaws.com`` unless ``role`` is given.
        The upstream registry must also allow the cache's account: see
        :meth:`RegistryPolicy.grant_downstream_cache`, called in the upstream's stack. The upstream
        must be another registry than the cache's own, in the same partition.

        Args:
            account: the upstream registry's account.
            region: the upstream registry's Region.
            upstream_repository_prefix: only upstream repositories under this prefix are cached.
                Default: - ``ROOT``, every repository.
            role: the custom role of the rule, in the cache's account. Default: - one is created when
                the upstream is in another account.
            prefix: the cache's repository prefix. Default: ``ecr``.
        """
        url = f"{account}.dkr.ecr.{region}.{url_suffix_of(region) if isinstance(region, str) else 'amazonaws.com'}"
        return Upstream(
            _FACTORY,
            registry=UpstreamRegistry.ECR,
            url=url,
            prefix=prefix,
            role=role,
            upstream_repository_prefix=upstream_repository_prefix,
            account=account,
            region=region,
        )

    @staticmethod
    def _fixed(
        registry: UpstreamRegistry,
        prefix: str,
        credentials: UpstreamCredentials | None = None,
        validate_after_deploy: bool = False,
    ) -> Upstream:
        """An upstream with the one host AWS documents for ``registry``."""
        return Upstream(
            _FACTORY,
            registry=registry,
            url=HOSTS[registry],
            prefix=prefix,
            credentials=credentials,
            validate_after_deploy=validate_after_deploy,
        )

    @property
    def registry(self) -> UpstreamRegistry:
        """The upstream registry type."""
        return self._registry

    @property
    def url(self) -> str:
        """The upstream registry URL."""
        return self._url

    @property
    def prefix(self) -> str:
        """The cache repository prefix this upstream is cached under."""
        return self._prefix

    @property
    def credentials(self) -> UpstreamCredentials | None:
        """The upstream credentials, if any."""
        return self._credentials

    @property
    def role(self) -> iam.IRole | None:
        """The ECR-to-ECR custom role given by the user, if any."""
        return self._role

    @property
    def upstream_repository_prefix(self) -> str | None:
        """The upstream repository prefix, if any."""
        return self._upstream_repository_prefix

    @property
    def validate_after_deploy(self) -> bool:
        """Whether the credentials are checked after each deploy."""
        return self._validate_after_deploy

    @property
    def account(self) -> str | None:
        """The upstream registry's account (``ecr`` only)."""
        return self._account

    @property
    def region(self) -> str | None:
        """The upstream registry's Region (``ecr`` only)."""
        return self._region

    def validate_for(self, rule: IConstruct, prefix: str) -> None:
        """Checks this upstream as ``rule`` uses it under ``prefix``, raising the library's ``ValueError``. The rule
        calls it; you do not need to.

        Args:
            rule: the pull-through cache rule.
            prefix: the rule's prefix.
        """
        check_arguments("Upstream.validate_for", rule=(rule, Construct))
        check_arguments(rule, prefix=(prefix, str))
        self._check_types(rule)
        registry = self._registry
        if registry in NEEDS_CREDENTIALS and self._credentials is None:
            raise fail(
                rule,
                f"upstream {registry.value} requires credentials",
                None,
                "Pass credentials=UpstreamCredentials.from_secret(...) or UpstreamCredentials.new_secret(...).",
            )
        if registry not in NEEDS_CREDENTIALS and self._credentials is not None:
            raise fail(
                rule,
                f"upstream {registry.value} does not take credentials",
                registry.value,
                "Remove credentials: AWS documents no authentication for this upstream"
                + (" (ECR upstreams use a role)." if registry is UpstreamRegistry.ECR else "."),
            )
        if self._validate_after_deploy and self._credentials is None:
            raise fail(
                rule,
                "validate_after_deploy checks credentials, and this upstream has none",
                registry.value,
                "Remove validate_after_deploy.",
            )
        if registry is not UpstreamRegistry.ECR and prefix == ROOT:
            raise fail(
                rule,
                "the ROOT prefix is only supported for ECR upstreams",
                registry.value,
                "Give the rule a prefix; AWS documents ROOT for ECR-to-ECR caching only.",
            )
        if registry is not UpstreamRegistry.ECR and self._role is not None:
            raise fail(
                rule,
                "role is only supported for ECR upstreams",
                registry.value,
                "Remove role, or use Upstream.ecr(...).",
            )
        upstream_prefix = self._upstream_repository_prefix
        if upstream_prefix is not None:
            check_prefix(rule, "upstream_repository_prefix", upstream_prefix)
            if prefix == ROOT:
                raise fail(
                    rule,
                    "upstream_repository_prefix cannot be used with the ROOT prefix",
                    upstream_prefix,
                    "Give the rule a prefix other than ROOT, or drop upstream_repository_prefix.",
                )
        self._check_url(rule)
        if registry is UpstreamRegistry.ECR:
            self._validate_ecr(rule)

    def _check_types(self, rule: IConstruct) -> None:
        check_type(rule, "url", self._url, str, "Pass the registry host name as a string.")
        check_interface(
            rule,
            "credentials",
            self._credentials,
            "UpstreamCredentials",
            "bind",
            "Pass UpstreamCredentials.from_secret(...) or UpstreamCredentials.new_secret(...).",
            optional=True,
        )
        check_interface(
            rule,
            "role",
            self._role,
            "iam.IRole",
            "role_arn",
            "Pass an iam.IRole, e.g. iam.Role.from_role_arn(...).",
            optional=True,
        )
        check_type(
            rule,
            "upstream_repository_prefix",
            self._upstream_repository_prefix,
            str,
            "Pass the prefix as a string.",
            optional=True,
        )
        check_type(rule, "validate_after_deploy", self._validate_after_deploy, bool, "Pass True or False.")
        for field, value in (("account", self._account), ("region", self._region)):
            check_type(rule, field, value, str, f"Pass the {field} as a string.", optional=True)

    def _check_url(self, rule: IConstruct) -> None:
        """Checks the registry URL as the named factory builds it; skips tokens."""
        url, registry = self._url, self._registry
        if not resolved(url):
            if registry is UpstreamRegistry.ECR and self._account is None:
                raise fail(
                    rule,
                    "the ECR upstream's URL is not known at synth, so its account and Region are not",
                    url,
                    "Use Upstream.ecr(account=..., region=...), which takes tokens.",
                )
            return
        if "://" in url or "/" in url:
            raise fail(
                rule,
                "the upstream registry URL must be a host name",
                url,
                f"Give only the host, such as {HOSTS.get(registry, 'quay.io')!r}, without a scheme or path.",
            )
        if registry in HOSTS and url != HOSTS[registry]:
            hint = (
                " AWS supports GitLab.com only, not self-managed GitLab." if registry is UpstreamRegistry.GITLAB else ""
            )
            raise fail(
                rule,
                f"upstream {registry.value} is served from {HOSTS[registry]}",
                url,
                f"Use url={HOSTS[registry]!r}, or Upstream.{registry.name.lower()}(...).{hint}",
            )
        if registry is UpstreamRegistry.AZURE:
            name = url.removesuffix(_AZURE_HOST)
            if not url.endswith(_AZURE_HOST) or not _AZURE_NAME.fullmatch(name):
                raise fail(
                    rule,
                    "the Azure container registry name does not fit",
                    name,
                    "Give only the registry name (5-50 lowercase letters and digits), not the login server.",
                )
        if registry is UpstreamRegistry.ECR:
            match = _ECR_HOST.fullmatch(url)
            if match is None:
                raise fail(
                    rule,
                    "the ECR upstream URL is not an ECR registry host",
                    url,
                    "Use <account>.dkr.ecr.<region>.amazonaws.com, or Upstream.ecr(account=..., region=...).",
                )
            suffix = url_suffix_of(match["region"])
            if resolved(suffix) and match["suffix"] != suffix and match["region"] in known_regions():
                raise fail(
                    rule,
                    "the ECR upstream URL has another domain than its Region's",
                    url,
                    f"Use {match['account']}.dkr.ecr.{match['region']}.{suffix}.",
                )

    def _validate_ecr(self, rule: IConstruct) -> None:
        check_arguments(rule, account=(self._account, str), region=(self._region, str))
        check_ecr_registry(rule, self._account, self._region)
        check_passed_role(rule, "the ECR-to-ECR role", self._role, PULL_THROUGH_CACHE_SERVICE)
        cache = facts(rule)
        if same(self._account, cache.account) and same(self._region, cache.region):
            raise fail(
                rule,
                "the ECR upstream is the cache's own registry",
                f"{self._account}/{self._region}",
                "Point Upstream.ecr(...) at another account or Region: a registry cannot cache itself.",
            )
        theirs, ours = partition_of(self._region or ""), cache.partition
        if self._region is not None and resolved(theirs) and resolved(ours) and theirs != ours:
            raise fail(
                rule,
                f"the ECR upstream is in partition {theirs}, and the cache in {ours}",
                self._region,
                "Use an upstream Region of the cache's partition: pull-through cache does not cross partitions.",
            )


def check_ecr_registry(scope: IConstruct, account: str | None, region: str | None) -> None:
    """Checks the account and Region of an ECR registry; skips tokens.

    A Region is valid when aws-cdk-lib's ``RegionInfo`` knows it, in any partition.
    """
    check_account(scope, "the ECR registry account", account)
    if region is not None and resolved(region) and region not in known_regions():
        raise fail(
            scope,
            "the ECR registry region is not valid",
            region,
            "Use a Region name such as 'us-east-1' that aws-cdk-lib's RegionInfo knows.",
        )
