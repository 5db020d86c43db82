"""AWS CDK constructs for Amazon ECR pull-through cache.

The names are imported on first use, so that ``python -m cdk_ecr_ptc report`` (which reads templates
and needs no CDK) does not start the jsii runtime.
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time each name is imported on first use
    from .cache import PullThroughCache
    from .creation_template import AppliedFor, RepositoryCreationTemplate, RepositorySettings
    from .credentials import SECRET_NAME_PREFIX, UpstreamCredentials
    from .deployment_policy import PullThroughCacheDeploymentPolicy
    from .imported import ImportedPullThroughCache, ImportedPullThroughCacheRule
    from .registry_policy import RegistryPolicy, RegistryPolicyScope
    from .roles import EcrUpstreamRole, RepositoryCreationRole
    from .rule import PullThroughCacheRule, PullThroughCacheRuleBase
    from .upstream import Upstream, UpstreamRegistry

#: Public name -> the module that defines it.
_EXPORTS = {
    "SECRET_NAME_PREFIX": "credentials",
    "AppliedFor": "creation_template",
    "CacheLifecycleRule": "lifecycle",
    "CacheWarming": "warming",
    "EcrUpstreamRole": "roles",
    "ImportedPullThroughCache": "imported",
    "ImportedPullThroughCacheRule": "imported",
    "PullThroughCache": "cache",
    "PullThroughCacheDeploymentPolicy": "deployment_policy",
    "PullThroughCacheRule": "rule",
    "PullThroughCacheRuleBase": "rule",
    "PullTimeUpdateExclusion": "exclusion",
    "RegistryPolicy": "registry_policy",
    "RegistryPolicyScope": "registry_policy",
    "RepositoryCreationRole": "roles",
    "RepositoryCreationTemplate": "creation_template",
    "RepositorySettings": "creation_template",
    "Upstream": "upstream",
    "UpstreamCredentials": "credentials",
    "UpstreamRegistry": "upstream",
    "WarmImage": "warming",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> object:
    """Imports a public name from its module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
