"""The statements the library writes into a grantee's own identity policy, and their size against IAM's quotas.

Repository grants are merged per principal: one statement per action set, holding every repository granted with
it (another one past 5,800 characters, so that CDK can move whole statements into managed policies of 6,144).
``ecr:TagResource`` is folded into that statement when a tagging creation template creates every one of its
repositories, and otherwise goes to one statement of its own on the tagged ones. Which repositories are tagged is
read at synth, from the template that covers each rule then, so a grant made before or after the templates
renders the same, and a rule whose tagging template gives way to an untagged one loses ``ecr:TagResource``.

CDK cannot remove a statement from a policy, so each statement gets a second one as soon as it holds two
repositories: it renders the ``ecr:TagResource`` remainder when the statement is mixed, and otherwise an exact
copy of the principal's first statement, which CDK's policy rendering drops (it removes duplicate statements).
That machinery (lazy values, a few jsii calls each) is written only once the app has a template that tags
(:func:`tagging_declared`); statements granted before take it up then, so an app without tagging pays nothing.

IAM limits the inline policies of a user to 2,048 characters, of a group to 5,120 and of a role to 10,240
(aggregate per principal, whitespace not counted). A role defined in the app is split by CDK itself: an Aspect
moves what exceeds about 10,000 characters of its default policy (ARNs with tokens counted as 150) into managed
``OverflowPolicy`` policies. Users, groups and imported roles have no such split, so synth fails when the
policy the library writes to would not fit, saying how many of the rules fit; so it does for a role whose
remainders (which CDK's estimate counts as one ARN each) leave its inline policy too large after CDK's split.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import jsii
from aws_cdk import IStableListProducer, Lazy
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ._env import facts, node_of, remembered
from ._jsii import StringProducer, Validation
from ._model import TAG_RESOURCE
from ._nag import acknowledge_on_policy
from ._statements import deployed_length

#: IAM's quotas on the aggregate size of a principal's inline policies (whitespace not counted).
INLINE_POLICY_QUOTAS = {"user": 2_048, "group": 5_120, "role": 10_240}
#: The deployed length of the resources of one statement beyond which another statement takes the repositories:
#: CDK moves whole statements into managed policies, of 6,144 characters each, so no statement may outgrow one.
STATEMENT_LENGTH = 5_800


@jsii.implements(IStableListProducer)
class _List:
    """Produces a list of strings for ``Lazy.list``, read when the policy is first resolved (at synth, once
    every template is declared; the registry policy's text is produced the same way)."""

    def __init__(self, fn: Callable[[], list[str]]) -> None:
        self._fn = fn

    def produce(self) -> list[str]:
        return self._fn()


@dataclass
class _ActionSet:
    """The repositories a principal was granted one action set on, and whether a template tags each now."""

    actions: tuple[str, ...]
    grant: iam.Grant | None = None
    #: Repository ARN -> whether the template that covers it tags (one per rule granted on it).
    tagged: dict[str, list[Callable[[], bool]]] = field(default_factory=dict)
    remainder: bool = False
    #: The deployed length of the statement's resources (tokens at their longest).
    length: int = 0
    #: Every statement of the principal's, in the order they were added (this one among them).
    siblings: list[_ActionSet] = field(default_factory=list)

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

    def mixed(self) -> bool:
        """Tells whether some of the statement's repositories are tagged and some are not."""
        tagged, untagged = self.split()
        return bool(tagged and untagged)

    def _copied(self) -> _ActionSet:
        """The statement an unused remainder renders a copy of (so that CDK drops it): the principal's first with
        two or more repositories (a list of resources, as the remainder renders them). CDK keeps it in the inline
        policy when it splits a role's policy, since it comes first and its statements are kept in order."""
        return next(chunk for chunk in self.siblings if len(chunk.tagged) > 1)

    def remainder_actions(self) -> list[str]:
        return [TAG_RESOURCE] if self.mixed() else self._copied().rendered_actions()

    def remainder_resources(self) -> list[str]:
        return self.split()[0] if self.mixed() else list(self._copied().tagged)


@dataclass
class _Principal:
    """What the library wrote into one principal's policy."""

    plain: dict[tuple[str, ...], iam.Grant] = field(default_factory=dict)
    #: The principal statements of its grants (by ``id`` of the grant), once asked for.
    statements: dict[int, iam.PolicyStatement] = field(default_factory=dict)
    repositories: dict[tuple[str, ...], list[_ActionSet]] = field(default_factory=dict)
    #: The repository statements of every action set, in the order they were added.
    order: list[_ActionSet] = field(default_factory=list)
    without_policy: bool = False
    #: The library's lazy values in the policy (token -> its value), for the size check.
    lazy: dict[str, Callable[[], Any]] = field(default_factory=dict)
    checked: bool = False


_principals: weakref.WeakKeyDictionary[Any, _Principal] = weakref.WeakKeyDictionary()

#: CDK classes whose ``add_to_principal_policy`` always adds the statement (to their ``DefaultPolicy``), so their
#: grants need not be asked whether they succeeded (a jsii call). Only these exact classes: a subclass may differ.
_WITH_POLICY = frozenset({iam.Role, iam.User, iam.Group})


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
    if grant is not None:
        _statement_of(known, grant).add_resources(*resource_arns)
        return grant
    grant = iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=list(resource_arns))
    if type(found) not in _WITH_POLICY and not grant.success:
        known.without_policy = True
        return None
    known.plain[key] = grant
    return grant


def _statement_of(known: _Principal, grant: iam.Grant) -> iam.PolicyStatement:
    """The principal statement of ``grant``, asked of CDK once, when a later grant adds to it."""
    statement = known.statements.get(id(grant))
    if statement is None:
        statement = known.statements[id(grant)] = cast(iam.PolicyStatement, grant.principal_statement)
    return statement


def grant_repositories(
    grantee: iam.IGrantable,
    found: iam.IPrincipal,
    actions: tuple[str, ...],
    repositories: Sequence[tuple[str, Callable[[], bool]]],
    immutable: Callable[[], bool],
    scope: IConstruct,
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
        scope: the construct granting; its stack checks the sizes of the roles of the app it grants.
    """
    if isinstance(found, iam.PrincipalBase):  # ArnPrincipal, accounts, organizations, services...
        return None
    known = _known(found, immutable)
    if known.without_policy:
        return None
    wider = [
        chunk
        for key, chunks in known.repositories.items()
        if key != actions and set(actions) <= set(key)
        for chunk in chunks
    ]
    chunks = known.repositories.setdefault(actions, [])
    new: dict[int, list[str]] = {}  # chunk index -> repositories it gets now
    touched: set[int] = set()
    for arn, tags in repositories:
        if any(arn in chunk.tagged for chunk in wider):  # e.g. grant_pull, then grant_pull_through
            continue
        index = next((i for i, chunk in enumerate(chunks) if arn in chunk.tagged), None)
        if index is None:
            if not chunks or chunks[-1].length + _arn_length(arn) > STATEMENT_LENGTH:
                chunks.append(_ActionSet(actions, siblings=known.order))
                known.order.append(chunks[-1])
            index = len(chunks) - 1
            chunks[index].length += _arn_length(arn)
            new.setdefault(index, []).append(arn)
        chunks[index].tagged.setdefault(arn, []).append(tags)
        touched.add(index)
    if not touched:  # a wider action set already holds every repository
        return next(chunk.grant for chunk in wider if chunk.grant)
    tagging = _tagging_of(scope)
    if not tagging.active and any(tags() for _, tags in repositories):  # e.g. an imported rule that tags
        tagging_declared(scope)
    for index, arns in new.items():
        chunk = chunks[index]
        if chunk.grant is None:
            tag = Lazy.string(StringProducer(chunk.tag_action)) if tagging.active else None
            grant = iam.Grant.add_to_principal(
                grantee=grantee, actions=[*actions, tag] if tag else list(actions), resource_arns=arns
            )
            if type(found) not in _WITH_POLICY and not grant.success:
                known.without_policy = True
                del known.repositories[actions]
                return None
            chunk.grant = grant
            if tag is None:
                tagging.pending.append(lambda chunk=chunk: _follow_templates(grantee, known, chunk))  # type: ignore[misc]
            else:
                known.lazy[tag] = chunk.tag_action
            _check_size_of(found, known, scope)
        else:
            _statement_of(known, chunk.grant).add_resources(*arns)
        if tagging.active:
            _add_remainder(grantee, known, chunk)
    acknowledge_on_policy(scope, found, list(dict.fromkeys(arn for arn, _ in repositories)))
    return combined([grant for grant in (chunks[index].grant for index in sorted(touched)) if grant is not None])


def combined(grants: Sequence[iam.Grant]) -> iam.Grant | None:
    """``grants`` combined into one (``None`` for none)."""
    if not grants:
        return None
    result = grants[0]
    for other in grants[1:]:
        result = result.combine(other)
    return result


@dataclass
class _Tagging:
    """Whether an app has a creation template that tags (or an imported rule that does), and the statements
    granted before it had one, which then take up ``ecr:TagResource`` (see :func:`tagging_declared`)."""

    active: bool = False
    pending: list[Callable[[], None]] = field(default_factory=list)


_tagging: weakref.WeakKeyDictionary[Any, _Tagging] = weakref.WeakKeyDictionary()


def _tagging_of(scope: IConstruct) -> _Tagging:
    return remembered(_tagging, facts(scope).root, _Tagging)


def tagging_declared(scope: IConstruct) -> None:
    """Tells the identity grants of ``scope``'s app that a creation template there tags the repositories it creates.

    Until then no statement needs ``ecr:TagResource``, so the statements are written without the lazy values that
    let it follow the templates (each costs jsii calls at grant time and at synth); from then on, the statements
    granted before take them up, and later ones are written with them.
    """
    tagging = _tagging_of(scope)
    if tagging.active:
        return
    tagging.active = True
    pending, tagging.pending = tagging.pending, []
    for follow in pending:
        follow()


def _follow_templates(grantee: iam.IGrantable, known: _Principal, chunk: _ActionSet) -> None:
    """Lets a statement written before the app had a tagging template take up ``ecr:TagResource``."""
    assert chunk.grant is not None
    tag = Lazy.string(StringProducer(chunk.tag_action))
    _statement_of(known, chunk.grant).add_actions(tag)
    known.lazy[tag] = chunk.tag_action
    _add_remainder(grantee, known, chunk)


def _add_remainder(grantee: iam.IGrantable, known: _Principal, chunk: _ActionSet) -> None:
    """Gives a statement of two or more repositories its remainder statement (see the module docstring)."""
    if len(chunk.tagged) < 2 or chunk.remainder:
        return
    chunk.remainder = True
    remainder_actions = Lazy.list(_List(chunk.remainder_actions))
    remainder_resources = Lazy.list(_List(chunk.remainder_resources))
    iam.Grant.add_to_principal(grantee=grantee, actions=remainder_actions, resource_arns=remainder_resources)
    known.lazy[remainder_actions[0]] = chunk.remainder_actions
    known.lazy[remainder_resources[0]] = chunk.remainder_resources


def _kind(found: object) -> str | None:
    """``user``, ``group`` or ``role``, as IAM's quotas name the principal."""
    if isinstance(found, iam.Role):
        return "role"
    if isinstance(found, iam.User) or getattr(found, "user_arn", None) is not None:
        return "user"
    if isinstance(found, iam.Group) or getattr(found, "group_arn", None) is not None:
        return "group"
    if getattr(found, "role_arn", None) is not None:
        return "role"
    return None


#: The roles defined in the app that the library granted, per stack (checked by one validation of the stack).
_roles: weakref.WeakKeyDictionary[Any, list[iam.Role]] = weakref.WeakKeyDictionary()


def _check_size_of(found: iam.IPrincipal, known: _Principal, scope: IConstruct) -> None:
    """Checks at synth that the policy the library writes to fits the principal's inline-policy quota.

    A role defined in the app is checked only when it has several repository statements or a mixed
    ``ecr:TagResource`` remainder, which CDK's size estimate (made before the remainder renders) counts as one
    ARN: otherwise CDK's split keeps its inline policy within the quota. Such roles are checked by one validation
    of the granting stack.
    """
    if known.checked:
        return
    kind = _kind(found)
    if kind is None:
        return
    known.checked = True
    if isinstance(found, iam.Role):  # its node is asked for only at synth (a jsii call)
        stack = facts(scope).stack
        roles = _roles.get(stack)
        if roles is None:
            roles = _roles[stack] = []
            stack.node.add_validation(Validation(lambda: [error for role in roles for error in _role_errors(role)]))
        roles.append(found)
        return
    node = getattr(found, "node", None)
    if node is not None:
        node.add_validation(Validation(lambda: size_errors(found, kind)))


def _role_errors(role: iam.Role) -> list[str]:
    """The size error of a role of the app, when CDK's split may have left its inline policy too large: it holds a
    mixed remainder (CDK counts it as one ARN), or CDK moved statements out (a remainder may then stay behind
    without the statement it copies). Otherwise CDK's estimate of the inline policy holds."""
    known = _principals.get(role)
    if known is None or not any(chunk.remainder for chunk in known.order):
        return []  # no remainder
    if not any(chunk.mixed() for chunk in known.order) and node_of(role).try_find_child("OverflowPolicy1") is None:
        return []
    return size_errors(role, "role", named=True)


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


@functools.lru_cache(maxsize=4096)  # the same rules' ARNs, for every grantee
def _arn_length(arn: str) -> int:
    return deployed_length({"": arn}) - len('{"":}') + 1  # the quoted ARN and its comma


def size_errors(found: object, kind: str, *, named: bool = False) -> list[str]:
    """The error when the policy the library wrote into ``found``'s own policy exceeds its inline-policy quota.

    Args:
        found: the principal.
        kind: ``user``, ``group`` or ``role``.
        named: the message names the principal's path (for a validation of another construct).
    """
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
    chunks = [chunk for action_set in known.repositories.values() for chunk in action_set]
    arns = {arn for chunk in chunks for arn in chunk.tagged}
    cost = sum(_arn_length(arn) for chunk in chunks for arn in chunk.tagged) / len(arns)
    fit = max(0, len(arns) - math.ceil((length - quota) / cost))
    who = f"the {kind} {node.path}" if named and node is not None else f"the {kind}"
    instead = (
        "or spread the grants over more roles, or grant the rules before adding the role's own statements (CDK "
        "keeps a policy's first statements inline)."
        if kind == "role" and named
        else "or grant a role defined in the app instead (CDK moves what does not fit in its inline policy into "
        "managed policies)."
    )
    return [
        f"{who}'s inline policies would be {length} characters once deployed (tokens at their longest, "
        f"whitespace not counted), over IAM's quota of {quota:,} for a {kind}: got {length}. Grant at most {fit} "
        f"of the {len(arns)} rules to this {kind}, {instead}"
    ]
