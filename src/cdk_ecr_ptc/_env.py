"""Account, region and partition helpers that never compare unresolved tokens."""

from aws_cdk import Aws, Stack, Token
from aws_cdk.region_info import RegionInfo
from constructs import IConstruct


def resolved(value: str | None) -> bool:
    """Tells whether ``value`` is a concrete string (not ``None`` and not a token)."""
    return value is not None and not Token.is_unresolved(value)


def same(a: str | None, b: str | None) -> bool | None:
    """Compares two account or region strings; ``None`` when either one is unknown."""
    if not resolved(a) or not resolved(b):
        return None
    return a == b


def partition(scope: IConstruct) -> str:
    """The partition of ``scope``'s stack: a literal when its region is known, else ``AWS::Partition``."""
    region = Stack.of(scope).region
    if resolved(region):
        known = RegionInfo.get(region).partition
        if known:
            return known
    return Aws.PARTITION


def repository_arn(scope: IConstruct, pattern: str, *, account: str | None = None,
                   region: str | None = None) -> str:
    """Builds ``arn:<partition>:ecr:<region>:<account>:repository/<pattern>`` for ``scope``'s stack."""
    stack = Stack.of(scope)
    return (f"arn:{partition(scope)}:ecr:{region or stack.region}:{account or stack.account}"
            f":repository/{pattern}")


def url_suffix(scope: IConstruct) -> str:
    """The domain suffix of ``scope``'s stack: a literal when its region is known, else ``AWS::URLSuffix``."""
    region = Stack.of(scope).region
    if resolved(region):
        known = RegionInfo.get(region).domain_suffix
        if known:
            return known
    return Aws.URL_SUFFIX
