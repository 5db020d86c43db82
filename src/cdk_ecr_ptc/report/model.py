"""The report's domain model, in one place: prefixes, "covers", repository ARNs, ECR action sets.

Everything here is plain data and pure functions about the service (FACTS §5, §6, §7), shared by the
readers (``resources``), the evaluator (``access``) and the renderers. When the library gets a shared
domain model of its own, this module is the one to switch over to it.
"""

import re

#: The prefix of a rule or creation template that covers every repository.
ROOT = "ROOT"
#: The repository a first pull is checked against, under each rule's prefix.
PROBE = "probe/image"
#: The ``AppliedFor`` value of creation templates that pull-through cache uses.
PULL_THROUGH_CACHE = "PULL_THROUGH_CACHE"

AUTH_TOKEN = "ecr:GetAuthorizationToken"
BATCH_GET_IMAGE = "ecr:BatchGetImage"
GET_LAYER = "ecr:GetDownloadUrlForLayer"
IMPORT_UPSTREAM = "ecr:BatchImportUpstreamImage"
CREATE_REPOSITORY = "ecr:CreateRepository"
TAG_RESOURCE = "ecr:TagResource"
REPLICATE_IMAGE = "ecr:ReplicateImage"
GET_COPY_STATUS = "ecr:GetImageCopyStatus"

#: What a first pull through a rule is authorized for (FACTS §6.2, §6.3), the token first.
FIRST_PULL = (AUTH_TOKEN, BATCH_GET_IMAGE, GET_LAYER, IMPORT_UPSTREAM, CREATE_REPOSITORY)
#: The first-pull actions a creation template's repository policy can grant (the others are checked
#: before the repository, and so its policy, exists).
REPOSITORY_POLICY_ACTIONS = (BATCH_GET_IMAGE, GET_LAYER, IMPORT_UPSTREAM)
#: The only actions a registry policy on scope V1 enforces (FACTS §0, §7).
V1_REGISTRY_ACTIONS = (REPLICATE_IMAGE, IMPORT_UPSTREAM, CREATE_REPOSITORY)
#: What an upstream registry must allow the downstream account in ECR-to-ECR caching (FACTS §6.4).
DOWNSTREAM_CACHE = (BATCH_GET_IMAGE, GET_LAYER, IMPORT_UPSTREAM, GET_COPY_STATUS)

#: The CloudFormation resource metadata key the library sets on its registry policy (V1 or V2).
SCOPE_METADATA = "cdk-ecr-ptc:registryPolicyScope"
SCOPE_V1, SCOPE_V2 = "V1", "V2"

_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/?$")


def first_pull_actions(tagged: bool) -> tuple[str, ...]:
    """The actions a first pull needs; ``ecr:TagResource`` too when the applying template tags."""
    return FIRST_PULL + ((TAG_RESOURCE,) if tagged else ())


def covers(prefix: str, repository: str) -> bool:
    """Whether a rule or template prefix covers ``repository`` (a trailing ``/`` is implied; ROOT covers all)."""
    return prefix == ROOT or repository.startswith(prefix.rstrip("/") + "/")


def probe_repository(prefix: str) -> str:
    """The repository a first pull through ``prefix`` is checked against: ``<prefix>/probe/image``."""
    return PROBE if prefix == ROOT else f"{prefix.rstrip('/')}/{PROBE}"


def partition_of(region: str) -> str:
    """The partition of a Region name; ``aws`` for an unknown one."""
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def repository_arn(account: str, region: str, name: str) -> str:
    """The ARN of repository ``name`` in the registry of ``account`` and ``region``."""
    return f"arn:{partition_of(region)}:ecr:{region}:{account}:repository/{name}"


def ecr_registry_of(url: str) -> tuple[str, str] | None:
    """``(account, region)`` of a private ECR registry host such as ``1111….dkr.ecr.eu-west-1.amazonaws.com``."""
    match = _ECR_HOST.match(url)
    return (match.group(1), match.group(2)) if match else None


def most_specific(prefixes: list[str], repository: str) -> str | None:
    """The prefix ECR applies to a new repository: the longest covering one, ROOT only as a fallback."""
    covering = [p for p in prefixes if covers(p, repository)]
    specific = [p for p in covering if p != ROOT]
    if specific:
        return max(specific, key=lambda p: len(p.rstrip("/")))
    return covering[0] if covering else None
