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
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from aws_cdk import Annotations, Aws, Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ._env import account_id_of, facts, grantable_of, partition, principal_of, remembered, resolved, same
from ._model import AUTH_TOKEN, REPOSITORY_POLICY_PULL, TAG_RESOURCE, V1_REGISTRY_ACTIONS, RegistryPolicyScope
from ._nag import acknowledge_on_policy
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
        tags: whether the template that covers the rule tags the repositories it creates.
        share: under scope V1, applies a repository-policy grant (given as a function of the template) to
            every creation template that creates the rule's repositories (the rule's own, defined if needed,
            and those of more specific prefixes, also those declared later); ``None`` for rules of another app.
    """

    arn: str
    tags: bool
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

    Attributes:
        grants: its identity grants by actions (later grants with the same actions add resources to them).
        statements: their principal statements, once asked for.
        checked: its account or ARN passed the library's checks.
        immutable: it is an imported immutable role (``_UNKNOWN`` until asked).
        without_policy: a grant found it has no policy of its own to add to.
        account: its ``principal_account`` (``_UNKNOWN`` until asked).
    """

    grants: dict[tuple[str, ...], iam.Grant] = field(default_factory=dict)
    statements: dict[tuple[str, ...], iam.PolicyStatement] = field(default_factory=dict)
    checked: bool = False
    immutable: Any = _UNKNOWN
    without_policy: bool = False
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


#: CDK classes whose ``add_to_principal_policy`` always adds the statement (to their ``DefaultPolicy``). Only
#: these exact classes: a subclass may do otherwise.
_WITH_POLICY = frozenset({iam.Role, iam.User, iam.Group})


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


def grant_identity(
    grantee: iam.IGrantable, found: iam.IPrincipal, actions: Sequence[str], resource_arns: Sequence[str]
) -> iam.Grant | None:
    """Grants through the principal's own policy, adding to its earlier statement with the same actions.

    Granting one role on twenty rules gives one statement with twenty resources, not twenty statements.
    ``None`` means the principal has no policy of its own to add to (an ``ArnPrincipal``, an account, an
    imported immutable role). Repository wildcards are acknowledged for cdk-nag on the policy written.
    """
    if isinstance(found, iam.PrincipalBase):  # ArnPrincipal, accounts, organizations, services...
        return None
    known = _known(found)
    if known.without_policy or _immutable(found):
        return None
    key = tuple(actions)
    grant = known.grants.get(key)
    if grant is not None:  # kept only when it has its principal statement
        statement = known.statements.get(key)
        if statement is None:
            statement = known.statements[key] = cast(iam.PolicyStatement, grant.principal_statement)
        statement.add_resources(*resource_arns)
    else:
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=list(resource_arns))
        # A role, user or group of the app always takes the statement (in its DefaultPolicy); others may not.
        if type(found) not in _WITH_POLICY and not grant.success:
            known.without_policy = True
            return None
        known.grants[key] = grant
    acknowledge_on_policy(found, [arn for arn in resource_arns if arn != "*"])
    return grant


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


def _guard_service(statement: iam.PolicyStatement, found: iam.IPrincipal) -> None:
    """A service principal may act for any account: limit it to the cache's account (aws:SourceAccount).

    CDK knows no source ARN for a bare service principal, so none is added.
    """
    if isinstance(found, iam.ServicePrincipal) or (
        isinstance(found, iam.CompositePrincipal)
        and any(isinstance(member, iam.ServicePrincipal) for member in found.principals)
    ):
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

    Args:
        scope: the construct granting (named in errors and warnings).
        grantee: the principal that pulls.
        actions: the repository actions.
        targets: the rules' repositories.
        resource_side: the cache's resource policies; ``None`` for a cache of another app (identity only).
    """
    found = principal(scope, grantee)
    grantee = grantable(scope, grantee)
    arns = [target.arn for target in targets]
    tagged = [target.arn for target in targets if target.tags]
    identity = grant_identity(grantee, found, actions, arns)
    if identity is not None and tagged:
        identity = identity.combine(grant_identity(grantee, found, (TAG_RESOURCE,), tagged) or identity)
    if resource_side is None:
        return identity, False
    account = resource_side.account
    if identity is not None and same(_principal_account(found), account) is not False:
        return identity, False
    _check_cross_environment(scope, found, account)
    if identity is None and _immutable(found):
        Annotations.of(scope).add_warning_v2(
            "cdk-ecr-ptc:immutableRole",
            (
                f"{cast(IConstruct, found).node.path} is an imported immutable role: nothing can be added to its "
                "policy, so the grant goes to the registry policy (and repository policies) instead. Its own "
                "policy must still allow ecr:GetAuthorizationToken and the pull actions if it is of another account."
            ),
        )
    registry_policy = resource_side.registry_policy()
    scope_ = registry_policy.scope_for(scope)
    grants = [identity] if identity is not None else []
    if scope_ is RegistryPolicyScope.V2:
        grants.append(_registry_grant(grantee, registry_policy, found, actions, arns))
        if tagged:
            grants.append(_registry_grant(grantee, registry_policy, found, (TAG_RESOURCE,), tagged))
    else:
        registry_actions = tuple(action for action in actions if action in V1_REGISTRY_ACTIONS)
        if registry_actions:
            grants.append(_registry_grant(grantee, registry_policy, found, registry_actions, arns))
        repository_actions = [action for action in REPOSITORY_POLICY_PULL if action in actions]
        if tagged:
            Annotations.of(scope).add_warning_v2(
                "cdk-ecr-ptc:tagResourceUnderV1",
                (
                    "A first pull into a tagging template's repository needs ecr:TagResource, which AWS documents as "
                    "identity-only and a V1 registry policy cannot hold: the principal's own identity policy must "
                    "allow "
                    "it (the library adds it where it writes that policy). Whether ECR also needs it on the resource "
                    "side for principals of other accounts is [UNVERIFIED]; scope V2 puts it in the registry policy."
                ),
            )

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
    if not grants:
        return None, True
    combined = grants[0]
    for other in grants[1:]:
        combined = combined.combine(other)
    return combined, True


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
    return registry_policy.grant_statement(
        grantee, found, actions, arns, prepare=lambda statement: _guard_service(statement, found)
    )


def with_auth_token(scope: IConstruct, grantee: iam.IGrantable, granted: iam.Grant) -> iam.Grant:
    """Adds ``ecr:GetAuthorizationToken`` on ``*`` to ``granted``, for principals with a policy of their own."""
    token = grant_identity(grantable(scope, grantee), principal(scope, grantee), [AUTH_TOKEN], ["*"])
    return granted if token is None else granted.combine(token)
