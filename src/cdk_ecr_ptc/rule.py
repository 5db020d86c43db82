"""Pull-through cache rules, defined or imported, and the permissions to pull through them."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._actions import AUTH_TOKEN, PULL, PULL_THROUGH, REPOSITORY_POLICY_PULL, TAG_RESOURCE
from ._env import facts, partition, partition_of, principal_of, repository_arn, resolved, same, url_suffix_of
from ._ledger import Ledger
from ._validation import (
    ROOT,
    check_grantee,
    check_image_reference,
    check_interface,
    check_prefix,
    check_region_supported,
    fail,
)
from .creation_template import RepositoryCreationTemplate, RepositorySettings
from .registry_policy import RegistryPolicy, resource_policy_principal
from .roles import EcrUpstreamRole
from .upstream import Upstream, UpstreamRegistry


def rule_id(prefix: str) -> str:
    """The construct id of a cache's rule: the prefix, with ``/`` (not allowed in ids) written ``+``.

    It names the rule's logical ID, so reordering or adding rules never replaces one.
    """
    return prefix.replace("/", "+")


class PullThroughCacheRuleBase(Construct):
    """What every pull-through cache rule offers, defined here or imported: its repositories' ARN,
    image URIs and the two grants. Subclasses implement :meth:`_grant`."""

    def __init__(self, scope: Construct, id: str, *, prefix: str, account: str, region: str,
                 docker_hub: bool) -> None:
        super().__init__(scope, id)
        self._prefix = prefix
        self._account = account
        self._region = region
        self._docker_hub = docker_hub
        self._partition = partition_of(region)
        self._repository_arn_pattern: str | None = None
        Ledger.of(self).add_repository_wildcard(self)

    @property
    def prefix(self) -> str:
        """The cache repository prefix (``ROOT`` for none)."""
        return self._prefix

    @property
    def repository_arn_pattern(self) -> str:
        """The ARN of every repository the rule creates.

        ``arn:<partition>:ecr:<region>:<account>:repository/<prefix>/*``, or ``repository/*`` for ``ROOT``.
        """
        if self._repository_arn_pattern is None:
            pattern = "*" if self._prefix == ROOT else f"{self._prefix.rstrip('/')}/*"
            self._repository_arn_pattern = repository_arn(self, pattern, account=self._account,
                                                          region=self._region)
        return self._repository_arn_pattern

    def image_uri(self, repository: str, *, tag: str | None = None, digest: str | None = None) -> str:
        """Returns the URI to pull ``repository`` of the upstream through this cache.

        Docker Hub official images (a name without ``/``, such as ``nginx``) become ``library/nginx``.
        For ECR upstreams with an ``upstream_repository_prefix``, give the repository path that follows it.

        Args:
            repository: the upstream repository path, such as ``nginx`` or ``bitnami/redis``.
            tag: the image tag. Default: - none (the client pulls ``latest``).
            digest: the image digest (``sha256:...``), instead of a tag. Default: - none.
        """
        check_image_reference(self, repository, tag, digest)
        if tag is not None and digest is not None:
            raise fail(self, "image_uri takes a tag or a digest, not both", (tag, digest), "Pass only one.")
        if self._docker_hub and "/" not in repository and resolved(repository):
            repository = f"library/{repository}"
        path = repository if self._prefix == ROOT else f"{self._prefix.rstrip('/')}/{repository}"
        uri = f"{self._account}.dkr.ecr.{self._region}.{url_suffix_of(self._region)}/{path}"
        return uri + (f"@{digest}" if digest else f":{tag}" if tag else "")

    def grant_pull_through(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants what a principal with ordinary ECR pull access needs to pull through this rule.

        That is ``ecr:BatchImportUpstreamImage`` and ``ecr:CreateRepository`` on the rule's
        repositories (and ``ecr:TagResource`` once a creation template tags them): through the
        principal's own policy when it has one in this account, and through the registry policy
        otherwise (other accounts, ``ArnPrincipal``, organizations). Principals granted through the
        registry policy are also added to the repository policy of the rule's own creation template.

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
        return with_auth_token(self, grantee, self._grant(grantee, PULL_THROUGH + PULL))

    def _grant(self, grantee: iam.IGrantable, actions: tuple[str, ...]) -> iam.Grant:
        raise NotImplementedError


class PullThroughCacheRule(PullThroughCacheRuleBase):
    """Defines a pull-through cache rule (``AWS::ECR::PullThroughCacheRule``) for one upstream.

    Every property of the resource is replaced on change, and a replacement that keeps the prefix
    collides with the rule it replaces; change the prefix together with the upstream or credentials.
    """

    def __init__(self, scope: Construct, id: str, *, upstream: Upstream, prefix: str | None = None,
                 repository_settings: RepositorySettings | None = None) -> None:
        """
        Args:
            scope: the parent construct.
            id: the construct id; it names the rule's logical ID.
            upstream: the upstream registry.
            prefix: the cache repository prefix, or ``ROOT`` for none. Default: - the upstream's prefix.
            repository_settings: settings of the repositories the rule creates, as a creation template
                with the rule's prefix. Default: - none (ECR's defaults, or a template declared elsewhere).
        """
        check_interface(f"{scope.node.path}/{id}", "upstream", upstream, "Upstream", "_validate",
                        "Use a factory, such as Upstream.quay().")
        stack = facts(scope)
        super().__init__(scope, id, prefix=upstream.prefix if prefix is None else prefix, account=stack.account,
                         region=stack.region, docker_hub=upstream.registry is UpstreamRegistry.DOCKER_HUB)
        self._upstream = upstream
        check_region_supported(self)
        check_prefix(self, "prefix", self._prefix)
        upstream._validate(self, self._prefix)
        credentials, self._credentials_secret_name = (
            upstream.credentials._bind(self) if upstream.credentials else (None, None))
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
        if upstream.validate_after_deploy:
            from aws_cdk import aws_secretsmanager as secretsmanager

            from .post_deploy import PullThroughCacheRuleValidation  # only then: it brings in aws_lambda

            PullThroughCacheRuleValidation(self, "Validation", rule_resource=self._resource, prefix=self._prefix,
                                           secret_arn=credentials.secret_arn)
            child = credentials.node.default_child
            if isinstance(child, secretsmanager.CfnSecret) and child.generate_secret_string is not None:
                Annotations.of(self).add_warning_v2("cdk-ecr-ptc:validatesPlaceholderToken", (
                    "validate_after_deploy checks a secret that holds a generated placeholder token until you put "
                    "the real one, so the first deploy fails; deploy once without validation, put the token, "
                    "then turn it on."))
        self._grants: list[tuple[iam.IGrantable, tuple[str, ...], bool]] = []
        self._template: RepositoryCreationTemplate | None = None
        self._shared_templates: list[RepositoryCreationTemplate] = []
        self._tags_repositories = False
        Ledger.of(self).add_rule(self)
        if repository_settings is not None:
            self.add_repository_settings(repository_settings)

    @property
    def upstream(self) -> Upstream:
        """The upstream registry."""
        return self._upstream

    @property
    def role(self) -> iam.IRole | None:
        """The rule's custom role (ECR-to-ECR), given or created; ``None`` when it has none."""
        return self._role

    @property
    def template(self) -> RepositoryCreationTemplate | None:
        """The creation template that applies to the rule's repositories (the most specific), if any."""
        return self._template

    def add_repository_settings(self, settings: RepositorySettings) -> RepositoryCreationTemplate:
        """Defines the creation template of this rule's repositories (prefix: the rule's prefix).

        Args:
            settings: the repository settings.
        """
        if self.node.try_find_child("Template") is not None:
            raise fail(self, "the rule already has repository settings", self._prefix,
                       "Give all settings in one RepositorySettings.")
        return RepositoryCreationTemplate(self, "Template", prefix=self._prefix, **settings.as_kwargs())

    def _grant(self, grantee: iam.IGrantable, actions: tuple[str, ...]) -> iam.Grant:
        return grant_on_rules([self], grantee, actions)

    def _use_template(self, template: RepositoryCreationTemplate) -> None:
        """Takes ``template`` as the rule's template: shares resource-side grants with its repository
        policy when it is the rule's own, and grants ``ecr:TagResource`` to every grantee when it tags."""
        self._template = template
        if template.prefix == self._prefix and template not in self._shared_templates:
            self._shared_templates.append(template)
            for grantee, actions, resource_side in self._grants:
                if resource_side:
                    _share(template, grantee, actions)
        if template.tags_repositories and not self._tags_repositories:
            self._tags_repositories = True
            for grantee, _, _ in self._grants:
                route(self, grantee, (TAG_RESOURCE,), [self.repository_arn_pattern])

    def _custom_role(self) -> iam.IRole | None:
        upstream = self._upstream
        if upstream.registry is not UpstreamRegistry.ECR:
            return None
        if upstream.role is not None:
            if same(upstream.role.env.account, self._account) is False:
                raise fail(self, "the ECR-to-ECR role must be in the cache's account", upstream.role.role_arn,
                           f"Use a role of account {self._account}, or let the rule create one (role=None).")
            return upstream.role
        if same(upstream.account, self._account):
            return None
        return EcrUpstreamRole(self, "UpstreamRole", upstream_account=upstream.account,
                               upstream_region=upstream.region,
                               upstream_repository_prefix=upstream.upstream_repository_prefix,
                               cache_repository_arn=self.repository_arn_pattern)


def grant_on_rules(rules: Sequence[PullThroughCacheRule], grantee: iam.IGrantable,
                   actions: tuple[str, ...]) -> iam.Grant:
    """Grants ``actions`` on the repositories of ``rules`` (of one stack) at once, plus ``ecr:TagResource``
    on those whose template tags, and records the grant on each rule for templates declared later."""
    scope = rules[0]
    grant, resource_side = route(scope, grantee, actions, [rule.repository_arn_pattern for rule in rules])
    tagged = [rule.repository_arn_pattern for rule in rules if rule._tags_repositories]
    if tagged:
        grant = grant.combine(route(scope, grantee, (TAG_RESOURCE,), tagged)[0])
    for rule in rules:
        rule._grants.append((grantee, actions, resource_side))
        for template in rule._shared_templates if resource_side else ():
            _share(template, grantee, actions)
    return grant


def route(rule: PullThroughCacheRule, grantee: iam.IGrantable, actions: Sequence[str],
          resources: list[str]) -> tuple[iam.Grant, bool]:
    """Grants ``actions`` on ``resources`` of ``rule``'s registry: through the principal's own policy when
    it has one in this account, and through the registry policy otherwise (both for a role of another
    account); tells whether the registry policy was used."""
    check_grantee(rule, grantee)
    principal = principal_of(grantee)
    identity = Ledger.of(rule).grant_identity(grantee, principal, actions, resources)
    if identity is not None and same(principal.principal_account, rule._account) is not False:
        return identity, False
    registry_policy = RegistryPolicy.of(rule)
    statement = registry_policy.statement_for(principal, actions, resources)
    resource = iam.Grant.add_statement_to_resource_policy(
        statement=statement, resource=registry_policy, grantee=grantee, actions=list(actions),
        resource_arns=registry_policy.resource_list(resources))
    return (identity.combine(resource) if identity is not None else resource), True


def with_auth_token(scope: Construct, grantee: iam.IGrantable, grant: iam.Grant) -> iam.Grant:
    """Adds ``ecr:GetAuthorizationToken`` on ``*`` to ``grant``, for principals with a policy of their own."""
    token = Ledger.of(scope).grant_identity(grantee, principal_of(grantee), [AUTH_TOKEN], ["*"])
    return grant if token is None else grant.combine(token)


def _share(template: RepositoryCreationTemplate, grantee: iam.IGrantable, actions: Sequence[str]) -> None:
    """Adds the repository-level part of a resource-side grant to ``template``'s repository policy."""
    template.add_to_resource_policy(iam.PolicyStatement(
        principals=[resource_policy_principal(partition(template), principal_of(grantee))],
        actions=[action for action in REPOSITORY_POLICY_PULL if action in actions]))
