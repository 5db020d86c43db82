"""One pull-through cache rule and the permissions to pull through it."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack, Token
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._actions import AUTH_TOKEN, PULL, PULL_THROUGH
from ._env import repository_arn, same, url_suffix
from ._ledger import Ledger
from ._nag import acknowledge_repository_wildcard
from ._validation import ROOT, check_prefix, check_region_supported, fail
from .registry_policy import RegistryPolicy, resource_policy_principal
from .roles import EcrUpstreamRole
from .upstream import Upstream, UpstreamRegistry


class PullThroughCacheRule(Construct):
    """Defines a pull-through cache rule (``AWS::ECR::PullThroughCacheRule``) for one upstream.

    Every property of the resource is replaced on change, and a replacement that keeps the prefix
    collides with the rule it replaces; change the prefix together with the upstream or credentials.
    """

    def __init__(self, scope: Construct, id: str, *, upstream: Upstream, prefix: str | None = None) -> None:
        """
        Args:
            scope: the parent construct.
            id: the construct id; it names the rule's logical ID.
            upstream: the upstream registry.
            prefix: the cache repository prefix, or ``ROOT`` for none. Default: - the upstream's prefix.
        """
        super().__init__(scope, id)
        self._upstream = upstream
        self._prefix = prefix or upstream.prefix
        check_region_supported(self)
        check_prefix(self, "prefix", self._prefix)
        upstream._validate(self, self._prefix)
        credentials = upstream.credentials._bind(self) if upstream.credentials else None
        self._role = self._custom_role()
        self._resource = ecr.CfnPullThroughCacheRule(
            self, "Resource",
            ecr_repository_prefix=self._prefix,
            upstream_registry=upstream.registry.value,
            upstream_registry_url=upstream.url,
            credential_arn=credentials.secret_arn if credentials else None,
            custom_role_arn=self._role.role_arn if self._role else None,
            upstream_repository_prefix=upstream.upstream_repository_prefix,
        )
        Ledger.of(self).add_rule(self)

    @property
    def prefix(self) -> str:
        """The cache repository prefix (``ROOT`` for none)."""
        return self._prefix

    @property
    def upstream(self) -> Upstream:
        """The upstream registry."""
        return self._upstream

    @property
    def role(self) -> iam.IRole | None:
        """The rule's custom role (ECR-to-ECR), given or created; ``None`` when it has none."""
        return self._role

    @property
    def repository_arn_pattern(self) -> str:
        """The ARN of every repository the rule creates.

        ``arn:<partition>:ecr:<region>:<account>:repository/<prefix>/*``, or ``repository/*`` for ``ROOT``.
        """
        return repository_arn(self, "*" if self._prefix == ROOT else f"{self._prefix.rstrip('/')}/*")

    def image_uri(self, repository: str, *, tag: str | None = None, digest: str | None = None) -> str:
        """Returns the URI to pull ``repository`` of the upstream through this cache.

        Docker Hub official images (a name without ``/``, such as ``nginx``) become ``library/nginx``.
        For ECR upstreams with an ``upstream_repository_prefix``, give the repository path that follows it.

        Args:
            repository: the upstream repository path, such as ``nginx`` or ``bitnami/redis``.
            tag: the image tag. Default: - none (the client pulls ``latest``).
            digest: the image digest (``sha256:...``), instead of a tag. Default: - none.
        """
        if tag is not None and digest is not None:
            raise fail(self, "image_uri takes a tag or a digest, not both", (tag, digest), "Pass only one.")
        if self._upstream.registry is UpstreamRegistry.DOCKER_HUB and "/" not in repository \
                and not Token.is_unresolved(repository):
            repository = f"library/{repository}"
        stack = Stack.of(self)
        path = repository if self._prefix == ROOT else f"{self._prefix.rstrip('/')}/{repository}"
        uri = f"{stack.account}.dkr.ecr.{stack.region}.{url_suffix(self)}/{path}"
        return uri + (f"@{digest}" if digest else f":{tag}" if tag else "")

    def grant_pull_through(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants what a principal with ordinary ECR pull access needs to pull through this rule.

        That is ``ecr:BatchImportUpstreamImage`` and ``ecr:CreateRepository`` on the rule's
        repositories: through the principal's own policy when it has one in this account, and
        through the registry policy otherwise (other accounts, ``ArnPrincipal``, organizations).

        Args:
            grantee: the principal that pulls.
        """
        return self._grant(grantee, PULL_THROUGH)

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants everything a first pull through this rule needs.

        Adds ``ecr:BatchGetImage``, ``ecr:GetDownloadUrlForLayer`` and
        ``ecr:BatchCheckLayerAvailability`` to :meth:`grant_pull_through`, and
        ``ecr:GetAuthorizationToken`` on ``*`` to principals that have a policy of their own.

        Args:
            grantee: the principal that pulls.
        """
        grant = self._grant(grantee, PULL_THROUGH + PULL)
        token = Ledger.of(self).grant_identity(grantee, [AUTH_TOKEN], ["*"])
        return grant.combine(token) if token.success else grant

    def _grant(self, grantee: iam.IGrantable, actions: Sequence[str]) -> iam.Grant:
        """Grants ``actions`` on the rule's repositories, on the identity or the registry side or both."""
        resources = [self.repository_arn_pattern]
        identity = Ledger.of(self).grant_identity(grantee, actions, resources)
        principal = grantee.grant_principal
        if identity.success:
            acknowledge_repository_wildcard(principal, self.repository_arn_pattern)
        if identity.success and same(principal.principal_account, Stack.of(self).account) is not False:
            return identity
        statement = iam.PolicyStatement(principals=[resource_policy_principal(self, principal)],
                                        actions=list(actions), resources=resources)
        resource = iam.Grant.add_statement_to_resource_policy(
            statement=statement, resource=RegistryPolicy.of(self), grantee=grantee, actions=list(actions),
            resource_arns=resources)
        return identity.combine(resource) if identity.success else resource

    def _custom_role(self) -> iam.IRole | None:
        upstream = self._upstream
        if upstream.registry is not UpstreamRegistry.ECR:
            return None
        account = Stack.of(self).account
        if upstream.role is not None:
            if same(upstream.role.env.account, account) is False:
                raise fail(self, "the ECR-to-ECR role must be in the cache's account", upstream.role.role_arn,
                           f"Use a role of account {account}, or let the rule create one (role=None).")
            return upstream.role
        if same(upstream.account, account):
            return None
        return EcrUpstreamRole(self, "UpstreamRole", upstream_account=upstream.account,
                               upstream_region=upstream.region,
                               upstream_repository_prefix=upstream.upstream_repository_prefix,
                               cache_repository_arn=self.repository_arn_pattern)

