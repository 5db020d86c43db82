"""Account, region and partition helpers that never compare unresolved tokens.

They run on every rule and grant, so they avoid crossing into jsii where Python can answer: a CDK
token in a string is always encoded as ``${Token[...]}`` (or ``#{Token[...]}`` for lists), and what a
stack's environment implies is worked out once per stack.
"""

from __future__ import annotations

import functools
import re
import weakref
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_cdk import Aws, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk.region_info import RegionInfo
from constructs import IConstruct, Node

from ._model import is_token
from ._model import repository_arn as _arn

_K = TypeVar("_K")
_V = TypeVar("_V")


def resolved(value: object) -> bool:
    """Tells whether ``value`` is concrete: not ``None`` and not (or not containing) a token."""
    if isinstance(value, str):
        return not is_token(value)
    return value is not None and not Token.is_unresolved(value)


def same(a: str | None, b: str | None) -> bool | None:
    """Compares two account or region strings; ``None`` when either one is unknown."""
    if not resolved(a) or not resolved(b):
        return None
    return a == b


#: The partitions as the AWS SDKs describe them (botocore's ``partitions.json``): the pattern of their Region
#: names, their name and their domain suffix. A test checks them against every Region aws-cdk-lib knows.
_PARTITIONS = tuple(
    (re.compile(pattern), {"partition": partition, "domain_suffix": suffix})
    for pattern, partition, suffix in (
        (r"^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$", "aws", "amazonaws.com"),
        (r"^cn-\w+-\d+$", "aws-cn", "amazonaws.com.cn"),
        (r"^eusc-(de)-\w+-\d+$", "aws-eusc", "amazonaws.eu"),
        (r"^us-iso-\w+-\d+$", "aws-iso", "c2s.ic.gov"),
        (r"^us-isob-\w+-\d+$", "aws-iso-b", "sc2s.sgov.gov"),
        (r"^eu-isoe-\w+-\d+$", "aws-iso-e", "cloud.adc-e.uk"),
        (r"^us-isof-\w+-\d+$", "aws-iso-f", "csp.hci.ic.gov"),
        (r"^us-gov-\w+-\d+$", "aws-us-gov", "amazonaws.com"),
    )
)


@functools.cache
def _region_fact(region: str, fact: str, fallback: str) -> str:
    """A fact of ``region`` when the region is known, else the pseudo parameter named ``fallback`` (an
    attribute of ``Aws``, read only then: reading it crosses jsii).

    A Region name of a known partition's pattern is answered in Python; others ask aws-cdk-lib's
    ``RegionInfo``, whose facts table costs about 0.1 s of Node.js time to load.
    """
    if not resolved(region):
        return str(getattr(Aws, fallback))
    for pattern, facts_of_partition in _PARTITIONS:
        if pattern.match(region):
            return facts_of_partition[fact]
    known = getattr(RegionInfo.get(region), fact)
    return known or str(getattr(Aws, fallback))


def partition_of(region: str) -> str:
    """The partition of ``region``: a literal when the region is known, else ``AWS::Partition``."""
    return _region_fact(region, "partition", "PARTITION")


def url_suffix_of(region: str) -> str:
    """The domain suffix of ``region``: a literal when the region is known, else ``AWS::URLSuffix``."""
    return _region_fact(region, "domain_suffix", "URL_SUFFIX")


def remembered(cache: weakref.WeakKeyDictionary[Any, _V], owner: object, compute: Any) -> _V:
    """``cache[owner]``, computed with ``compute()`` on first use; objects that take no weak reference
    are not remembered."""
    try:
        return cache[owner]
    except KeyError:
        value: _V = compute()
        cache[owner] = value
        return value
    except TypeError:
        return compute()  # type: ignore[no-any-return, unused-ignore]


_principals: weakref.WeakKeyDictionary[Any, tuple[Any, Any]] = weakref.WeakKeyDictionary()
#: CDK classes whose ``grant_principal`` is the object itself (``PrincipalBase``, ``Role``, ``User`` and
#: ``Group`` set ``grantPrincipal = this``), so it need not be asked for. Only these exact classes: a
#: subclass may define ``grant_principal`` otherwise.
_SELF_GRANTING = frozenset(
    {
        iam.Role,
        iam.User,
        iam.Group,
        iam.AccountPrincipal,
        iam.AccountRootPrincipal,
        iam.ArnPrincipal,
        iam.CompositePrincipal,
        iam.OrganizationPrincipal,
        iam.ServicePrincipal,
    }
)


def arn_account(arn: str) -> str | None:
    """The account of an IAM or STS ARN (``arn:<partition>:iam::<account>:...``); ``None`` when it has none."""
    parts = arn.split(":") if resolved(arn) else []
    return parts[4] if len(parts) > 5 and parts[4] else None


def grantable_of(grantee: Any) -> tuple[Any, Any]:
    """``(grantable, principal)`` of ``grantee``, remembered per grantee (asking crosses jsii): the grantee and
    its ``grant_principal``, or for objects that are not ``IGrantable`` but expose a ``role`` (an EKS
    ``Nodegroup``, say) that role and its principal, as CDK's own grants accept them; ``(None, None)`` else."""

    def compute() -> tuple[Any, Any]:
        if type(grantee) in _SELF_GRANTING:
            return grantee, grantee
        found = getattr(grantee, "grant_principal", None)
        if found is not None:
            return grantee, found
        role = getattr(grantee, "role", None)
        return (role, role.grant_principal) if role is not None else (None, None)

    return remembered(_principals, grantee, compute)


_account_ids: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_nodes: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def node_of(construct: IConstruct) -> Node:
    """``construct.node``, remembered per construct (asking crosses jsii)."""
    return remembered(_nodes, construct, lambda: construct.node)


def account_id_of(principal: iam.AccountPrincipal) -> str:
    """``principal.account_id``, remembered per principal (asking crosses jsii)."""
    return remembered(_account_ids, principal, lambda: principal.account_id)


def principal_of(grantee: Any) -> Any:
    """``grantee.grant_principal`` (or its role's), remembered per grantee; see :func:`grantable_of`."""
    return grantable_of(grantee)[1]


@dataclass
class StackFacts:
    """What the library needs to know of a stack's environment, worked out once per stack."""

    stack: Stack
    account: str
    region: str
    partition: str
    url_suffix: str
    #: Names the registry (account and Region), or the stack when either is unknown.
    registry: str
    #: The root of the stack's construct tree (the app).
    root: IConstruct


_stack_facts: weakref.WeakKeyDictionary[Any, StackFacts] = weakref.WeakKeyDictionary()
_scope_facts: weakref.WeakKeyDictionary[Any, StackFacts] = weakref.WeakKeyDictionary()


def _facts_of_stack(stack: Stack) -> StackFacts:
    account, region = stack.account, stack.region
    registry = (
        f"account {account}, region {region}"
        if resolved(account) and resolved(region)
        else f"stack {stack.node.path} (environment-agnostic)"
    )
    return StackFacts(stack, account, region, partition_of(region), url_suffix_of(region), registry, stack.node.root)


def facts(scope: IConstruct) -> StackFacts:
    """The facts of ``scope``'s stack (remembered per construct and per stack)."""

    def compute() -> StackFacts:
        stack = Stack.of(scope)
        return remembered(_stack_facts, stack, lambda: _facts_of_stack(stack))

    return remembered(_scope_facts, scope, compute)


def inherit_facts(child: IConstruct, parent: IConstruct) -> None:
    """Remembers that ``child``, a construct just defined under ``parent`` that is not a stack, is in
    ``parent``'s stack: :func:`facts` then need not ask CDK for it."""
    _scope_facts[child] = facts(parent)


def partition(scope: IConstruct) -> str:
    """The partition of ``scope``'s stack: a literal when its region is known, else ``AWS::Partition``."""
    return facts(scope).partition


def repository_arn(scope: IConstruct, pattern: str, *, account: str | None = None, region: str | None = None) -> str:
    """Builds ``arn:<partition>:ecr:<region>:<account>:repository/<pattern>``, by default in ``scope``'s stack."""
    own = facts(scope)
    region = region or own.region
    return _arn(partition_of(region), region, account or own.account, pattern)
