"""Token-aware input checks. Each failure names the construct path, the bad value and the fix."""

import re

from constructs import IConstruct

from ._env import facts, resolved

#: EcrRepositoryPrefix / UpstreamRepositoryPrefix pattern of the CloudFormation schema and ECR API.
PREFIX_PATTERN = re.compile(
    r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*/?|ROOT)$"
)
ROOT = "ROOT"
#: Regions where AWS documents that pull-through cache rules cannot be created.
UNSUPPORTED_REGION_PREFIXES = ("cn-", "us-gov-")


def fail(scope: IConstruct, problem: str, value: object, fix: str) -> ValueError:
    """Builds the library's error: ``[path] problem: got 'value'. fix``."""
    return ValueError(f"[{scope.node.path}] {problem}: got {value!r}. {fix}")


def check_prefix(scope: IConstruct, field: str, value: str, *, min_length: int = 2,
                 max_length: int = 30) -> None:
    """Checks a repository prefix against the service's pattern and length; skips tokens."""
    if not resolved(value):
        return
    if not (min_length <= len(value) <= max_length) or not PREFIX_PATTERN.fullmatch(value):
        raise fail(scope, f"{field} is not a valid ECR repository prefix", value,
                   f"Use {min_length}-{max_length} lowercase letters, digits and '.', '_', '-' "
                   "separators, path segments joined by '/', or 'ROOT'.")


def check_region_supported(scope: IConstruct) -> None:
    """Fails in regions where pull-through cache is not offered; skipped when the region is a token."""
    region = facts(scope).region
    if resolved(region) and region.startswith(UNSUPPORTED_REGION_PREFIXES):
        raise fail(scope, "pull-through cache is not available in this region", region,
                   "Deploy the cache to a commercial AWS Region (not cn-* or us-gov-*).")
