"""Account, region and partition helpers that never compare unresolved tokens.

They run on every rule and grant, so they avoid crossing into jsii where Python can answer: a CDK
token in a string is always encoded as ``${Token[...]}`` (or ``#{Token[...]}`` for lists), and what a
stack's environment implies is worked out once per stack.
"""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Stack, Token
from aws_cdk.region_info import RegionInfo
from constructs import IConstruct

#: CDK's encoding of a token in a string (``BEGIN_STRING_TOKEN_MARKER`` / ``BEGIN_LIST_TOKEN_MARKER``).
_TOKEN = re.compile(r"[$#]\{Token\[[a-zA-Z0-9:._-]+\]\}")


def resolved(value: object) -> bool:
    """Tells whether ``value`` is concrete: not ``None`` and not (or not containing) a token."""
    if isinstance(value, str):
        return _TOKEN.search(value) is None
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


def remember(owner: object, name: str, value: object) -> object:
    """Stores ``value`` on ``owner`` as ``name`` where Python allows it (jsii's proxies of objects created
    in JavaScript take no attributes), and returns it."""
    with contextlib.suppress(AttributeError):
        setattr(owner, name, value)
    return value


def principal_of(grantee: object) -> object:
    """``grantee.grant_principal``, remembered on the grantee (it does not change, and asking crosses jsii)."""
    principal = getattr(grantee, "_cdk_ecr_ptc_principal", None)
    return principal if principal is not None else remember(grantee, "_cdk_ecr_ptc_principal",
                                                             grantee.grant_principal)


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
    #: The app's ledger, once looked up from this stack.
    ledger: Any = None
    #: The repository ARN patterns whose cdk-nag wildcard finding is acknowledged in this stack.
    acknowledged: set[str] | None = None


def facts(scope: IConstruct) -> StackFacts:
    """The facts of ``scope``'s stack (remembered on ``scope`` and on the stack)."""
    known = getattr(scope, "_cdk_ecr_ptc_facts", None)
    if known is None:
        stack = Stack.of(scope)
        known = getattr(stack, "_cdk_ecr_ptc_facts", None)
        if known is None:
            account, region = stack.account, stack.region
            registry = (f"account {account}, region {region}" if resolved(account) and resolved(region)
                        else f"stack {stack.node.path} (environment-agnostic)")
            known = remember(stack, "_cdk_ecr_ptc_facts", StackFacts(
                stack, account, region, partition_of(region), url_suffix_of(region), registry))
        remember(scope, "_cdk_ecr_ptc_facts", known)
    return known


def partition(scope: IConstruct) -> str:
    """The partition of ``scope``'s stack: a literal when its region is known, else ``AWS::Partition``."""
    return facts(scope).partition


def repository_arn(scope: IConstruct, pattern: str, *, account: str | None = None,
                   region: str | None = None) -> str:
    """Builds ``arn:<partition>:ecr:<region>:<account>:repository/<pattern>``, by default in ``scope``'s stack."""
    own = facts(scope)
    region = region or own.region
    return f"arn:{partition_of(region)}:ecr:{region}:{account or own.account}:repository/{pattern}"
