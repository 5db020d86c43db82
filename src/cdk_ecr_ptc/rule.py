"""Pull-through cache rules, defined or imported, and the permissions to pull through them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aws_cdk import Annotations, Duration
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from . import _grants
from ._actions import PULL, PULL_THROUGH
from ._app_registry import AppRegistry, Template
from ._env import facts, inherit_facts, partition_of, repository_arn, same, url_suffix_of
from ._model import normalize_prefix, repository_pattern, specificity
from ._validation import check_arguments, check_construct, check_interface, check_prefix, check_region_supported, fail
from .creation_template import RepositoryCreationTemplate, RepositorySettings
from .image_uri import rule_image_uri
from .registry_policy import RegistryPolicy
from .roles import EcrUpstreamRole
from .upstream import Upstream, UpstreamRegistry

__all__ = ["PullThroughCacheRule", "PullThroughCacheRuleBase", "rule_id"]

if TYPE_CHECKING:
    from aws_cdk import aws_secretsmanager as secretsmanager  # imported where used: it brings in aws_ec2

    from .warming import CacheWarming


def rule_id(prefix: str) -> str:
    """The construct id of a cache's rule: the prefix, with ``/`` (not allowed in ids) written ``+``.

    It names the rule's logical ID, so reordering or adding rules never replaces one.
    """
    return prefix.replace("/", "+")


class PullThroughCacheRuleBase(Construct):
    """What every pull-through cache rule offers, defined here or imported: its repositories' ARN,
    image URIs and the two grants. Subclasses say what a grant reaches with :meth:`_target` and
    :meth:`_resource_side`."""

    def __init__(self, scope: Construct, id: str, *, prefix: str, account: str, region: str, docker_hub: bool) -> None:
        check_construct(
            type(self).__name__,
            scope,
            id,
            prefix=(prefix, str),
            account=(account, str),
            region=(region, str),
            docker_hub=(docker_hub, bool),
        )
        super().__init__(scope, id)
        inherit_facts(self, scope)
        self._prefix = prefix
        self._account = account
        self._region = region
        self._docker_hub = docker_hub
        self._partition = partition_of(region)
        self._repository_arn_pattern: str | None = None

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
            self._repository_arn_pattern = repository_arn(
                self, repository_pattern(self._prefix), account=self._account, region=self._region
            )
        return self._repository_arn_pattern

    @property
    def registry_host(self) -> str:
        """The host of the cache's registry, ``<account>.dkr.ecr.<region>.<suffix>`` (tokens in
        environment-agnostic stacks): for ``docker login`` and node configuration."""
        return f"{self._account}.dkr.ecr.{self._region}.{url_suffix_of(self._region)}"

    def image_uri(self, reference: str, *, tag: str | None = None, digest: str | None = None) -> str:
        """Returns the URI to pull ``reference`` of the upstream through this cache.

        ``reference`` is a repository path of the upstream (``nginx``, ``bitnami/redis:7``) or a full
        reference whose host is this rule's upstream (``docker.io/library/nginx:1.27``), parsed as Docker
        does (:mod:`cdk_ecr_ptc.images`). Docker Hub official images become ``library/<name>``. For ECR
        upstreams with an ``upstream_repository_prefix``, a path without host is the part after it.
        A digest-pinned URI adds a warning: its first pull is not cached.

        Args:
            reference: the upstream image, with an optional tag or digest.
            tag: the image tag. Default: - the reference's, else none (the client pulls ``latest``).
            digest: the image digest (``sha256:...``), instead of a tag. Default: - the reference's, else none.
        """
        return rule_image_uri(
            self,
            reference,
            registry_host=self.registry_host,
            prefix=self._prefix,
            docker_hub=self._docker_hub,
            upstream=getattr(self, "upstream", None),
            tag=tag,
            digest=digest,
        )

    def grant_pull_through(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants what a principal with ordinary ECR pull access needs to pull through this rule.

        That is ``ecr:BatchImportUpstreamImage`` and ``ecr:CreateRepository`` on the rule's
        repositories (and ``ecr:TagResource`` once a creation template tags them): through the
        principal's own policy when it has one in this account, and through the resource side
        otherwise (other accounts, ``ArnPrincipal``, organizations, imported immutable roles): the
        registry policy, and under registry-policy scope V1 the repository policy of the rule's own
        creation template for what V1 keeps out of the registry policy.

        Args:
            grantee: the principal that pulls (an ``IGrantable``, or a construct with a ``.role``).
        """
        return self._grant(grantee, PULL_THROUGH)

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants everything a first pull through this rule needs.

        Adds ``ecr:BatchGetImage``, ``ecr:GetDownloadUrlForLayer`` and
        ``ecr:BatchCheckLayerAvailability`` to :meth:`grant_pull_through`, and
        ``ecr:GetAuthorizationToken`` on ``*`` to principals that have a policy of their own.

        Args:
            grantee: the principal that pulls (an ``IGrantable``, or a construct with a ``.role``).
        """
        return _grants.with_auth_token(self, grantee, self._grant(grantee, PULL_THROUGH + PULL))

    def _grant(self, grantee: iam.IGrantable, actions: tuple[str, ...]) -> iam.Grant:
        granted, _ = _grants.grant(self, grantee, actions, [self._target()], self._resource_side())
        return (
            granted
            if granted is not None
            else iam.Grant.drop(
                _grants.grantable(self, grantee),
                ("pull through a cache of another stack: the grantee has no policy here"),
            )
        )

    def _target(self) -> _grants.Target:
        raise NotImplementedError

    def _resource_side(self) -> _grants.ResourceSide | None:
        raise NotImplementedError


class PullThroughCacheRule(PullThroughCacheRuleBase):
    """Defines a pull-through cache rule (``AWS::ECR::PullThroughCacheRule``) for one upstream.

    Every property of the resource is replaced on change, and a replacement that keeps the prefix
    collides with the rule it replaces; change the prefix together with the upstream or credentials.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        upstream: Upstream,
        prefix: str | None = None,
        repository_settings: RepositorySettings | None = None,
    ) -> None:
        """
        Args:
            scope: the parent construct.
            id: the construct id; it names the rule's logical ID.
            upstream: the upstream registry.
            prefix: the cache repository prefix, or ``ROOT`` for none. Default: - the upstream's prefix.
            repository_settings: settings of the repositories the rule creates, as a creation template
                with the rule's prefix. Default: - none (ECR's defaults, or a template declared elsewhere).
        """
        check_construct("PullThroughCacheRule", scope, id)
        if not hasattr(upstream, "validate_for"):  # the path crosses jsii: it is built for the error only
            check_interface(
                f"{scope.node.path}/{id}",
                "upstream",
                upstream,
                "Upstream",
                "validate_for",
                "Use a factory, such as Upstream.quay().",
            )
        stack = facts(scope)
        super().__init__(
            scope,
            id,
            prefix=upstream.prefix if prefix is None else prefix,
            account=stack.account,
            region=stack.region,
            docker_hub=upstream.registry is UpstreamRegistry.DOCKER_HUB,
        )
        self._upstream = upstream
        check_region_supported(self)
        check_prefix(self, "prefix", self._prefix)
        upstream.validate_for(self, self._prefix)
        credentials: secretsmanager.ISecret | None
        self._credentials_secret_name: str | None
        credentials, self._credentials_secret_name = (
            upstream.credentials.bind(self) if upstream.credentials else (None, None)
        )
        self._role = self._custom_role()
        self._resource = ecr.CfnPullThroughCacheRule(
            self,
            "Resource",
            ecr_repository_prefix=self._prefix,
            upstream_registry=upstream.registry.value,
            upstream_registry_url=upstream.url,
            credential_arn=credentials.secret_arn if credentials else None,
            custom_role_arn=self._role.role_arn if self._role else None,
            upstream_repository_prefix=upstream.upstream_repository_prefix,
        )
        if upstream.validate_after_deploy and credentials is not None:
            from aws_cdk import aws_secretsmanager as secretsmanager

            from .post_deploy import PullThroughCacheRuleValidation  # only then: it brings in aws_lambda

            PullThroughCacheRuleValidation(
                self, "Validation", rule_resource=self._resource, prefix=self._prefix, secret_arn=credentials.secret_arn
            )
            child = credentials.node.default_child
            if isinstance(child, secretsmanager.CfnSecret) and child.generate_secret_string is not None:
                Annotations.of(self).add_warning_v2(
                    "cdk-ecr-ptc:validatesPlaceholderToken",
                    (
                        "validate_after_deploy checks a secret that holds a generated placeholder token until you put "
                        "the real one, so the first deploy fails; deploy once without validation, put the token, "
                        "then turn it on."
                    ),
                )
        # (grantee, whether the grant used the resource side), for templates that tag declared later.
        self._grants: list[tuple[iam.IGrantable, bool]] = []
        self._template: RepositoryCreationTemplate | None = None
        #: The most specific template that covers the rule, other than one with the rule's own prefix.
        self._source: RepositoryCreationTemplate | None = None
        #: Whether the rule's own template was defined by the library (for a V1 grant), with the source's settings.
        self._derived = False
        #: Templates of more specific prefixes, and the V1 repository-policy grants applied to every template.
        self._nested: list[RepositoryCreationTemplate] = []
        self._shared: list[Callable[[iam.IResourceWithPolicyV2], iam.Grant]] = []
        #: Whether a template tagged the rule's repositories since a grant was recorded (resource-side tagging).
        self._tagged_once = False
        AppRegistry.of(self).add_rule(self, self._prefix, self._on_covered, self._on_nested)
        if repository_settings is not None:
            self.add_repository_settings(repository_settings)

    @property
    def upstream(self) -> Upstream:
        """The upstream registry."""
        return self._upstream

    @property
    def credentials_secret_name(self) -> str | None:
        """The name of the rule's credential secret, when it is known at synth; ``None`` otherwise."""
        return self._credentials_secret_name

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

        It replaces the template that a grant defined for the rule (under registry-policy scope V1), and
        keeps that template's repository policy.

        Args:
            settings: the repository settings.
        """
        check_arguments(self, settings=(settings, RepositorySettings))
        if self.node.try_find_child("Template") is not None and not self._derived:
            raise fail(
                self,
                "the rule already has repository settings",
                self._prefix,
                "Give all settings in one RepositorySettings.",
            )
        return self._define_template(settings.as_kwargs(), derived=False)

    def _define_template(self, settings: dict, *, derived: bool) -> RepositoryCreationTemplate:
        """Defines the rule's own template (construct id ``Template``), replacing one the library defined."""
        old = self.node.try_find_child("Template")
        if isinstance(old, RepositoryCreationTemplate):
            self.node.try_remove_child("Template")
            AppRegistry.of(self).remove_template(old)
        self._derived = derived
        template = RepositoryCreationTemplate(self, "Template", prefix=self._prefix, **settings)
        if isinstance(old, RepositoryCreationTemplate):
            template.adopt_repository_policy(old)
        return template

    @staticmethod
    def _carried(source: RepositoryCreationTemplate | None) -> dict:
        """The settings a template defined for the rule takes over from ``source`` (its role included)."""
        return {} if source is None else {"applied_for": source.applied_for, **source.settings.as_kwargs()}

    def _grant(self, grantee: iam.IGrantable, actions: tuple[str, ...]) -> iam.Grant:
        return grant_on_rules([self], grantee, actions)

    def _target(self) -> _grants.Target:
        return _grants.Target(self.repository_arn_pattern, self._tags, self._share)

    def _tags(self) -> bool:
        """Tells whether the template that covers the rule now tags the repositories it creates."""
        return self._template is not None and self._template.tags_repositories

    def _resource_side(self) -> _grants.ResourceSide:
        return _grants.ResourceSide(lambda: RegistryPolicy.of(self), self._account)

    def _record(self, grantee: iam.IGrantable, resource_side: bool) -> None:
        self._grants.append((grantee, resource_side))

    def _repository_policy(self) -> RepositoryCreationTemplate:
        """The template with the rule's own prefix, whose repository policy takes V1 pull grants.

        When the rule has none, one is defined with the settings (and role) of the template that covers
        the rule, so that nothing else about its repositories changes; it follows a covering template
        declared later, and gives way to repository settings given later.
        """
        template = self._template
        if template is not None and normalize_prefix(template.prefix) == normalize_prefix(self._prefix):
            return template
        return self._define_template(self._carried(self._source), derived=True)

    def _share(self, add_to: Callable[[iam.IResourceWithPolicyV2], iam.Grant]) -> list[iam.Grant]:
        """Applies a V1 repository-policy grant to the rule's own template and those of more specific prefixes
        (the templates that create the rule's repositories), now and as they are declared."""
        self._shared.append(add_to)
        return [add_to(template) for template in [self._repository_policy(), *self._templates_nested()]]

    def _templates_nested(self) -> list[RepositoryCreationTemplate]:
        """The templates of more specific prefixes that are still in the tree (a replaced one is not)."""
        return [t for t in self._nested if t.node.scope and t.node.scope.node.try_find_child(t.node.id) is t]

    def _on_nested(self, template: Template) -> None:
        assert isinstance(template, RepositoryCreationTemplate)
        self._nested.append(template)
        for add_to in self._shared:
            add_to(template)

    def _on_covered(self, template: Template, most_specific: bool) -> None:
        """Learns of a template that covers the rule: the rule's template when it is the most specific.

        Identity grants read the rule's template at synth (:meth:`_tags`), so ``ecr:TagResource`` follows the
        template that covers the rule last; the first time a template tags, grants that used the resource side
        get its ``ecr:TagResource`` there too (rendered only while a tagging template covers the rule).
        """
        assert isinstance(template, RepositoryCreationTemplate)
        own = normalize_prefix(template.prefix) == normalize_prefix(self._prefix)
        # >=: a template that replaces the source (same prefix, e.g. settings given to a ROOT rule later) is followed
        if not own and (self._source is None or specificity(template.prefix) >= specificity(self._source.prefix)):
            self._source = template
            if self._derived:
                self._define_template(self._carried(template), derived=True)
                return
        if not most_specific:
            return
        self._template = template
        if template.tags_repositories and not self._tagged_once:
            self._tagged_once = True
            target = _grants.Target(self.repository_arn_pattern, self._tags, None)
            for grantee, resource_side in self._grants:
                if resource_side:
                    _grants.grant_tag_resource(self, grantee, [target], self._resource_side())

    def _custom_role(self) -> iam.IRole | None:
        upstream = self._upstream
        if upstream.registry is not UpstreamRegistry.ECR:
            return None
        if upstream.role is not None:
            role_account = upstream.role.env.account
            if same(role_account, self._account) is False:
                raise fail(
                    self,
                    f"the ECR-to-ECR role must be in the cache's account {self._account}",
                    f"a role of account {role_account}",
                    f"Use a role of account {self._account}, or let the rule create one (role=None).",
                )
            return upstream.role
        if same(upstream.account, self._account):
            return None
        assert upstream.account is not None and upstream.region is not None  # an ECR upstream names both
        return EcrUpstreamRole(
            self,
            "UpstreamRole",
            upstream_account=upstream.account,
            upstream_region=upstream.region,
            upstream_repository_prefix=upstream.upstream_repository_prefix,
            cache_repository_arn=self.repository_arn_pattern,
        )

    def warm(
        self,
        images: Sequence[str],
        *,
        platforms: Sequence[str] = (),
        fail_on_error: bool = True,
        concurrency: int = 2,
        time_per_image: Duration | None = None,
        exclude_from_pull_time: bool = True,
    ) -> CacheWarming:
        """Pulls ``images`` through this rule during the deploy, so that first pulls are fast and bad
        credentials fail the deploy (see :class:`~cdk_ecr_ptc.warming.CacheWarming`).

        Args:
            images: upstream repository paths with a tag, as for :meth:`image_uri` (``"nginx:1.27"``,
                ``"prometheus/prometheus:v2.53.0"``), or full references of this rule's upstream.
            The other arguments are those of :class:`~cdk_ecr_ptc.warming.CacheWarming`, with its defaults.
        """
        from .warming import CacheWarming  # only then: it brings in aws_lambda

        if self.node.try_find_child("Warming") is not None:
            raise fail(self, "the rule already warms images", self._prefix, "Give every image in one warm() call.")
        return CacheWarming(
            self,
            "Warming",
            rules=[self],
            images=images,
            through=self,
            platforms=platforms,
            fail_on_error=fail_on_error,
            concurrency=concurrency,
            time_per_image=time_per_image,
            exclude_from_pull_time=exclude_from_pull_time,
        )


def grant_on_rules(
    rules: Sequence[PullThroughCacheRule], grantee: iam.IGrantable, actions: tuple[str, ...]
) -> iam.Grant:
    """Grants ``actions`` on the repositories of ``rules`` (of one stack) at once, plus ``ecr:TagResource``
    on those whose template tags, and records the grant on each rule for templates declared later."""
    scope = rules[0]
    granted, resource_side = _grants.grant(
        scope, grantee, actions, [rule._target() for rule in rules], scope._resource_side()
    )
    for rule in rules:
        rule._record(grantee, resource_side)
    return granted if granted is not None else iam.Grant.drop(_grants.grantable(scope, grantee), "nothing to grant")
