"""One bookkeeping construct per app: rules, templates and registry policies across stacks, merged grants."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ._env import facts, resolved
from ._jsii import Validation
from ._nag import REPOSITORY_WILDCARD_REASON, nag_form
from ._validation import ROOT

if TYPE_CHECKING:
    from .creation_template import RepositoryCreationTemplate
    from .registry_policy import RegistryPolicy
    from .rule import PullThroughCacheRule, PullThroughCacheRuleBase

#: Pull-through cache rules per registry (account and Region); not adjustable.
MAX_RULES_PER_REGISTRY = 50


def covers(template_prefix: str, repository_prefix: str) -> bool:
    """Tells whether a template with ``template_prefix`` covers the repositories under ``repository_prefix``."""
    if template_prefix == ROOT:
        return True
    base = template_prefix.rstrip("/")
    return repository_prefix != ROOT and (repository_prefix == base or repository_prefix.startswith(base + "/"))


def _concrete(prefix: str) -> str | None:
    """The prefix when it is a concrete string; ``None`` for a token (it then matches nothing)."""
    return prefix if resolved(prefix) else None


def _specificity(template_prefix: str) -> int:
    return -1 if template_prefix == ROOT else len(template_prefix)


def _offer(rule: PullThroughCacheRule, rule_prefix: str, template: RepositoryCreationTemplate,
           template_prefix: str | None) -> None:
    """Gives ``rule`` the template when it covers the rule more specifically than its current one (ECR's rule)."""
    if template_prefix is None or not covers(template_prefix, rule_prefix):
        return
    current = rule.template
    if current is None or _specificity(template_prefix) > _specificity(current.prefix):
        rule._use_template(template)


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
        """Returns the app's ledger, defining it on first use (and remembering it for ``scope``'s stack)."""
        known = facts(scope)
        if known.ledger is None:
            root = scope.node.root
            known.ledger = root.node.try_find_child(cls.ID) or cls(root, cls.ID)
        return known.ledger

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        # (registry, item, prefix when it is a concrete string)
        self._rules: list[tuple[str, PullThroughCacheRule, str | None]] = []
        self._templates: list[tuple[str, RepositoryCreationTemplate, str | None]] = []
        self._registry_policies: list[tuple[str, RegistryPolicy]] = []
        self._wildcards: list[PullThroughCacheRuleBase] = []
        self._identity_grants: dict[tuple[str, tuple[str, ...]], iam.Grant] = {}
        self._without_policy: set[str] = set()
        self.node.add_validation(Validation(self._validate))

    def add_rule(self, rule: PullThroughCacheRule) -> None:
        """Records a rule, and links it with the most specific template that covers it."""
        registry, prefix = facts(rule).registry, _concrete(rule.prefix)
        self._rules.append((registry, rule, prefix))
        if prefix is not None:
            for key, template, template_prefix in self._templates:
                if key == registry and template.applies_to_pull_through_cache:
                    _offer(rule, prefix, template, template_prefix)

    def add_template(self, template: RepositoryCreationTemplate) -> None:
        """Records a creation template, and links it with the rules it covers most specifically."""
        registry, prefix = facts(template).registry, _concrete(template.prefix)
        self._templates.append((registry, template, prefix))
        if template.applies_to_pull_through_cache:
            for key, rule, rule_prefix in self._rules:
                if key == registry and rule_prefix is not None:
                    _offer(rule, rule_prefix, template, prefix)

    def add_repository_wildcard(self, rule: PullThroughCacheRuleBase) -> None:
        """Records a rule (defined or imported) whose ``repository/<prefix>/*`` its grantees get."""
        self._wildcards.append(rule)

    def add_registry_policy(self, policy: RegistryPolicy) -> None:
        """Records a registry policy for the one-per-registry check."""
        self._registry_policies.append((facts(policy).registry, policy))

    def grant_identity(self, grantee: iam.IGrantable, principal: iam.IPrincipal, actions: Sequence[str],
                       resource_arns: Sequence[str]) -> iam.Grant | None:
        """Grants through the principal's own policy, adding to its earlier statement with the same actions.

        ``principal`` is ``grantee.grant_principal``, which the caller has at hand. Granting one role on
        twenty rules gives one statement with twenty resources, not twenty
        statements. The returned grant holds that shared statement; ``None`` means the principal has
        no policy of its own to add to (an ``ArnPrincipal``, an account, an imported immutable role).
        """
        if isinstance(principal, iam.PrincipalBase):  # ArnPrincipal, accounts, organizations...
            return None
        ref = principal.__jsii_ref__.ref
        if ref in self._without_policy:
            return None
        key = (ref, tuple(actions))
        grant = self._identity_grants.get(key)
        if grant is not None:
            grant.principal_statement.add_resources(*resource_arns)
            return grant
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=list(resource_arns))
        if not grant.success:
            self._without_policy.add(ref)
            return None
        self._identity_grants[key] = grant
        return grant

    def _acknowledge_repository_wildcards(self) -> None:
        """Acknowledges cdk-nag's finding on each rule's exact repository wildcard, once, at the app root.

        Any grantee of a rule, in any stack, carries that wildcard. Done when the app is complete (here,
        before the cdk-nag plugin reads the acknowledgments), in one call for all rules.
        """
        root = self.node.scope
        Validations.of(root).acknowledge(*(Acknowledgment(
            id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_form(rule, rule.repository_arn_pattern)}]",
            reason=REPOSITORY_WILDCARD_REASON) for rule in self._wildcards))

    def _validate(self) -> list[str]:
        self._acknowledge_repository_wildcards()
        errors = []
        rule_counts: dict[str, int] = defaultdict(int)
        for registry, _, _ in self._rules:
            rule_counts[registry] += 1
        for registry, count in rule_counts.items():
            if count > MAX_RULES_PER_REGISTRY:
                errors.append(f"{registry} has {count} pull-through cache rules across the app; "
                              f"ECR allows {MAX_RULES_PER_REGISTRY} per registry (not adjustable). "
                              "Remove rules or spread them over Regions.")
        for what, items in (("rules", self._rules), ("creation templates", self._templates)):
            triples = [(registry, prefix, item.node.path) for registry, item, prefix in items if prefix]
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
