"""The upstream registries a pull-through cache rule can cache from."""

from __future__ import annotations

import re
from enum import Enum

from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ._env import resolved
from ._validation import ROOT, check_prefix, fail
from .credentials import UpstreamCredentials


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
NEEDS_CREDENTIALS = frozenset({UpstreamRegistry.AZURE, UpstreamRegistry.CHAINGUARD, UpstreamRegistry.DOCKER_HUB,
                               UpstreamRegistry.GITHUB, UpstreamRegistry.GITLAB})
_AZURE_NAME = re.compile(r"^[a-z0-9]{5,50}$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")


class Upstream:
    """An upstream registry, as one pull-through cache rule caches it.

    Build one with a factory (``Upstream.docker_hub(...)``); each factory sets the registry URL and
    a default repository prefix that ``prefix=`` overrides. Inputs are checked when the upstream
    is attached to a rule, so that errors name the rule's construct path.
    """

    def __init__(self, *, registry: UpstreamRegistry, url: str, prefix: str,
                 credentials: UpstreamCredentials | None = None, role: iam.IRole | None = None,
                 upstream_repository_prefix: str | None = None, account: str | None = None,
                 region: str | None = None, validate_after_deploy: bool = False) -> None:
        self._registry = UpstreamRegistry(registry)
        self._url = url
        self._prefix = prefix
        self._credentials = credentials
        self._role = role
        self._upstream_repository_prefix = upstream_repository_prefix
        self._account = account
        self._region = region
        self._validate_after_deploy = validate_after_deploy

    @staticmethod
    def of(registry: UpstreamRegistry, *, url: str, prefix: str, credentials: UpstreamCredentials | None = None,
           role: iam.IRole | None = None, upstream_repository_prefix: str | None = None,
           validate_after_deploy: bool = False) -> Upstream:
        """Describes any upstream explicitly; prefer the named factories.

        Args:
            registry: the upstream registry type.
            url: the upstream registry URL (host name).
            prefix: the cache's repository prefix.
            credentials: the upstream credentials. Default: - none (required by authenticated upstreams).
            role: the ECR-to-ECR custom role (``ecr`` only). Default: - none.
            upstream_repository_prefix: the upstream repository prefix (``ecr`` only). Default: - ``ROOT``.
            validate_after_deploy: check the credentials with ``ecr:ValidatePullThroughCacheRule`` after
                each change, failing the deploy when they do not work (adds a Lambda). Default: ``False``.
        """
        return Upstream(registry=registry, url=url, prefix=prefix, credentials=credentials, role=role,
                        upstream_repository_prefix=upstream_repository_prefix,
                        validate_after_deploy=validate_after_deploy)

    @staticmethod
    def ecr_public(*, prefix: str = "ecr-public") -> Upstream:
        """Amazon ECR Public (``public.ecr.aws``); no authentication.

        Args:
            prefix: the cache's repository prefix. Default: ``ecr-public``.
        """
        return Upstream(registry=UpstreamRegistry.ECR_PUBLIC, url="public.ecr.aws", prefix=prefix)

    @staticmethod
    def kubernetes(*, prefix: str = "kubernetes") -> Upstream:
        """The Kubernetes registry (``registry.k8s.io``); no authentication.

        Args:
            prefix: the cache's repository prefix. Default: ``kubernetes``.
        """
        return Upstream(registry=UpstreamRegistry.KUBERNETES, url="registry.k8s.io", prefix=prefix)

    @staticmethod
    def quay(*, prefix: str = "quay") -> Upstream:
        """Quay (``quay.io``); no authentication.

        Args:
            prefix: the cache's repository prefix. Default: ``quay``.
        """
        return Upstream(registry=UpstreamRegistry.QUAY, url="quay.io", prefix=prefix)

    @staticmethod
    def docker_hub(*, credentials: UpstreamCredentials, prefix: str = "docker-hub",
                   validate_after_deploy: bool = False) -> Upstream:
        """Docker Hub (``registry-1.docker.io``); a secret is required.

        Official images are cached as ``<prefix>/library/<image>``.

        Args:
            credentials: the Docker Hub user name and access token.
            prefix: the cache's repository prefix. Default: ``docker-hub``.
            validate_after_deploy: check the credentials with ``ecr:ValidatePullThroughCacheRule`` after
                each change, failing the deploy when they do not work (adds a Lambda). Default: ``False``.
        """
        return Upstream(registry=UpstreamRegistry.DOCKER_HUB, url="registry-1.docker.io", prefix=prefix,
                        credentials=credentials, validate_after_deploy=validate_after_deploy)

    @staticmethod
    def github(*, credentials: UpstreamCredentials, prefix: str = "github",
               validate_after_deploy: bool = False) -> Upstream:
        """GitHub Container Registry (``ghcr.io``); a secret is required.

        Args:
            credentials: the GitHub user name and personal access token.
            prefix: the cache's repository prefix. Default: ``github``.
            validate_after_deploy: check the credentials with ``ecr:ValidatePullThroughCacheRule`` after
                each change, failing the deploy when they do not work (adds a Lambda). Default: ``False``.
        """
        return Upstream(registry=UpstreamRegistry.GITHUB, url="ghcr.io", prefix=prefix, credentials=credentials,
                        validate_after_deploy=validate_after_deploy)

    @staticmethod
    def gitlab(*, credentials: UpstreamCredentials, prefix: str = "gitlab",
               validate_after_deploy: bool = False) -> Upstream:
        """GitLab Container Registry (``registry.gitlab.com``, GitLab.com only); a secret is required.

        Args:
            credentials: the GitLab user name and access token.
            prefix: the cache's repository prefix. Default: ``gitlab``.
            validate_after_deploy: check the credentials with ``ecr:ValidatePullThroughCacheRule`` after
                each change, failing the deploy when they do not work (adds a Lambda). Default: ``False``.
        """
        return Upstream(registry=UpstreamRegistry.GITLAB, url="registry.gitlab.com", prefix=prefix,
                        credentials=credentials, validate_after_deploy=validate_after_deploy)

    @staticmethod
    def azure(*, registry_name: str, credentials: UpstreamCredentials, prefix: str = "azure",
              validate_after_deploy: bool = False) -> Upstream:
        """An Azure Container Registry (``<registry_name>.azurecr.io``); a secret is required.

        Args:
            registry_name: the registry name: 5-50 lowercase letters and digits.
            credentials: the registry user name and access token.
            prefix: the cache's repository prefix. Default: ``azure``.
            validate_after_deploy: check the credentials with ``ecr:ValidatePullThroughCacheRule`` after
                each change, failing the deploy when they do not work (adds a Lambda). Default: ``False``.
        """
        return Upstream(registry=UpstreamRegistry.AZURE, url=f"{registry_name}.azurecr.io", prefix=prefix,
                        credentials=credentials, validate_after_deploy=validate_after_deploy)

    @staticmethod
    def chainguard(*, credentials: UpstreamCredentials, prefix: str = "chainguard",
                   validate_after_deploy: bool = False) -> Upstream:
        """Chainguard (``cgr.dev``); a secret with the pull token is required.

        Args:
            credentials: the Chainguard pull-token user name and token.
            prefix: the cache's repository prefix. Default: ``chainguard``.
            validate_after_deploy: check the credentials with ``ecr:ValidatePullThroughCacheRule`` after
                each change, failing the deploy when they do not work (adds a Lambda). Default: ``False``.
        """
        return Upstream(registry=UpstreamRegistry.CHAINGUARD, url="cgr.dev", prefix=prefix,
                        credentials=credentials, validate_after_deploy=validate_after_deploy)

    @staticmethod
    def ecr(*, account: str, region: str, upstream_repository_prefix: str | None = None,
            role: iam.IRole | None = None, prefix: str = "ecr") -> Upstream:
        """Another Amazon ECR private registry (``<account>.dkr.ecr.<region>.amazonaws.com``).

        When the upstream is in another account (or the account is not known at synth), the rule
        gets a role trusted by ``pullthroughcache.ecr.amazonaws.com`` unless ``role`` is given.
        The upstream account must also allow the cache's account: see
        :meth:`RegistryPolicy.grant_pull_through_cache_source`.

        Args:
            account: the upstream registry's account.
            region: the upstream registry's Region.
            upstream_repository_prefix: only upstream repositories under this prefix are cached.
                Default: - ``ROOT``, every repository.
            role: the custom role of the rule, in the cache's account. Default: - one is created when
                the upstream is in another account.
            prefix: the cache's repository prefix. Default: ``ecr``.
        """
        return Upstream(registry=UpstreamRegistry.ECR, url=f"{account}.dkr.ecr.{region}.amazonaws.com",
                        prefix=prefix, role=role, upstream_repository_prefix=upstream_repository_prefix,
                        account=account, region=region)

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
        """The upstream repository prefix (``ecr`` only), if any."""
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

    def _validate(self, rule: IConstruct, prefix: str) -> None:
        """Checks this upstream as ``rule`` uses it under ``prefix``; raises the library's ValueError."""
        registry = self._registry
        if registry in NEEDS_CREDENTIALS and self._credentials is None:
            raise fail(rule, f"upstream {registry.value} requires credentials", None,
                       "Pass credentials=UpstreamCredentials.from_secret(...) or UpstreamCredentials.new_secret(...).")
        if registry not in NEEDS_CREDENTIALS and self._credentials is not None:
            raise fail(rule, f"upstream {registry.value} does not take credentials", registry.value,
                       "Remove credentials: AWS documents no authentication for this upstream"
                       + (" (ECR upstreams use a role)." if registry is UpstreamRegistry.ECR else "."))
        if self._validate_after_deploy and self._credentials is None:
            raise fail(rule, "validate_after_deploy checks credentials, and this upstream has none", registry.value,
                       "Remove validate_after_deploy.")
        if registry is not UpstreamRegistry.ECR and prefix == ROOT:
            raise fail(rule, "the ROOT prefix is only supported for ECR upstreams", registry.value,
                       "Give the rule a prefix; AWS documents ROOT for ECR-to-ECR caching only.")
        if registry is not UpstreamRegistry.ECR:
            for field, value in (("role", self._role), ("upstream_repository_prefix",
                                                         self._upstream_repository_prefix)):
                if value is not None:
                    raise fail(rule, f"{field} is only supported for ECR upstreams", registry.value,
                               f"Remove {field}, or use Upstream.ecr(...).")
        if registry is UpstreamRegistry.AZURE:
            name = self._url.removesuffix(".azurecr.io")
            if resolved(name) and not _AZURE_NAME.fullmatch(name):
                raise fail(rule, "the Azure container registry name does not fit", name,
                           "Give only the registry name (5-50 lowercase letters and digits), "
                           "not the login server.")
        if registry is UpstreamRegistry.ECR:
            self._validate_ecr(rule, prefix)

    def _validate_ecr(self, rule: IConstruct, prefix: str) -> None:
        check_ecr_registry(rule, self._account, self._region)
        upstream_prefix = self._upstream_repository_prefix
        if upstream_prefix is not None:
            check_prefix(rule, "upstream_repository_prefix", upstream_prefix)
            if prefix == ROOT:
                raise fail(rule, "upstream_repository_prefix cannot be used with the ROOT prefix",
                           upstream_prefix, "Give the rule a prefix other than ROOT, or drop "
                           "upstream_repository_prefix.")


def check_ecr_registry(scope: IConstruct, account: str, region: str) -> None:
    """Checks the account and Region of an ECR registry; skips tokens."""
    for field, value, pattern, fix in (
        ("account", account, _ACCOUNT, "Use the 12-digit account ID."),
        ("region", region, _REGION, "Use a Region name such as 'us-east-1'."),
    ):
        if resolved(value) and not pattern.fullmatch(value):
            raise fail(scope, f"the ECR registry {field} is not valid", value, fix)
