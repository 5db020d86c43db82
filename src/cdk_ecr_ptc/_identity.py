"""The statements the library writes into a grantee's own identity policy, and their size against IAM's quotas.

Repository grants are merged per principal: one statement per action set, holding every repository granted with
it. ``ecr:TagResource`` is folded into that statement when a tagging creation template creates every one of its
repositories, and otherwise goes to one statement of its own on the tagged ones. Which repositories are tagged is
read at synth, from the template that covers each rule then, so a grant made before or after the templates
renders the same, and a rule whose tagging template gives way to an untagged one loses ``ecr:TagResource``.

CDK cannot remove a statement from a policy, so each action set has a second statement, defined as soon as its
set holds two repositories: it renders the ``ecr:TagResource`` remainder when the set is mixed, and otherwise an
exact copy of the first statement, which CDK's policy rendering drops (it removes duplicate statements).

IAM limits the inline policies of a user to 2,048 characters, of a group to 5,120 and of a role to 10,240
(aggregate per principal, whitespace not counted). A role defined in the app is split by CDK itself: an Aspect
moves what exceeds about 10,000 characters of its default policy (ARNs with tokens counted as 150) into managed
``OverflowPolicy`` policies. Users, groups and imported roles have no such split, so synth fails when the
policy the library writes to would not fit, saying how many of the rules fit.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsii
from aws_cdk import IListProducer, IResolveContext, IStringProducer, Lazy
from aws_cdk import aws_iam as iam

from ._env import remembered
from ._jsii import Validation
from ._model import TAG_RESOURCE
from ._nag import acknowledge_on_policy
from ._statements import deployed_length

#: IAM's quotas on the aggregate size of a principal's inline policies (whitespace not counted).
INLINE_POLICY_QUOTAS = {"user": 2_048, "group": 5_120, "role": 10_240}


@jsii.implements(IStringProducer)
class _String:
    """Produces a string (or nothing) for ``Lazy.uncached_string``, read at every resolve."""

    def __init__(self, fn: Callable[[], str | None]) -> None:
        self._fn = fn

    def produce(self, context: IResolveContext) -> str | None:
        return self._fn()


@jsii.implements(IListProducer)
class _List:
    """Produces a list of strings for ``Lazy.uncached_list``, read at every resolve."""

    def __init__(self, fn: Callable[[], list[str]]) -> None:
        self._fn = fn

    def produce(self, context: IResolveContext) -> list[str]:
        return self._fn()


@dataclass
class _ActionSet:
    """The repositories a principal was granted one action set on, and whether a template tags each now."""

    actions: tuple[str, ...]
    statement: iam.PolicyStatement | None = None
    grant: iam.Grant | None = None
    #: Repository ARN -> whether the template that covers it tags (one per rule granted on it).
    tagged: dict[str, list[Callable[[], bool]]] = field(default_factory=dict)
    remainder: bool = False

    def split(self) -> tuple[list[str], list[str]]:
        """The repositories, tagged and untagged."""
        tagged = [arn for arn, tags in self.tagged.items() if any(tag() for tag in tags)]
        return tagged, [arn for arn in self.tagged if arn not in tagged]

    def folds(self) -> bool:
        """Tells whether ``ecr:TagResource`` goes into the statement itself (every repository is tagged)."""
        tagged, untagged = self.split()
        return bool(tagged) and not untagged

    def tag_action(self) -> str | None:
        return TAG_RESOURCE if self.folds() else None

    def rendered_actions(self) -> list[str]:
        return [*self.actions, TAG_RESOURCE] if self.folds() else list(self.actions)

    def remainder_actions(self) -> list[str]:
        tagged, untagged = self.split()
        return [TAG_RESOURCE] if tagged and untagged else self.rendered_actions()

    def remainder_resources(self) -> list[str]:
        tagged, untagged = self.split()
        return tagged if tagged and untagged else list(self.tagged)


@dataclass
class _Principal:
    """What the library wrote into one principal's policy."""

    plain: dict[tuple[str, ...], iam.Grant] = field(default_factory=dict)
    repositories: dict[tuple[str, ...], _ActionSet] = field(default_factory=dict)
    without_policy: bool = False
    #: The library's lazy values in the policy (token -> its value), for the size check.
    lazy: dict[str, Callable[[], Any]] = field(default_factory=dict)
    checked: bool = False


_principals: weakref.WeakKeyDictionary[Any, _Principal] = weakref.WeakKeyDictionary()


def _known(found: iam.IPrincipal, immutable: Callable[[], bool]) -> _Principal:
    return remembered(_principals, found, lambda: _Principal(without_policy=immutable()))


def grant_plain(
    grantee: iam.IGrantable,
    found: iam.IPrincipal,
    actions: Sequence[str],
    resource_arns: Sequence[str],
    immutable: Callable[[], bool],
) -> iam.Grant | None:
    """Grants ``actions`` on ``resource_arns`` through the principal's own policy, adding to its earlier statement
    with the same actions; ``None`` when the principal has no policy of its own (see :func:`grant_repositories`)."""
    if isinstance(found, iam.PrincipalBase):
        return None
    known = _known(found, immutable)
    if known.without_policy:
        return None
    key = tuple(actions)
    grant = known.plain.get(key)
    if grant is not None and grant.principal_statement is not None:
        grant.principal_statement.add_resources(*resource_arns)
        return grant
    grant = iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=list(resource_arns))
    if not grant.success:
        known.without_policy = True
        return None
    known.plain[key] = grant
    return grant


def grant_repositories(
    grantee: iam.IGrantable,
    found: iam.IPrincipal,
    actions: tuple[str, ...],
    repositories: Sequence[tuple[str, Callable[[], bool]]],
    immutable: Callable[[], bool],
) -> iam.Grant | None:
    """Grants ``actions`` on repositories through the principal's own policy, plus ``ecr:TagResource`` on those
    whose template tags them at synth.

    Granting one role on twenty rules gives one statement with twenty resources, not twenty statements, and a
    repository already granted a wider action set is not repeated.
    ``None`` means the principal has no policy of its own to add to (an ``ArnPrincipal``, an account, an
    imported immutable role). Repository wildcards are acknowledged for cdk-nag on the policy written.

    Args:
        grantee: the grantable whose principal is ``found``.
        found: the principal.
        actions: the repository actions.
        repositories: each repository ARN pattern, and whether the template that covers it tags (read at synth).
        immutable: tells whether the principal drops what is added to its policy (asked once).
    """
    if isinstance(found, iam.PrincipalBase):  # ArnPrincipal, accounts, organizations, services...
        return None
    known = _known(found, immutable)
    if known.without_policy:
        return None
    wider = [other for key, other in known.repositories.items() if key != actions and set(actions) <= set(key)]
    repositories = [(arn, tags) for arn, tags in repositories if not any(arn in other.tagged for other in wider)]
    entry = known.repositories.get(actions)
    if not repositories:  # a wider action set already holds every repository (grant_pull, then grant_pull_through)
        return entry.grant if entry is not None else next(other.grant for other in wider if other.grant)
    arns = list(dict.fromkeys(arn for arn, _ in repositories))
    if entry is None:
        entry = _ActionSet(actions)
        tag = Lazy.uncached_string(_String(entry.tag_action))
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=[*actions, tag], resource_arns=arns)
        if not grant.success:
            known.without_policy = True
            return None
        entry.grant, entry.statement = grant, grant.principal_statement
        known.lazy[tag] = entry.tag_action
        known.repositories[actions] = entry
        _check_size_of(found, known)
    else:
        new = [arn for arn in arns if arn not in entry.tagged]
        if new and entry.statement is not None:
            entry.statement.add_resources(*new)
    for arn, tags in repositories:
        entry.tagged.setdefault(arn, []).append(tags)
    if len(entry.tagged) > 1 and not entry.remainder:
        entry.remainder = True
        remainder_actions = Lazy.uncached_list(_List(entry.remainder_actions))
        remainder_resources = Lazy.uncached_list(_List(entry.remainder_resources))
        iam.Grant.add_to_principal(grantee=grantee, actions=remainder_actions, resource_arns=remainder_resources)
        known.lazy[remainder_actions[0]] = entry.remainder_actions
        known.lazy[remainder_resources[0]] = entry.remainder_resources
    acknowledge_on_policy(found, arns)
    assert entry.grant is not None
    return entry.grant


def _kind(found: object) -> str | None:
    """``user``, ``group`` or ``role`` for principals whose policy CDK does not split (all but ``iam.Role``)."""
    if isinstance(found, iam.Role):
        return None
    if isinstance(found, iam.User) or getattr(found, "user_arn", None) is not None:
        return "user"
    if isinstance(found, iam.Group) or getattr(found, "group_arn", None) is not None:
        return "group"
    if getattr(found, "role_arn", None) is not None:
        return "role"
    return None


def _check_size_of(found: iam.IPrincipal, known: _Principal) -> None:
    """Checks at synth that the policy the library writes to fits the principal's inline-policy quota."""
    kind = _kind(found)
    node = getattr(found, "node", None)
    if kind is None or node is None or known.checked:
        return
    known.checked = True
    node.add_validation(Validation(lambda: size_errors(found, kind)))


def _substituted(value: Any, lazy: dict[str, Callable[[], Any]]) -> Any:
    """``value`` (a statement as ``to_json`` gives it) with the library's lazy values in place of their tokens."""
    if isinstance(value, dict):
        return {key: _substituted(item, lazy) for key, item in value.items()}
    if isinstance(value, list):
        items = []
        for item in value:
            if isinstance(item, str) and item in lazy:
                produced = lazy[item]()
                if isinstance(produced, list):
                    items += produced
                elif produced is not None:
                    items.append(produced)
            else:
                items.append(_substituted(item, lazy))
        return items
    return value


def _arn_length(arn: str) -> int:
    return deployed_length({"": arn}) - len('{"":}') + 1  # the quoted ARN and its comma


def size_errors(found: object, kind: str) -> list[str]:
    """The error when the policy the library wrote into ``found``'s own policy exceeds its inline-policy quota."""
    known = _principals.get(found)
    node = getattr(found, "node", None)
    policy = node and (node.try_find_child("DefaultPolicy") or node.try_find_child("Policy"))
    if known is None or policy is None:
        return []
    document = _substituted(policy.document.to_json(), known.lazy)
    statements: list[dict] = []
    for statement in document.get("Statement", []):
        if statement not in statements:  # CDK drops duplicates as it renders
            statements.append(statement)
    length = deployed_length({**document, "Statement": statements})
    quota = INLINE_POLICY_QUOTAS[kind]
    if length <= quota:
        return []
    arns = {arn for entry in known.repositories.values() for arn in entry.tagged}
    cost = sum(_arn_length(arn) for entry in known.repositories.values() for arn in entry.tagged) / len(arns)
    fit = max(0, len(arns) - math.ceil((length - quota) / cost))
    return [
        f"the {kind}'s inline policies would be {length} characters once deployed (tokens at their longest, "
        f"whitespace not counted), over IAM's quota of {quota:,} for a {kind}: got {length}. Grant at most {fit} "
        f"of the {len(arns)} rules to this {kind}, or grant a role defined in the app instead (CDK moves what "
        "does not fit in its inline policy into managed policies)."
    ]
