"""A set of pull-through cache rules declared together."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import AspectPriority, Aspects, Duration
from aws_cdk import aws_iam as iam
from aws_cdk.interfaces import ResourceEnvironment
from constructs import Construct, IConstruct

from . import _grants
from ._actions import PULL, PULL_THROUGH
from ._env import facts, resolved
from ._model import RegistryPolicyScope
from ._validation import ROOT, check_arguments, check_construct, check_interface, check_prefix, check_type, fail
from .attributes import RuleAttributes, cache_attributes
from .creation_template import RepositoryCreationTemplate, RepositorySettings
from .imported import ImportedPullThroughCache
from .registry_policy import RegistryPolicy
from .rule import PullThroughCacheRule, grant_on_rules, rule_id
from .upstream import Upstream

__all__ = ["PullThroughCache"]


@jsii.implements(iam.IResourceWithPolicyV2)
class _FutureRules:
    """Stands for the rules a cache will have: a grant on a cache without rules yet is recorded here (so it
    reports success) and applied to each rule as it is added."""

    def __init__(self, cache: PullThroughCache) -> None:
        self._cache = cache

    @property
    def env(self) -> ResourceEnvironment:
        stack = facts(self._cache)
        return ResourceEnvironment(account=stack.account, region=stack.region)

    def add_to_resource_policy(self, statement: iam.PolicyStatement) -> iam.AddToResourcePolicyResult:
        return iam.AddToResourcePolicyResult(statement_added=True, policy_dependable=self._cache)


if TYPE_CHECKING:
    from .container_image import PullThroughCacheContainerImage
    from .routing import PullThroughCacheImages
    from .warming import CacheWarming, WarmImage


class PullThroughCache(Construct):
    """Defines a pull-through cache: one rule per upstream, and the permissions to pull through them.

    Each rule's construct id, and so its logical ID, is its prefix: reordering or adding upstreams
    never replaces a rule. Grants on the cache apply to every rule, including rules added later.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        upstreams: Sequence[Upstream] = (),
        repository_settings: RepositorySettings | None = None,
        registry_policy_scope: RegistryPolicyScope | None = None,
        ensure_registry_policy_scope: bool = False,
    ) -> None:
        """
        Args:
            scope: the parent construct.
            id: the construct id.
            upstreams: the upstream registries to cache. Default: - none; add them with :meth:`add_upstream`.
            repository_settings: settings of every rule's repositories: one creation template per rule
                prefix. Default: - none (ECR's defaults).
            registry_policy_scope: the registry-policy scope of the account and Region, declared for the
                stack's registry policy. ``V2`` puts every granted action in the registry policy; ``V1``
                keeps pull actions in the repository policies of the rules' creation templates.
                Default: - as declared for the stack, else ``V1`` (what every account accepts).
            ensure_registry_policy_scope: set the account's scope to ``V2`` with ``ecr:PutAccountSetting``
                (a custom resource, run before the registry policy is written; nothing is undone on
                delete). Implies ``V2``. Default: ``False``.
        """
        check_construct(
            "PullThroughCache", scope, id, ensure_registry_policy_scope=(ensure_registry_policy_scope, bool)
        )
        super().__init__(scope, id)
        self._rules: dict[str, PullThroughCacheRule] = {}
        self._grants: list[tuple[iam.IGrantable, bool]] = []
        self._repository_settings = repository_settings
        check_type(self, "upstreams", upstreams, (list, tuple), "Pass a list, such as upstreams=[Upstream.quay()].")
        check_type(
            self,
            "repository_settings",
            repository_settings,
            RepositorySettings,
            "Pass RepositorySettings(...).",
            optional=True,
        )
        if registry_policy_scope is not None or ensure_registry_policy_scope:
            RegistryPolicy.of(
                self,
                registry_policy_scope=registry_policy_scope,
                ensure_registry_policy_scope=ensure_registry_policy_scope,
            )
        for upstream in upstreams:
            self.add_upstream(upstream)

    @staticmethod
    def from_cache_attributes(
        scope: Construct,
        id: str,
        *,
        account: str,
        region: str,
        prefixes: Sequence[str],
        docker_hub_prefixes: Sequence[str] = (),
        tagged_prefixes: Sequence[str] = (),
    ) -> ImportedPullThroughCache:
        """Imports a cache of another account or stack, to build image URIs and grant its pullers.

        Grants add to the grantees' own policies, on the cache's repository ARNs; the cache's stack
        must grant the grantees' account too (``cache.grant_pull(iam.AccountPrincipal(...))``). The
        arguments are those of :class:`ImportedPullThroughCache`.
        """
        return ImportedPullThroughCache(
            scope,
            id,
            account=account,
            region=region,
            prefixes=prefixes,
            docker_hub_prefixes=docker_hub_prefixes,
            tagged_prefixes=tagged_prefixes,
        )

    def add_upstream(
        self, upstream: Upstream, *, repository_settings: RepositorySettings | None = None
    ) -> PullThroughCacheRule:
        """Adds a rule for ``upstream`` under its prefix, and applies the cache's grants to it.

        Args:
            upstream: the upstream registry.
            repository_settings: settings of this rule's repositories. Default: - the cache's settings.
        """
        check_interface(
            self, "upstream", upstream, "Upstream", "validate_for", "Use a factory, such as Upstream.quay()."
        )
        check_arguments(self, repository_settings=(repository_settings, (RepositorySettings, None)))
        prefix = upstream.prefix
        if not resolved(prefix):
            raise fail(
                self,
                "a cache's rule prefix must be a concrete string (it names the rule's logical ID)",
                prefix,
                "Pass a literal prefix, or define a PullThroughCacheRule directly.",
            )
        check_prefix(self, "prefix", prefix)
        if prefix.rstrip("/") in (known.rstrip("/") for known in self._rules):
            raise fail(
                self,
                "two upstreams use the same prefix (a trailing '/' is implied)",
                prefix,
                "Give one of them another prefix with prefix='...'.",
            )
        rule = PullThroughCacheRule(
            self,
            rule_id(prefix),
            upstream=upstream,
            repository_settings=repository_settings or self._repository_settings,
        )
        self._rules[prefix] = rule
        for grantee, pull in self._grants:
            rule.grant_pull(grantee) if pull else rule.grant_pull_through(grantee)
        return rule

    def rule(self, prefix: str) -> PullThroughCacheRule:
        """Returns the rule with ``prefix``.

        Args:
            prefix: the rule's prefix.
        """
        if prefix not in self._rules:
            raise fail(self, "the cache has no rule with this prefix", prefix, f"Use one of {sorted(self._rules)}.")
        return self._rules[prefix]

    def add_repository_settings(self, settings: RepositorySettings, *, prefix: str) -> RepositoryCreationTemplate:
        """Defines the creation template of one rule's repositories, or with ``ROOT`` of all the others.

        Args:
            settings: the repository settings.
            prefix: a rule's prefix, or ``ROOT`` for every repository no other template covers.
        """
        check_arguments(self, settings=(settings, RepositorySettings), prefix=(prefix, str))
        if prefix == ROOT and ROOT not in self._rules:
            return RepositoryCreationTemplate(self, "RootTemplate", prefix=ROOT, **settings.as_kwargs())
        if prefix not in self._rules:
            raise fail(
                self,
                "repository settings must name one of the cache's rule prefixes or ROOT",
                prefix,
                f"Use one of {sorted(self._rules) + [ROOT]}.",
            )
        return self._rules[prefix].add_repository_settings(settings)

    @property
    def rules(self) -> list[PullThroughCacheRule]:
        """The rules, in the order they were added."""
        return list(self._rules.values())

    @property
    def registry_policy(self) -> RegistryPolicy:
        """The registry policy of the cache's stack; its resource is defined once a statement is added."""
        return RegistryPolicy.of(self)

    def grant_pull_through(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants :meth:`PullThroughCacheRule.grant_pull_through` on every rule, present and future.

        Args:
            grantee: the principal that pulls.
        """
        return self._grant(grantee, pull=False)

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants :meth:`PullThroughCacheRule.grant_pull` on every rule, present and future.

        Args:
            grantee: the principal that pulls.
        """
        return self._grant(grantee, pull=True)

    def _grant(self, grantee: iam.IGrantable, *, pull: bool) -> iam.Grant:
        grantable = _grants.grantable(self, grantee)
        self._grants.append((grantable, pull))
        actions = PULL_THROUGH + PULL if pull else PULL_THROUGH
        if not self._rules:
            return iam.Grant.add_statement_to_resource_policy(
                grantee=grantable,
                actions=list(actions),
                resource_arns=[],
                resource=_FutureRules(self),
                statement=iam.PolicyStatement(actions=list(actions)),  # never rendered; a group is no Principal
            )
        grant = grant_on_rules(self.rules, grantable, actions)
        return _grants.with_auth_token(self, grantable, grant) if pull else grant

    def warm(
        self,
        images: Sequence[str | WarmImage],
        *,
        platforms: Sequence[str] = (),
        fail_on_error: bool = True,
        concurrency: int = 2,
        time_per_image: Duration | None = None,
        exclude_from_pull_time: bool = True,
    ) -> CacheWarming:
        """Pulls ``images`` through the cache's rules during the deploy, so that first pulls are fast and bad
        credentials fail the deploy (see :class:`~cdk_ecr_ptc.warming.CacheWarming`).

        Args:
            images: references routed to the rule of their registry (``"nginx:1.27"`` is Docker Hub's,
                ``"quay.io/prometheus/prometheus:v2.53.0"`` Quay's), or :class:`~cdk_ecr_ptc.warming.WarmImage`.
            The other arguments are those of :class:`~cdk_ecr_ptc.warming.CacheWarming`, with its defaults.
        """
        from .warming import CacheWarming  # only then: it brings in aws_lambda

        check_type(self, "images", images, (list, tuple), "Pass a list, such as ['nginx:1.27'].")
        if self.node.try_find_child("Warming") is not None:
            raise fail(self, "the cache already warms images", len(images), "Give every image in one warm() call.")
        return CacheWarming(
            self,
            "Warming",
            rules=self.rules,
            images=images,
            platforms=platforms,
            fail_on_error=fail_on_error,
            concurrency=concurrency,
            time_per_image=time_per_image,
            exclude_from_pull_time=exclude_from_pull_time,
        )

    @property
    def registry_host(self) -> str:
        """The host of the cache's registry, ``<account>.dkr.ecr.<region>.<suffix>`` (tokens in
        environment-agnostic stacks): for ``docker login`` and node configuration."""
        stack = facts(self)
        return f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}"

    def image_uri(self, reference: str) -> str:
        """Returns the URI to pull ``reference`` through the rule whose upstream is the reference's host.

        ``reference`` is parsed as Docker does: ``nginx:1.27`` is ``docker.io/library/nginx:1.27``,
        ``quay.io/prometheus/prometheus@sha256:...`` is Quay's.

        Args:
            reference: an upstream image reference.
        """
        from .routing import rule_for

        rule, image = rule_for(self, reference)
        return rule.image_uri(str(image))  # with its host, which the rule strips

    def container_image(self, reference: str) -> PullThroughCacheContainerImage:
        """Returns an ECS container image of ``reference`` through the cache; binding it to a container
        grants the task's execution role the pull on the image's rule.

        Args:
            reference: an upstream image reference, as :meth:`image_uri` takes it.
        """
        from .container_image import PullThroughCacheContainerImage
        from .routing import rule_for

        rule, image = rule_for(self, reference)
        return PullThroughCacheContainerImage(rule, rule.image_uri(str(image)))

    def route_images(
        self,
        *,
        scope: IConstruct | None = None,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        rewrite: bool = True,
        node_roles: Sequence[iam.IGrantable] = (),
    ) -> PullThroughCacheImages:
        """Returns the Aspect that routes the images under a scope through this cache, and grants their pullers.

        Add it with ``Aspects.of(app).add(cache.route_images(), priority=AspectPriority.MUTATING)``, or pass
        ``scope=`` to have it added so. The arguments are those of :class:`PullThroughCacheImages`.

        Args:
            scope: the scope to add the Aspect to (at ``AspectPriority.MUTATING``). Default: - not added.
            include: glob patterns of hosts or ``host/repository`` to route. Default: - every image.
            exclude: glob patterns of images to leave alone. Default: - none.
            rewrite: ``False`` for a dry run that only warns. Default: ``True``.
            node_roles: Kubernetes node roles to grant. Default: - none; a warning names them.
        """
        from .routing import PullThroughCacheImages

        check_arguments(self, scope=(scope, (Construct, None)))
        aspect = PullThroughCacheImages(self, include=include, exclude=exclude, rewrite=rewrite, node_roles=node_roles)
        if scope is not None:
            Aspects.of(scope).add(aspect, priority=AspectPriority.MUTATING)
        return aspect

    def route_manifest(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Returns a copy of a Kubernetes manifest whose container images (``containers``,
        ``initContainers``, ``ephemeralContainers`` of every workload kind) are routed through the cache.

        Images of upstreams without a rule are kept. Grant the nodes that pull them yourself:
        ``cache.grant_pull(nodegroup.role)``.

        Args:
            manifest: a Kubernetes object, as ``cluster.add_manifest(...)`` takes it.
        """
        from .routing import route_manifest

        return route_manifest(self, manifest)

    def attributes(self) -> str:
        """Returns, as JSON, what :meth:`from_cache_attributes` needs to import this cache elsewhere:
        ``PullThroughCache.from_cache_attributes(scope, id, **json.loads(text))``.

        For an SSM parameter or a shared file. In an environment-agnostic stack the account and Region
        are tokens, and the JSON is a token that CloudFormation resolves (an SSM parameter's value).
        """
        stack = facts(self)
        rules = {
            rule.prefix: RuleAttributes(
                registry=rule.upstream.registry,
                url=rule.upstream.url,
                upstream_repository_prefix=rule.upstream.upstream_repository_prefix,
                tags_repositories=rule.template is not None and rule.template.tags_repositories,
            )
            for rule in self.rules
        }
        attributes = cache_attributes(stack.account, stack.region, rules)
        if resolved(stack.account) and resolved(stack.region):
            return json.dumps(attributes, sort_keys=True)
        return stack.stack.to_json_string(attributes)
