"""AWS CDK constructs for Amazon ECR pull-through cache.

The names are imported on first use, so that ``python -m cdk_ecr_ptc report`` (which reads templates
and needs no CDK) does not start the jsii runtime.
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time each name is imported on first use
    from .attributes import RuleAttributes as RuleAttributes
    from .cache import PullThroughCache as PullThroughCache
    from .container_image import PullThroughCacheContainerImage as PullThroughCacheContainerImage
    from .creation_template import AppliedFor as AppliedFor
    from .creation_template import RepositoryCreationTemplate as RepositoryCreationTemplate
    from .creation_template import RepositorySettings as RepositorySettings
    from .credentials import SECRET_NAME_PREFIX as SECRET_NAME_PREFIX
    from .credentials import UpstreamCredentials as UpstreamCredentials
    from .deployment_policy import PullThroughCacheDeploymentPolicy as PullThroughCacheDeploymentPolicy
    from .exclusion import PullTimeUpdateExclusion as PullTimeUpdateExclusion
    from .imported import ImportedPullThroughCache as ImportedPullThroughCache
    from .imported import ImportedPullThroughCacheRule as ImportedPullThroughCacheRule
    from .lifecycle import CacheLifecycleRule as CacheLifecycleRule
    from .registry_policy import RegistryPolicy as RegistryPolicy
    from .registry_policy import RegistryPolicyScope as RegistryPolicyScope
    from .roles import EcrUpstreamRole as EcrUpstreamRole
    from .roles import RepositoryCreationRole as RepositoryCreationRole
    from .routing import PullThroughCacheImages as PullThroughCacheImages
    from .rule import PullThroughCacheRule as PullThroughCacheRule
    from .rule import PullThroughCacheRuleBase as PullThroughCacheRuleBase
    from .upstream import Upstream as Upstream
    from .upstream import UpstreamRegistry as UpstreamRegistry
    from .warming import CacheWarming as CacheWarming
    from .warming import WarmImage as WarmImage

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
    "PullThroughCacheContainerImage": "container_image",
    "PullThroughCacheDeploymentPolicy": "deployment_policy",
    "PullThroughCacheImages": "routing",
    "PullThroughCacheRule": "rule",
    "PullThroughCacheRuleBase": "rule",
    "PullTimeUpdateExclusion": "exclusion",
    "RegistryPolicy": "registry_policy",
    "RegistryPolicyScope": "registry_policy",
    "RepositoryCreationRole": "roles",
    "RepositoryCreationTemplate": "creation_template",
    "RepositorySettings": "creation_template",
    "RuleAttributes": "attributes",
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
