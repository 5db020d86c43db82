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


def _region_fact(scope: IConstruct, region: str | None, fact: str, fallback: str) -> str:
    """A fact of ``region`` (default: ``scope``'s stack's) when the region is known, else ``fallback``."""
    region = Stack.of(scope).region if region is None else region
    known = getattr(RegionInfo.get(region), fact) if resolved(region) else None
    return known or fallback


def partition(scope: IConstruct, region: str | None = None) -> str:
    """The partition of ``region``: a literal when the region is known, else ``AWS::Partition``."""
    return _region_fact(scope, region, "partition", Aws.PARTITION)


def url_suffix(scope: IConstruct, region: str | None = None) -> str:
    """The domain suffix of ``region``: a literal when the region is known, else ``AWS::URLSuffix``."""
    return _region_fact(scope, region, "domain_suffix", Aws.URL_SUFFIX)


def repository_arn(scope: IConstruct, pattern: str, *, account: str | None = None,
                   region: str | None = None) -> str:
    """Builds ``arn:<partition>:ecr:<region>:<account>:repository/<pattern>``, by default in ``scope``'s stack."""
    stack = Stack.of(scope)
    region = region or stack.region
    return f"arn:{partition(scope, region)}:ecr:{region}:{account or stack.account}:repository/{pattern}"
