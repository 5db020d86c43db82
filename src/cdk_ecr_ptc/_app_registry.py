"""What the library defined in one app, per registry (account and Region): rules, templates, registry policies.

It links each rule with the creation templates that cover it, whichever is declared first, and checks
what spans stacks: the rule quota, duplicate prefixes and one registry policy per registry. It imports
no construct module: constructs register themselves, and a rule is told through its own callback
when a template covers it more specifically than before.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from aws_cdk import Stack
from constructs import IConstruct

from ._env import facts, resolved
from ._jsii import Validation
from ._model import MAX_RULES_PER_REGISTRY, covers, normalize_prefix, specificity


class Template(Protocol):
    """What the registry reads of a creation template."""

    @property
    def node(self) -> object: ...  # pragma: no cover

    @property
    def prefix(self) -> str: ...  # pragma: no cover

    @property
    def applies_to_pull_through_cache(self) -> bool: ...  # pragma: no cover


@dataclass
class _Rule:
    construct: IConstruct
    prefix: str
    #: Called with each template that covers the rule, and whether it covers it most specifically so far.
    on_covered: Callable[[Template, bool], None]
    #: Called with each template of a more specific prefix than the rule's (it creates some of its repositories).
    on_nested: Callable[[Template], None]
    covering: Template | None = None


@dataclass
class _Registry:
    """The library's constructs of one registry, and whether its cross-stack checks are registered."""

    name: str
    rules: list[_Rule] = field(default_factory=list)
    templates: list[Template] = field(default_factory=list)
    policies: list[IConstruct] = field(default_factory=list)
    checked: bool = False


def describe(construct: IConstruct, prefix: str | None = None) -> str:
    """Names a construct for a message that spans stacks: its path, its stack and the prefix as written."""
    stack = Stack.of(construct)
    where = f"{construct.node.path} (stack {stack.stack_name}"
    return where + (f", prefix {prefix!r})" if prefix is not None else ")")


class AppRegistry:
    """The registries of one app; :meth:`of` returns it."""

    _apps: weakref.WeakKeyDictionary[IConstruct, AppRegistry] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, scope: IConstruct) -> AppRegistry:
        """Returns the registry of ``scope``'s app, defining it on first use."""
        root = facts(scope).root
        known = cls._apps.get(root)
        if known is None:
            known = cls._apps[root] = cls()
        return known

    def __init__(self) -> None:
        self._registries: dict[str, _Registry] = {}

    def _registry(self, construct: IConstruct) -> _Registry:
        name = facts(construct).registry
        registry = self._registries.get(name)
        if registry is None:
            registry = self._registries[name] = _Registry(name)
        if not registry.checked:
            registry.checked = True
            construct.node.add_validation(Validation(lambda: self._check(registry)))
        return registry

    def add_rule(
        self,
        rule: IConstruct,
        prefix: str,
        on_covered: Callable[[Template, bool], None],
        on_nested: Callable[[Template], None],
    ) -> None:
        """Records a rule, and tells it of each template that covers it (and whether most specifically) and
        of each template of a more specific prefix."""
        registry = self._registry(rule)
        entry = _Rule(rule, prefix, on_covered, on_nested)
        registry.rules.append(entry)
        for template in registry.templates:
            self._offer(entry, template)

    def add_template(self, template: Template) -> None:
        """Records a creation template, and tells the rules it covers most specifically."""
        registry = self._registry(template)  # type: ignore[arg-type]
        registry.templates.append(template)
        for entry in registry.rules:
            self._offer(entry, template)

    def remove_template(self, template: Template) -> None:
        """Forgets a template that was removed from the tree; the rules it covered fall back on the others."""
        registry = self._registry(template)  # type: ignore[arg-type]
        registry.templates = [known for known in registry.templates if known is not template]
        for entry in registry.rules:
            if entry.covering is template:
                candidates = [
                    known
                    for known in registry.templates
                    if known.applies_to_pull_through_cache
                    and resolved(known.prefix)
                    and resolved(entry.prefix)
                    and covers(known.prefix, entry.prefix)
                ]
                entry.covering = max(candidates, key=lambda known: specificity(known.prefix), default=None)

    def add_registry_policy(self, policy: IConstruct) -> None:
        """Records a registry policy resource, for the one-per-registry check."""
        self._registry(policy).policies.append(policy)

    def covering(self, rule: IConstruct) -> Template | None:
        """The most specific template that covers ``rule``, if any."""
        for registry in self._registries.values():
            for entry in registry.rules:
                if entry.construct is rule:
                    return entry.covering
        return None

    @staticmethod
    def _offer(entry: _Rule, template: Template) -> None:
        """Gives the rule the template when it covers the rule more specifically than its current one (ECR's rule)."""
        if not template.applies_to_pull_through_cache or not resolved(template.prefix) or not resolved(entry.prefix):
            return
        if normalize_prefix(template.prefix) != normalize_prefix(entry.prefix) and covers(
            entry.prefix, template.prefix
        ):
            entry.on_nested(template)
            return
        if not covers(template.prefix, entry.prefix):
            return
        most_specific = entry.covering is None or specificity(template.prefix) > specificity(entry.covering.prefix)
        if most_specific:
            entry.covering = template
        entry.on_covered(template, most_specific)

    @staticmethod
    def _check(registry: _Registry) -> list[str]:
        """The registry's cross-stack errors, each naming every construct and stack involved."""
        errors = []
        if len(registry.rules) > MAX_RULES_PER_REGISTRY:
            listing = "; ".join(describe(entry.construct, entry.prefix) for entry in registry.rules)
            errors.append(
                f"{registry.name} has {len(registry.rules)} pull-through cache rules across the app: got "
                f"{listing}. ECR allows {MAX_RULES_PER_REGISTRY} per registry (not adjustable); remove "
                "rules or spread them over Regions."
            )
        # Constructs are described only for a message (each description crosses jsii).
        groups: dict[tuple[str, str], list[tuple[IConstruct, str]]] = defaultdict(list)
        for entry in registry.rules:
            if resolved(entry.prefix):
                groups[("rules", normalize_prefix(entry.prefix))].append((entry.construct, entry.prefix))
        for template in registry.templates:
            if resolved(template.prefix):
                groups[("creation templates", normalize_prefix(template.prefix))].append(
                    (template, template.prefix)  # type: ignore[arg-type]
                )
        for (what, prefix), found in groups.items():
            if len(found) > 1:
                places = [describe(construct, written) for construct, written in found]
                errors.append(
                    f"{registry.name} has several {what} with the prefix {prefix!r} (a trailing '/' is "
                    f"implied): got {'; '.join(places)}. Prefixes of {what} must be unique per registry; "
                    "keep one of them."
                )
        if len(registry.policies) > 1:
            stacks = "; ".join(describe(policy) for policy in registry.policies)
            errors.append(
                f"{registry.name} gets a registry policy from several stacks: got {stacks}. A registry has "
                "one policy and each would overwrite the other; grant from one stack per account and Region."
            )
        return errors
