"""The grant engine: where each grant on a rule's repositories lands, returned as an ``iam.Grant``.

A grant goes to the grantee's own identity policy when it has one in the cache's account, and to the
resource side otherwise (a role of another account gets both). The resource side is the registry policy
under scope V2; under scope V1 the registry policy takes only the actions V1 allows, and the pull actions
go to the repository policy of the creation template of each rule. The engine imports no construct
module: callers pass each rule's facts and the policies as :class:`Target` and :class:`ResourceSide`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from aws_cdk import Annotations, Aws, Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ._env import (
    account_id_of,
    arn_account,
    facts,
    grantable_of,
    partition,
    principal_of,
    remembered,
    resolved,
    same,
)
from ._identity import combined, grant_plain, grant_repositories
from ._model import AUTH_TOKEN, REPOSITORY_POLICY_PULL, TAG_RESOURCE, V1_REGISTRY_ACTIONS, RegistryPolicyScope
from ._validation import check_principal, fail


class RegistryPolicyLike(Protocol):
    """What the engine uses of the registry policy."""

    def scope_for(self, grant_of: IConstruct) -> RegistryPolicyScope: ...  # pragma: no cover

    def grant_statement(
        self,
        grantee: iam.IGrantable,
        principal: iam.IPrincipal,
        actions: Sequence[str],
        resources: Sequence[str],
        *,
        prepare: Callable[[iam.PolicyStatement], None] | None = None,
    ) -> iam.Grant: ...  # pragma: no cover


@dataclass(frozen=True)
class Target:
    """One rule's repositories, as a grant sees them.

    Attributes:
        arn: the ARN pattern of the rule's repositories.
        tags: tells whether the template that covers the rule now tags the repositories it creates (asked again
            at synth, so that a template declared after the grant counts).
        share: under scope V1, applies a repository-policy grant (given as a function of the template) to
            every creation template that creates the rule's repositories (the rule's own, defined if needed,
            and those of more specific prefixes, also those declared later); ``None`` for rules of another app.
    """

    arn: str
    tags: Callable[[], bool]
    share: Callable[[Callable[[iam.IResourceWithPolicyV2], iam.Grant]], list[iam.Grant]] | None = None


@dataclass(frozen=True)
class ResourceSide:
    """The cache's resource policies: its registry policy and its account."""

    registry_policy: Callable[[], RegistryPolicyLike]
    account: str


#: Stands for a fact of a principal not asked for yet.
_UNKNOWN: Any = object()


@dataclass
class _Principal:
    """What the engine remembers of one principal, so that each fact crosses jsii once per principal.

    Its identity statements are :mod:`._identity`'s.

    Attributes:
        checked: its account or ARN passed the library's checks.
        immutable: it is an imported immutable role (``_UNKNOWN`` until asked).
        account: its ``principal_account`` (``_UNKNOWN`` until asked).
    """

    checked: bool = False
    immutable: Any = _UNKNOWN
    account: Any = _UNKNOWN


_principals: weakref.WeakKeyDictionary[Any, _Principal] = weakref.WeakKeyDictionary()


def _known(found: iam.IPrincipal) -> _Principal:
    return remembered(_principals, found, _Principal)


def principal(scope: IConstruct, grantee: object) -> iam.IPrincipal:
    """The principal of ``grantee`` (an ``IGrantable``, or an object exposing ``.role``), or a library error."""
    found = principal_of(grantee)
    if found is None:
        raise fail(
            scope,
            "a grant needs an iam.IGrantable (a role, user, group, principal, or a construct "
            "with a .role such as an EKS Nodegroup)",
            type(grantee).__name__,
            "Pass the principal that pulls, or its role.",
        )
    known = _known(found)
    if not known.checked:  # its account and ARN do not change: checking once is enough
        check_principal(scope, found)
        known.checked = True
    return found  # type: ignore[no-any-return, unused-ignore]


def _principal_account(found: iam.IPrincipal) -> str | None:
    """``found.principal_account``, asked once per principal."""
    known = _known(found)
    if known.account is _UNKNOWN:
        known.account = getattr(found, "principal_account", None)
    return known.account


def grantable(scope: IConstruct, grantee: object) -> iam.IGrantable:
    """``grantee`` as CDK's grants take it: itself, or its ``.role`` when it is not an ``IGrantable``."""
    principal(scope, grantee)
    return grantable_of(grantee)[0]  # type: ignore[no-any-return, unused-ignore]


def _immutable(found: iam.IPrincipal) -> bool:
    """Tells whether ``found`` is a role imported with ``mutable=False``: CDK drops what is added to its policy.

    Asked once per principal.
    """
    if isinstance(found, (iam.Role, iam.User, iam.Group)):  # defined in the app: never immutable
        return False
    known = _known(found)
    if known.immutable is _UNKNOWN:
        node = getattr(found, "node", None)
        known.immutable = (
            node is not None
            and node.scope is not None
            and node.scope.node.try_find_child(f"MutableRole{node.id}") is not None
        )
    return known.immutable


def _check_cross_environment(scope: IConstruct, found: iam.IPrincipal, account: str) -> None:
    """A role defined in another environment's stack needs a physical name to appear in this stack's policy.

    CDK checks it when the role's ARN is resolved in this stack; doing that now turns its error into ours.
    """
    if not isinstance(found, iam.Role):
        return
    role_stack = Stack.of(found)
    stack = facts(scope).stack
    if role_stack is stack or same(role_stack.account, account) is not False:
        return
    try:
        stack.resolve(found.role_arn)
    except RuntimeError as error:
        if "CannotUseCrossEnvironment" not in str(error):
            raise
        raise fail(
            scope,
            f"the role {found.node.path} of account {role_stack.account} is granted in a policy "
            f"of account {account}, which must name it, but it has no physical name",
            None,
            "Give the role role_name=PhysicalName.GENERATE_IF_NEEDED (or a name).",
        ) from None


def _is_service(found: iam.IPrincipal) -> bool:
    """Tells whether ``found`` is, or holds, a service principal (whose statements :func:`_guard_service` limits)."""
    return isinstance(found, iam.ServicePrincipal) or (
        isinstance(found, iam.CompositePrincipal)
        and any(isinstance(member, iam.ServicePrincipal) for member in found.principals)
    )


def _guard_service(statement: iam.PolicyStatement, found: iam.IPrincipal) -> None:
    """A service principal may act for any account: limit it to the cache's account (aws:SourceAccount).

    CDK knows no source ARN for a bare service principal, so none is added.
    """
    if _is_service(found):
        statement.add_condition("StringEquals", {"aws:SourceAccount": Aws.ACCOUNT_ID})


def _resource_grant(
    grantee: iam.IGrantable,
    statement: iam.PolicyStatement,
    resource: iam.IResourceWithPolicyV2,
    actions: Sequence[str],
    resource_arns: Sequence[str],
) -> iam.Grant:
    return iam.Grant.add_statement_to_resource_policy(
        statement=statement,
        resource=resource,
        grantee=grantee,
        actions=list(actions),
        resource_arns=list(resource_arns),
    )


def grant(
    scope: IConstruct,
    grantee: iam.IGrantable,
    actions: tuple[str, ...],
    targets: Sequence[Target],
    resource_side: ResourceSide | None,
) -> tuple[iam.Grant | None, bool]:
    """Grants ``actions`` on the repositories of ``targets`` (rules of one cache), plus ``ecr:TagResource`` on
    those whose template tags; tells whether the resource side was used.

    A principal of another account than the cache's gets the resource side too. A principal imported in an
    environment-agnostic stack that names an account (``Role.from_role_arn``) gets the resource side only, as a
    principal of that account: an identity policy written there would attach to a same-named principal of
    whichever account deploys. Each member of a ``CompositePrincipal`` that has a policy of its own (a role, a
    user...) is granted as if it were granted alone, and its service principals apart from its other members
    (see :func:`_member_groups`).

    Args:
        scope: the construct granting (named in errors and warnings).
        grantee: the principal that pulls.
        actions: the repository actions.
        targets: the rules' repositories.
        resource_side: the cache's resource policies; ``None`` for a cache of another app (identity only).
    """
    found = principal(scope, grantee)
    if isinstance(found, iam.CompositePrincipal):
        groups = _member_groups(found.principals)
        if len(groups) > 1 or (groups and not isinstance(groups[0][0], iam.PrincipalBase)):
            return _grant_members(scope, groups, actions, targets, resource_side)
    return _grant_one(scope, grantee, actions, targets, resource_side)


def _member_groups(members: Sequence[iam.IPrincipal]) -> list[list[iam.IPrincipal]]:
    """The members of a composite principal that are granted apart: each one with a policy of its own, the service
    principals together (their statement takes an ``aws:SourceAccount`` condition, which requests of other
    principals do not carry), and the other principals without a policy (accounts, ARNs...) together."""
    services: list[iam.IPrincipal] = [member for member in members if isinstance(member, iam.ServicePrincipal)]
    others: list[iam.IPrincipal] = [
        member
        for member in members
        if isinstance(member, iam.PrincipalBase) and not isinstance(member, iam.ServicePrincipal)
    ]
    own: list[list[iam.IPrincipal]] = [[member] for member in members if not isinstance(member, iam.PrincipalBase)]
    return own + [group for group in (services, others) if group]


def _grant_one(
    scope: IConstruct,
    grantee: iam.IGrantable,
    actions: tuple[str, ...],
    targets: Sequence[Target],
    resource_side: ResourceSide | None,
) -> tuple[iam.Grant | None, bool]:
    """:func:`grant` for a principal, or a composite of principals without a policy of their own."""
    found = principal(scope, grantee)
    grantee = grantable(scope, grantee)
    if resource_side is not None and not resolved(resource_side.account):
        _check_identity_environment(scope, found)
    arns = [target.arn for target in targets]
    identity = grant_repositories(
        grantee,
        found,
        actions,
        [(target.arn, target.tags) for target in targets],
        lambda: _without_policy(found),
        scope,
    )
    if resource_side is None:
        return identity, False
    account = resource_side.account
    tagged = [target for target in targets if target.tags()]
    if tagged:
        _warn_identity_only_tagging(scope, found, account)
    if identity is not None and same(_principal_account(found), account) is not False:
        return identity, False
    _check_cross_environment(scope, found, account)
    if identity is None:
        _warn_resource_side_only(scope, found)
    registry_policy = resource_side.registry_policy()
    scope_ = registry_policy.scope_for(scope)
    grants = [identity] if identity is not None else []
    if scope_ is RegistryPolicyScope.V2:
        grants.append(_registry_grant(grantee, registry_policy, found, actions, arns))
    else:
        registry_actions = tuple(action for action in actions if action in V1_REGISTRY_ACTIONS)
        if registry_actions:
            grants.append(_registry_grant(grantee, registry_policy, found, registry_actions, arns))
        repository_actions = [action for action in REPOSITORY_POLICY_PULL if action in actions]

        def add_to(template: iam.IResourceWithPolicyV2) -> iam.Grant:
            where = partition(template)  # type: ignore[arg-type]  # a template: an IConstruct
            statement = iam.PolicyStatement(
                principals=[resource_policy_principal(where, found)], actions=repository_actions
            )
            _guard_service(statement, found)
            return _resource_grant(grantee, statement, template, repository_actions, [])

        for target in targets:
            if target.share is not None and repository_actions:
                grants += target.share(add_to)
    grants += _tag_resource_side(scope, grantee, found, tagged, registry_policy, scope_)
    return combined(grants), True


def _warn_resource_side_only(scope: IConstruct, found: iam.IPrincipal) -> None:
    """Warns that a principal of the app that could have had an identity policy is granted through the resource
    policies only: one imported in an environment-agnostic stack naming an account, or an immutable imported role."""
    if _named_in_agnostic_stack(found):
        code, why = (
            "cdk-ecr-ptc:namedAccountInAgnosticStack",
            f"names account {_principal_account(found)} in an environment-agnostic stack: it is granted through the "
            "registry policy (and repository policies) only, since an identity policy written here would attach to a "
            "same-named principal of whichever account deploys. Its own policy must allow ecr:GetAuthorizationToken "
            "and the pull actions (and ecr:TagResource where a template tags).",
        )
    elif _immutable(found):
        code, why = (
            "cdk-ecr-ptc:immutableRole",
            "is an imported immutable role: nothing can be added to its policy, so the grant goes to the registry "
            "policy (and repository policies) instead. Its own policy must still allow ecr:GetAuthorizationToken and "
            "the pull actions if it is of another account.",
        )
    else:
        return
    Annotations.of(scope).add_warning_v2(code, f"{cast(IConstruct, found).node.path} {why}")


def _grant_members(
    scope: IConstruct,
    groups: list[list[iam.IPrincipal]],
    actions: tuple[str, ...],
    targets: Sequence[Target],
    resource_side: ResourceSide | None,
) -> tuple[iam.Grant | None, bool]:
    """Grants each group of a composite's members (:func:`_member_groups`) as if it were granted alone, and
    combines the grants."""
    grantees = [group[0] if len(group) == 1 else iam.CompositePrincipal(*group) for group in groups]
    results = [_grant_one(scope, member, actions, targets, resource_side) for member in grantees]
    return combined([result for result, _ in results if result is not None]), any(used for _, used in results)


def _check_identity_environment(scope: IConstruct, found: iam.IPrincipal) -> None:
    """A cache of an environment-agnostic stack names its repositories with the pseudo parameters of its own
    stack's account and Region: in the policy of a principal of a stack with an account, they would name that
    account's repositories instead. Fails for such principals (not for those of agnostic stacks)."""
    if isinstance(found, iam.PrincipalBase) or getattr(found, "node", None) is None:
        return
    theirs = facts(cast(IConstruct, found))
    if theirs.stack is facts(scope).stack or not resolved(theirs.account):
        return
    raise fail(
        scope,
        f"the cache is in an environment-agnostic stack, so the identity policy of "
        f"{cast(IConstruct, found).node.path} (stack {theirs.stack.node.path}, account {theirs.account}) cannot "
        "name its repositories: they would be that account's",
        theirs.account,
        "Give the cache's stack an env (account and Region), or grant from a stack of the same environment.",
    )


def _named_in_agnostic_stack(found: iam.IPrincipal) -> bool:
    """Tells whether ``found`` was imported in an environment-agnostic stack and names an account
    (``Role.from_role_arn`` with an account in the ARN): its identity policy would attach by name in any account."""
    if isinstance(found, (iam.Role, iam.User, iam.Group, iam.PrincipalBase)) or getattr(found, "node", None) is None:
        return False
    return resolved(_principal_account(found)) and not resolved(facts(cast(IConstruct, found)).account)


def _without_policy(found: iam.IPrincipal) -> bool:
    """Tells whether the library must not write into ``found``'s own policy (asked once per principal)."""
    return _immutable(found) or _named_in_agnostic_stack(found)


def grant_tag_resource(
    scope: IConstruct, grantee: iam.IGrantable, targets: Sequence[Target], resource_side: ResourceSide
) -> None:
    """Adds the resource side of ``ecr:TagResource`` on ``targets`` for a grant that used the resource side, once
    a template declared after the grant tags their repositories (the identity side follows by itself)."""
    found = principal(scope, grantee)
    if isinstance(found, iam.CompositePrincipal):
        for member in found.principals:
            if (
                isinstance(member, iam.PrincipalBase)
                or _without_policy(member)
                or same(_principal_account(member), resource_side.account) is False
            ):
                grant_tag_resource(scope, member, targets, resource_side)
        return
    _warn_identity_only_tagging(scope, found, resource_side.account)
    registry_policy = resource_side.registry_policy()
    _tag_resource_side(scope, grantee, found, targets, registry_policy, registry_policy.scope_for(scope))


class _TagResourceStatement(iam.PolicyStatement):
    """The ``ecr:TagResource`` statement of a resource policy: its resources are those of its targets that a
    template tags when the policy renders (none, and the policy leaves it out, once untagged templates cover them)."""

    def __init__(self, principal: iam.IPrincipal, targets: Sequence[Target]) -> None:
        super().__init__(principals=[principal], actions=[TAG_RESOURCE], resources=[t.arn for t in targets])
        self._targets = tuple(targets)

    def to_statement_json(self) -> Any:
        """The statement in IAM JSON form, on the targets tagged now."""
        return {**super().to_statement_json(), "Resource": [t.arn for t in self._targets if t.tags()]}


def _tag_resource_side(
    scope: IConstruct,
    grantee: iam.IGrantable,
    found: iam.IPrincipal,
    targets: Sequence[Target],
    registry_policy: RegistryPolicyLike,
    scope_: RegistryPolicyScope,
) -> list[iam.Grant]:
    """``ecr:TagResource`` on the tagged ``targets`` in the registry policy (scope V2), or the V1 warning."""
    if not targets:
        return []
    if scope_ is RegistryPolicyScope.V1:
        Annotations.of(scope).add_warning_v2(
            "cdk-ecr-ptc:tagResourceUnderV1",
            (
                "A first pull into a tagging template's repository needs ecr:TagResource, which AWS documents as "
                "identity-only and a V1 registry policy cannot hold: the principal's own identity policy must allow "
                "it (the library adds it where it writes that policy). Whether ECR also needs it on the resource "
                "side for principals of other accounts is [UNVERIFIED]; scope V2 puts it in the registry policy."
            ),
        )
        return []
    statement = _TagResourceStatement(resource_policy_principal(partition(registry_policy), found), targets)  # type: ignore[arg-type]
    _guard_service(statement, found)
    return [_resource_grant(grantee, statement, registry_policy, (TAG_RESOURCE,), [t.arn for t in targets])]  # type: ignore[arg-type]


def _warn_identity_only_tagging(scope: IConstruct, found: iam.IPrincipal, account: str) -> None:
    """Warns that a same-account ``ArnPrincipal`` (alone or in a composite) needs ``ecr:TagResource`` in its own
    identity policy."""
    if isinstance(found, iam.CompositePrincipal):
        for member in found.principals:
            _warn_identity_only_tagging(scope, member, account)
        return
    if not isinstance(found, iam.ArnPrincipal) or isinstance(found, iam.AccountPrincipal):
        return
    if same(arn_account(found.arn), account) is False:
        return
    Annotations.of(scope).add_warning_v2(
        "cdk-ecr-ptc:tagResourceIdentityOnly",
        (
            f"{found.arn} pulls through a rule whose creation template tags the repositories it creates: its own "
            "identity policy must allow ecr:TagResource on them (AWS documents that permission as identity-only), "
            "and the library cannot write the policy of an ArnPrincipal. Grant the role or user itself instead, or "
            "add ecr:TagResource to its policy."
        ),
    )


def account_root(partition_name: str, account: str) -> str:
    """The ARN of an account's root principal."""
    return f"arn:{partition_name}:iam::{account}:root"


def resource_policy_principal(partition_name: str, found: iam.IPrincipal) -> iam.IPrincipal:
    """Renders account principals with ``partition_name``, so that equal accounts merge in a policy.

    CDK's ``AccountPrincipal`` renders a token of its own for every instance.
    """
    root = _account_root_of(partition_name, found)
    return found if root is None else iam.ArnPrincipal(root)


def resource_policy_principal_json(partition_name: str, found: iam.IPrincipal) -> dict[str, str] | None:
    """The ``Principal`` element :func:`resource_policy_principal` renders, when it is known without asking
    CDK (an account principal of a concrete account): a statement can then be built from plain data."""
    root = _account_root_of(partition_name, found)
    return None if root is None else {"AWS": root}


def _account_root_of(partition_name: str, found: iam.IPrincipal) -> str | None:
    """The root ARN of an ``AccountPrincipal`` of a concrete account, in ``partition_name``; ``None`` else."""
    if not isinstance(found, iam.AccountPrincipal):
        return None
    account = account_id_of(found)
    return account_root(partition_name, account) if resolved(account) else None


def _registry_grant(
    grantee: iam.IGrantable,
    registry_policy: RegistryPolicyLike,
    found: iam.IPrincipal,
    actions: Sequence[str],
    arns: Sequence[str],
) -> iam.Grant:
    prepare = (lambda statement: _guard_service(statement, found)) if _is_service(found) else None
    return registry_policy.grant_statement(grantee, found, actions, arns, prepare=prepare)


def with_auth_token(scope: IConstruct, grantee: iam.IGrantable, granted: iam.Grant) -> iam.Grant:
    """Adds ``ecr:GetAuthorizationToken`` on ``*`` to ``granted``, for principals with a policy of their own.

    A ``CompositePrincipal`` gets it for each member that has a policy, and a warning names the members that have
    none (their own identity policy must allow it).
    """
    found = principal(scope, grantee)
    if not isinstance(found, iam.CompositePrincipal):
        token = grant_plain(grantable(scope, grantee), found, [AUTH_TOKEN], ["*"], lambda: _without_policy(found))
        return granted if token is None else granted.combine(token)
    without = []
    for member in found.principals:
        token = grant_plain(member, member, [AUTH_TOKEN], ["*"], lambda: _without_policy(member))  # noqa: B023
        if token is None:
            without.append(member.to_string() if isinstance(member, iam.PrincipalBase) else repr(member))
        else:
            granted = granted.combine(token)
    if without:
        Annotations.of(scope).add_warning_v2(
            "cdk-ecr-ptc:compositeMemberWithoutPolicy",
            (
                f"The CompositePrincipal's members {', '.join(without)} have no identity policy the library can "
                "write: each needs ecr:GetAuthorizationToken (Resource '*') in its own policy to log in to the "
                "registry. The members with a policy of their own were granted it."
            ),
        )
    return granted
