"""AWS CDK constructs for Amazon ECR pull-through cache."""

from .cache import PullThroughCache
from .creation_template import AppliedFor, RepositoryCreationTemplate, RepositorySettings
from .credentials import SECRET_NAME_PREFIX, UpstreamCredentials
from .deployment_policy import PullThroughCacheDeploymentPolicy
from .imported import ImportedPullThroughCache, ImportedPullThroughCacheRule
from .registry_policy import RegistryPolicy
from .roles import EcrUpstreamRole, RepositoryCreationRole
from .rule import PullThroughCacheRule, PullThroughCacheRuleBase
from .upstream import Upstream, UpstreamRegistry

__all__ = [
    "SECRET_NAME_PREFIX",
    "AppliedFor",
    "EcrUpstreamRole",
    "ImportedPullThroughCache",
    "ImportedPullThroughCacheRule",
    "PullThroughCache",
    "PullThroughCacheDeploymentPolicy",
    "PullThroughCacheRule",
    "PullThroughCacheRuleBase",
    "RegistryPolicy",
    "RepositoryCreationRole",
    "RepositoryCreationTemplate",
    "RepositorySettings",
    "Upstream",
    "UpstreamCredentials",
    "UpstreamRegistry",
]
