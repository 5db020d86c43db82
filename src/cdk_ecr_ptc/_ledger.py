"""One bookkeeping construct per app: rules and registry policies across stacks, merged identity grants."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ._env import resolved
from ._jsii import Validation

if TYPE_CHECKING:
    from .registry_policy import RegistryPolicy
    from .rule import PullThroughCacheRule

#: Pull-through cache rules per registry (account and Region); not adjustable.
MAX_RULES_PER_REGISTRY = 50


def _registry_key(scope: IConstruct) -> str:
    """Names the registry (account and Region) of ``scope``'s stack, or the stack when either is unknown."""
    stack = Stack.of(scope)
    if resolved(stack.account) and resolved(stack.region):
        return f"account {stack.account}, region {stack.region}"
    return f"stack {stack.node.path} (environment-agnostic)"


class Ledger(Construct):
    """Tracks what the library defined in one app, to check limits that span stacks."""

    ID = "cdk-ecr-ptc.Ledger"

    @classmethod
    def of(cls, scope: IConstruct) -> Ledger:
        """Returns the app's ledger, defining it on first use."""
        root = scope.node.root
        existing = root.node.try_find_child(cls.ID)
        return existing if existing is not None else cls(root, cls.ID)

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._rules: list[PullThroughCacheRule] = []
        self._registry_policies: list[RegistryPolicy] = []
        self._identity_grants: dict[tuple[str, tuple[str, ...]], iam.Grant] = {}
        self.node.add_validation(Validation(self._validate))

    def add_rule(self, rule: PullThroughCacheRule) -> None:
        """Records a rule for the per-registry checks."""
        self._rules.append(rule)

    def add_registry_policy(self, policy: RegistryPolicy) -> None:
        """Records a registry policy for the one-per-registry check."""
        self._registry_policies.append(policy)

    def grant_identity(self, grantee: iam.IGrantable, actions: Sequence[str],
                       resource_arns: Sequence[str]) -> iam.Grant:
        """Grants through the principal's own policy, adding to its earlier statement with the same actions.

        Granting one role on twenty rules gives one statement with twenty resources, not twenty
        statements. The returned grant holds that shared statement.
        """
        key = (grantee.grant_principal.__jsii_ref__.ref, tuple(actions))
        grant = self._identity_grants.get(key)
        if grant is not None:
            grant.principal_statement.add_resources(*resource_arns)
            return grant
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=list(actions),
                                           resource_arns=list(resource_arns))
        if grant.success:
            self._identity_grants[key] = grant
        return grant

    def _validate(self) -> list[str]:
        errors = []
        rules_by_registry: dict[str, list[PullThroughCacheRule]] = defaultdict(list)
        for rule in self._rules:
            rules_by_registry[_registry_key(rule)].append(rule)
        for registry, rules in rules_by_registry.items():
            if len(rules) > MAX_RULES_PER_REGISTRY:
                errors.append(f"{registry} has {len(rules)} pull-through cache rules across the app; "
                              f"ECR allows {MAX_RULES_PER_REGISTRY} per registry (not adjustable). "
                              "Remove rules or spread them over Regions.")
            by_prefix: dict[str, list[str]] = defaultdict(list)
            for rule in rules:
                if resolved(rule.prefix):
                    by_prefix[rule.prefix].append(rule.node.path)
            for prefix, paths in by_prefix.items():
                if len(paths) > 1:
                    errors.append(f"{registry} has several rules with prefix {prefix!r}: {', '.join(paths)}. "
                                  "Rule prefixes must be unique per registry; keep one of them.")
        policies_by_registry: dict[str, list[str]] = defaultdict(list)
        for policy in self._registry_policies:
            policies_by_registry[_registry_key(policy)].append(policy.node.path)
        for registry, paths in policies_by_registry.items():
            if len(paths) > 1:
                errors.append(f"{registry} gets a registry policy from several stacks: {', '.join(paths)}. "
                              "A registry has one policy and each would overwrite the other; grant from "
                              "one stack per account and Region.")
        return errors
