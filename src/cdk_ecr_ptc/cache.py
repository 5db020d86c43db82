"""A set of pull-through cache rules declared together."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Token
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._validation import fail
from .registry_policy import RegistryPolicy
from .rule import PullThroughCacheRule
from .upstream import Upstream


def _rule_id(prefix: str) -> str:
    """The construct id of a cache's rule: the prefix, with ``/`` (not allowed in ids) written ``+``."""
    return prefix.replace("/", "+")


class PullThroughCache(Construct):
    """Defines a pull-through cache: one rule per upstream, and the permissions to pull through them.

    Each rule's construct id, and so its logical ID, is its prefix: reordering or adding upstreams
    never replaces a rule. Grants on the cache apply to every rule, including rules added later.
    """

    def __init__(self, scope: Construct, id: str, *, upstreams: Sequence[Upstream] = ()) -> None:
        """
        Args:
            scope: the parent construct.
            id: the construct id.
            upstreams: the upstream registries to cache. Default: - none; add them with :meth:`add_upstream`.
        """
        super().__init__(scope, id)
        self._rules: dict[str, PullThroughCacheRule] = {}
        self._grants: list[tuple[iam.IGrantable, bool]] = []
        for upstream in upstreams:
            self.add_upstream(upstream)

    def add_upstream(self, upstream: Upstream) -> PullThroughCacheRule:
        """Adds a rule for ``upstream`` under its prefix, and applies the cache's grants to it.

        Args:
            upstream: the upstream registry.
        """
        prefix = upstream.prefix
        if Token.is_unresolved(prefix):
            raise fail(self, "a cache's rule prefix must be a concrete string (it names the rule's logical ID)",
                       prefix, "Pass a literal prefix, or define a PullThroughCacheRule directly.")
        if prefix in self._rules:
            raise fail(self, "two upstreams use the same prefix", prefix,
                       "Give one of them another prefix with prefix='...'.")
        rule = PullThroughCacheRule(self, _rule_id(prefix), upstream=upstream)
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
            raise fail(self, "the cache has no rule with this prefix", prefix,
                       f"Use one of {sorted(self._rules)}.")
        return self._rules[prefix]

    @property
    def rules(self) -> list[PullThroughCacheRule]:
        """The rules, in the order they were added."""
        return list(self._rules.values())

    @property
    def registry_policy(self) -> RegistryPolicy:
        """The registry policy of the cache's stack (defined on first use)."""
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
        self._grants.append((grantee, pull))
        grants = [rule.grant_pull(grantee) if pull else rule.grant_pull_through(grantee) for rule in self.rules]
        if not grants:
            return iam.Grant.drop(grantee, "pull through a cache that has no rules yet")
        combined = grants[0]
        for grant in grants[1:]:
            combined = combined.combine(grant)
        return combined
