"""What the report adds to the library's domain model (:mod:`cdk_ecr_ptc._model`): its probe and action sets.

Prefixes, "covers", the most specific prefix, repository ARNs, the scope V1 actions and the scope metadata
are the library's, imported from there (it is plain Python too: no CDK is loaded); what is here is the
report's own reading of the service (FACTS §5, §6, §7), shared by the readers (``resources``), the
evaluator (``access``) and the renderers.
"""

import re

from .._model import AUTH_TOKEN, PULL_THROUGH, TAG_RESOURCE, cache_repository
from .._model import repository_arn as _repository_arn

#: The repository a first pull is checked against, under each rule's prefix.
PROBE = "probe/image"
#: The ``AppliedFor`` value of creation templates that pull-through cache uses.
PULL_THROUGH_CACHE = "PULL_THROUGH_CACHE"

BATCH_GET_IMAGE = "ecr:BatchGetImage"
GET_LAYER = "ecr:GetDownloadUrlForLayer"
IMPORT_UPSTREAM = "ecr:BatchImportUpstreamImage"
GET_COPY_STATUS = "ecr:GetImageCopyStatus"

#: What a first pull through a rule is authorized for (FACTS §6.2, §6.3), the token first: the pulls, then what
#: a pull through the cache adds (``ecr:BatchImportUpstreamImage``, ``ecr:CreateRepository``).
FIRST_PULL = (AUTH_TOKEN, BATCH_GET_IMAGE, GET_LAYER, *PULL_THROUGH)
#: The first-pull actions a creation template's repository policy can grant (the others are checked
#: before the repository, and so its policy, exists).
REPOSITORY_POLICY_ACTIONS = (BATCH_GET_IMAGE, GET_LAYER, IMPORT_UPSTREAM)
#: What an upstream registry must allow the downstream account in ECR-to-ECR caching (FACTS §6.4).
DOWNSTREAM_CACHE = (BATCH_GET_IMAGE, GET_LAYER, IMPORT_UPSTREAM, GET_COPY_STATUS)

_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/?$")


def first_pull_actions(tagged: bool) -> tuple[str, ...]:
    """The actions a first pull needs; ``ecr:TagResource`` too when the applying template tags."""
    return FIRST_PULL + ((TAG_RESOURCE,) if tagged else ())


def probe_repository(prefix: str) -> str:
    """The repository a first pull through ``prefix`` is checked against: ``<prefix>/probe/image``."""
    return cache_repository(prefix, PROBE)


def partition_of(region: str) -> str:
    """The partition of a Region name; ``aws`` for an unknown one."""
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def repository_arn(account: str, region: str, name: str) -> str:
    """The ARN of repository ``name`` in the registry of ``account`` and ``region`` (the partition from the Region)."""
    return _repository_arn(partition_of(region), region, account, name)


def ecr_registry_of(url: str) -> tuple[str, str] | None:
    """``(account, region)`` of a private ECR registry host such as ``1111….dkr.ecr.eu-west-1.amazonaws.com``."""
    match = _ECR_HOST.match(url)
    return (match.group(1), match.group(2)) if match else None
