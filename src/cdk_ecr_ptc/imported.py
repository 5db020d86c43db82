"""A pull-through cache of another account or stack, seen from the stacks that pull through it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import aws_iam as iam
from constructs import Construct

from . import _grants
from ._actions import PULL, PULL_THROUGH
from ._validation import Interface, Items, check_cache_region, check_construct, check_prefix, check_type, fail
from .attributes import RuleDescription, rule_attributes
from .rule import PullThroughCacheRuleBase, rule_id
from .upstream import Upstream, check_ecr_registry

__all__ = ["ImportedPullThroughCache", "ImportedPullThroughCacheRule"]


class ImportedPullThroughCacheRule(PullThroughCacheRuleBase):
    """A rule of a cache defined elsewhere: image URIs, and grants through the grantee's own policy.

    The cache's account must allow the grantee's account too (``cache.grant_pull(AccountPrincipal(...))``
    in the cache's stack): cross-account access needs both sides.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        prefix: str,
        account: str,
        region: str,
        docker_hub: bool,
        tags_repositories: bool,
        upstream: Upstream | None = None,
    ) -> None:
        check_construct(
            "ImportedPullThroughCacheRule",
            scope,
            id,
            tags_repositories=(tags_repositories, bool),
            upstream=(upstream, (Interface("Upstream", "validate_for"), None)),
        )
        super().__init__(scope, id, prefix=prefix, account=account, region=region, docker_hub=docker_hub)
        self._tags_repositories = tags_repositories
        self._upstream = upstream

    @property
    def upstream(self) -> Upstream | None:
        """The rule's upstream, when the import names it (then image URIs take full references)."""
        return self._upstream

    def _target(self) -> _grants.Target:
        tags = self._tags_repositories
        return _grants.Target(self.repository_arn_pattern, lambda: tags)

    def _resource_side(self) -> None:
        return None


class ImportedPullThroughCache(Construct):
    """The rules of a pull-through cache defined elsewhere (typically a central cache account)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        account: str,
        region: str,
        prefixes: Mapping[str, RuleDescription] | Sequence[str],
        docker_hub_prefixes: Sequence[str] = (),
        tagged_prefixes: Sequence[str] = (),
    ) -> None:
        """
        Args:
            scope: the parent construct.
            id: the construct id.
            account: the cache's account.
            region: the cache's Region.
            prefixes: the cache's rules: prefix -> ``RuleAttributes`` (or just the ``UpstreamRegistry``, or
                the JSON form that ``cache.attributes()`` renders). A list of prefixes is deprecated.
            docker_hub_prefixes: deprecated (with a list of prefixes): those whose upstream is Docker Hub.
                Default: - the prefix ``docker-hub``, if listed.
            tagged_prefixes: deprecated (with a list of prefixes): those whose creation template tags
                repositories, so that pullers also get ``ecr:TagResource``. Default: - none.
        """
        check_construct(
            "ImportedPullThroughCache",
            scope,
            id,
            account=(account, str),
            region=(region, str),
            docker_hub_prefixes=(docker_hub_prefixes, Items(str)),
            tagged_prefixes=(tagged_prefixes, Items(str)),
        )
        super().__init__(scope, id)
        check_ecr_registry(self, account, region)
        check_cache_region(self, region)
        check_type(
            self,
            "prefixes",
            prefixes,
            (dict, list, tuple),
            "Pass prefix -> RuleAttributes, such as prefixes={'quay': UpstreamRegistry.QUAY}.",
        )
        self._rules: dict[str, ImportedPullThroughCacheRule] = {}
        for prefix, attributes in rule_attributes(self, prefixes, docker_hub_prefixes, tagged_prefixes).items():
            check_prefix(self, "prefix", prefix)
            self._rules[prefix] = ImportedPullThroughCacheRule(
                self,
                rule_id(prefix),
                prefix=prefix,
                account=account,
                region=region,
                docker_hub=attributes.docker_hub,
                tags_repositories=attributes.tags_repositories,
                upstream=attributes.upstream(prefix),
            )

    def rule(self, prefix: str) -> ImportedPullThroughCacheRule:
        """Returns the rule with ``prefix``.

        Args:
            prefix: the rule's prefix.
        """
        if prefix not in self._rules:
            raise fail(self, "the cache has no rule with this prefix", prefix, f"Use one of {sorted(self._rules)}.")
        return self._rules[prefix]

    @property
    def rules(self) -> list[ImportedPullThroughCacheRule]:
        """The rules, in the order of ``prefixes``."""
        return list(self._rules.values())

    def grant_pull_through(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants :meth:`PullThroughCacheRuleBase.grant_pull_through` on every rule, in one statement.

        Args:
            grantee: the principal that pulls.
        """
        return _grant_on_rules(self.rules, grantee, PULL_THROUGH)

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants :meth:`PullThroughCacheRuleBase.grant_pull` on every rule, in one statement.

        Args:
            grantee: the principal that pulls.
        """
        return _grants.with_auth_token(self, grantee, _grant_on_rules(self.rules, grantee, PULL_THROUGH + PULL))


def _grant_on_rules(
    rules: Sequence[ImportedPullThroughCacheRule], grantee: iam.IGrantable, actions: tuple[str, ...]
) -> iam.Grant:
    """Grants ``actions`` on the rules' repositories through the grantee's own policy (and
    ``ecr:TagResource`` on the tagged ones); an unsuccessful grant when the grantee has none."""
    granted, _ = _grants.grant(rules[0], grantee, actions, [rule._target() for rule in rules], None)
    return (
        granted
        if granted is not None
        else iam.Grant.drop(
            _grants.grantable(rules[0], grantee),
            ("pull through a cache of another stack: the grantee has no policy here"),
        )
    )
