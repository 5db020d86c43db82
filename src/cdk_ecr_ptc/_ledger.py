"""One bookkeeping construct per app: rules, templates and registry policies across stacks, merged grants."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ._env import resolved
from ._jsii import Validation
from ._validation import ROOT

if TYPE_CHECKING:
    from .creation_template import RepositoryCreationTemplate
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


def covers(template_prefix: str, repository_prefix: str) -> bool:
    """Tells whether a template with ``template_prefix`` covers the repositories under ``repository_prefix``."""
    if template_prefix == ROOT:
        return True
    base = template_prefix.rstrip("/")
    return repository_prefix != ROOT and (repository_prefix == base or repository_prefix.startswith(base + "/"))


def _duplicates(items: list[tuple[str, str, str]]) -> dict[tuple[str, str], list[str]]:
    """Groups (registry, prefix, path) triples by registry and prefix, keeping groups of two or more.

    ECR assumes a trailing ``/`` on every prefix, so ``a`` and ``a/`` are the same prefix.
    """
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for registry, prefix, path in items:
        if resolved(prefix):
            groups[(registry, prefix.rstrip("/"))].append(path)
    return {key: paths for key, paths in groups.items() if len(paths) > 1}


class Ledger(Construct):
    """Tracks what the library defined in one app, to check limits that span stacks and to link
    rules with the creation templates that cover them, whichever is declared first."""

    ID = "cdk-ecr-ptc.Ledger"

    @classmethod
    def of(cls, scope: IConstruct) -> Ledger:
        """Returns the app's ledger, defining it on first use."""
        root = scope.node.root
        existing = root.node.try_find_child(cls.ID)
        return existing if existing is not None else cls(root, cls.ID)

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._rules: list[tuple[str, PullThroughCacheRule]] = []
        self._templates: list[tuple[str, RepositoryCreationTemplate]] = []
        self._registry_policies: list[tuple[str, RegistryPolicy]] = []
        self._identity_grants: dict[tuple[str, tuple[str, ...]], iam.Grant] = {}
        self._without_policy: set[str] = set()
        self.node.add_validation(Validation(self._validate))

    def add_rule(self, rule: PullThroughCacheRule) -> None:
        """Records a rule, and links it with the template that covers it."""
        registry = _registry_key(rule)
        self._rules.append((registry, rule))
        self._link(registry)

    def add_template(self, template: RepositoryCreationTemplate) -> None:
        """Records a creation template, and links it with the rules it covers."""
        registry = _registry_key(template)
        self._templates.append((registry, template))
        self._link(registry)

    def add_registry_policy(self, policy: RegistryPolicy) -> None:
        """Records a registry policy for the one-per-registry check."""
        self._registry_policies.append((_registry_key(policy), policy))

    def grant_identity(self, grantee: iam.IGrantable, actions: Sequence[str],
                       resource_arns: Sequence[str]) -> iam.Grant | None:
        """Grants through the principal's own policy, adding to its earlier statement with the same actions.

        Granting one role on twenty rules gives one statement with twenty resources, not twenty
        statements. The returned grant holds that shared statement; ``None`` means the principal has
        no policy of its own to add to (an ``ArnPrincipal``, an account, an imported immutable role).
        """
        principal = grantee.grant_principal.__jsii_ref__.ref
        if principal in self._without_policy:
            return None
        key = (principal, tuple(actions))
        grant = self._identity_grants.get(key)
        if grant is not None:
            grant.principal_statement.add_resources(*resource_arns)
            return grant
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=list(resource_arns))
        if not grant.success:
            self._without_policy.add(principal)
            return None
        self._identity_grants[key] = grant
        return grant

    def _link(self, registry: str) -> None:
        """Tells every rule of ``registry`` the most specific pull-through cache template covering it."""
        templates = [t for key, t in self._templates
                     if key == registry and t.applies_to_pull_through_cache and resolved(t.prefix)]
        for key, rule in self._rules:
            if key != registry or not resolved(rule.prefix):
                continue
            covering = [t for t in templates if covers(t.prefix, rule.prefix)]
            if covering:
                rule._use_template(max(covering, key=lambda t: -1 if t.prefix == ROOT else len(t.prefix)))

    def _validate(self) -> list[str]:
        errors = []
        rule_counts: dict[str, int] = defaultdict(int)
        for registry, _ in self._rules:
            rule_counts[registry] += 1
        for registry, count in rule_counts.items():
            if count > MAX_RULES_PER_REGISTRY:
                errors.append(f"{registry} has {count} pull-through cache rules across the app; "
                              f"ECR allows {MAX_RULES_PER_REGISTRY} per registry (not adjustable). "
                              "Remove rules or spread them over Regions.")
        for what, items in (("rules", self._rules), ("creation templates", self._templates)):
            triples = [(registry, item.prefix, item.node.path) for registry, item in items]
            for (registry, prefix), paths in _duplicates(triples).items():
                errors.append(f"{registry} has several {what} with prefix {prefix!r}: {', '.join(paths)}. "
                              f"Prefixes of {what} must be unique per registry; keep one of them.")
        policies: dict[str, list[str]] = defaultdict(list)
        for registry, policy in self._registry_policies:
            policies[registry].append(policy.node.path)
        for registry, paths in policies.items():
            if len(paths) > 1:
                errors.append(f"{registry} gets a registry policy from several stacks: {', '.join(paths)}. "
                              "A registry has one policy and each would overwrite the other; grant from "
                              "one stack per account and Region.")
        return errors
