"""Account, region and partition helpers that never compare unresolved tokens.

They run on every rule and grant, so they avoid crossing into jsii where Python can answer: a CDK
token in a string is always encoded as ``${Token[...]}`` (or ``#{Token[...]}`` for lists), and what a
stack's environment implies is worked out once per stack.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_cdk import Aws, Stack, Token
from aws_cdk.region_info import RegionInfo
from constructs import IConstruct

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


@functools.cache
def _region_fact(region: str, fact: str, fallback: str) -> str:
    """A fact of ``region`` when the region is known, else ``fallback`` (a pseudo parameter)."""
    known = getattr(RegionInfo.get(region), fact) if resolved(region) else None
    return known or fallback


def partition_of(region: str) -> str:
    """The partition of ``region``: a literal when the region is known, else ``AWS::Partition``."""
    return _region_fact(region, "partition", Aws.PARTITION)


def url_suffix_of(region: str) -> str:
    """The domain suffix of ``region``: a literal when the region is known, else ``AWS::URLSuffix``."""
    return _region_fact(region, "domain_suffix", Aws.URL_SUFFIX)


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


def arn_account(arn: str) -> str | None:
    """The account of an IAM or STS ARN (``arn:<partition>:iam::<account>:...``); ``None`` when it has none."""
    parts = arn.split(":") if resolved(arn) else []
    return parts[4] if len(parts) > 5 and parts[4] else None


def of_another_account(principal: Any, account: str) -> bool:
    """Tells whether ``principal`` names an account that is not known to be ``account``.

    A principal of a named account (``principal_account``: a role imported by ARN, a role of a stack with an
    account) is of another account when ``account`` differs, and also when ``account`` is unknown (an
    environment-agnostic stack): then its identity policy would attach to a same-named principal of whichever
    account deploys. A principal whose account is unknown is taken as the stack's own.
    """
    named = getattr(principal, "principal_account", None)
    return resolved(named) and (not resolved(account) or named != account)


def grantable_of(grantee: Any) -> tuple[Any, Any]:
    """``(grantable, principal)`` of ``grantee``, remembered per grantee (asking crosses jsii): the grantee and
    its ``grant_principal``, or for objects that are not ``IGrantable`` but expose a ``role`` (an EKS
    ``Nodegroup``, say) that role and its principal, as CDK's own grants accept them; ``(None, None)`` else."""

    def compute() -> tuple[Any, Any]:
        found = getattr(grantee, "grant_principal", None)
        if found is not None:
            return grantee, found
        role = getattr(grantee, "role", None)
        return (role, role.grant_principal) if role is not None else (None, None)

    return remembered(_principals, grantee, compute)


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


_stack_facts: weakref.WeakKeyDictionary[Any, StackFacts] = weakref.WeakKeyDictionary()
_scope_facts: weakref.WeakKeyDictionary[Any, StackFacts] = weakref.WeakKeyDictionary()


def _facts_of_stack(stack: Stack) -> StackFacts:
    account, region = stack.account, stack.region
    registry = (
        f"account {account}, region {region}"
        if resolved(account) and resolved(region)
        else f"stack {stack.node.path} (environment-agnostic)"
    )
    return StackFacts(stack, account, region, partition_of(region), url_suffix_of(region), registry)


def facts(scope: IConstruct) -> StackFacts:
    """The facts of ``scope``'s stack (remembered per construct and per stack)."""

    def compute() -> StackFacts:
        stack = Stack.of(scope)
        return remembered(_stack_facts, stack, lambda: _facts_of_stack(stack))

    return remembered(_scope_facts, scope, compute)


def partition(scope: IConstruct) -> str:
    """The partition of ``scope``'s stack: a literal when its region is known, else ``AWS::Partition``."""
    return facts(scope).partition


def repository_arn(scope: IConstruct, pattern: str, *, account: str | None = None, region: str | None = None) -> str:
    """Builds ``arn:<partition>:ecr:<region>:<account>:repository/<pattern>``, by default in ``scope``'s stack."""
    own = facts(scope)
    region = region or own.region
    return _arn(partition_of(region), region, account or own.account, pattern)
