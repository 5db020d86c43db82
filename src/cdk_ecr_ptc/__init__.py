"""AWS CDK constructs for Amazon ECR pull-through cache."""

from .cache import PullThroughCache
from .credentials import SECRET_NAME_PREFIX, UpstreamCredentials
from .registry_policy import RegistryPolicy
from .roles import EcrUpstreamRole
from .rule import PullThroughCacheRule
from .upstream import Upstream, UpstreamRegistry

__all__ = [
    "SECRET_NAME_PREFIX",
    "EcrUpstreamRole",
    "PullThroughCache",
    "PullThroughCacheRule",
    "RegistryPolicy",
    "Upstream",
    "UpstreamCredentials",
    "UpstreamRegistry",
]
