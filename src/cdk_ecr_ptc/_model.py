"""The pull-through cache domain, in plain Python (no CDK import): prefixes, repository ARNs, actions, limits.

The constructs, the access report and the test oracle all read these, so each fact is written once.
"""

from __future__ import annotations

import re
from enum import Enum

#: The prefix of a rule or template that covers every repository (no prefix).
ROOT = "ROOT"

#: CDK's encoding of a token in a string: ``${Token[...]}`` (strings and numbers) or ``#{Token[...]}`` (lists).
#: The name inside may hold ``:`` and ``.`` (``${Token[Fn::Join.20]}``, ``${Token[AWS.AccountId.8]}``).
TOKEN = re.compile(r"[$#]\{Token\[([A-Za-z0-9:._\-]*?)(?:\.\d+)?\]\}")


def is_token(value: str) -> bool:
    """Tells whether the string ``value`` is, or contains, an unresolved CDK token."""
    return TOKEN.search(value) is not None


def normalize_prefix(prefix: str) -> str:
    """The prefix as ECR compares it: ECR assumes a trailing ``/``, so ``a`` and ``a/`` are one prefix."""
    return prefix if prefix == ROOT else prefix.rstrip("/")


def covers(template_prefix: str, repository_prefix: str) -> bool:
    """Tells whether a template with ``template_prefix`` covers the repositories under ``repository_prefix``."""
    if template_prefix == ROOT:
        return True
    base = normalize_prefix(template_prefix)
    return repository_prefix != ROOT and (normalize_prefix(repository_prefix) == base
                                          or repository_prefix.startswith(base + "/"))


def specificity(template_prefix: str) -> int:
    """How specific a template prefix is: the longer the prefix, the more; ``ROOT`` the least."""
    return -1 if template_prefix == ROOT else len(normalize_prefix(template_prefix))


def repository_pattern(prefix: str) -> str:
    """The repository-name part of the ARN of every repository under ``prefix``: ``<prefix>/*``, or ``*``."""
    return "*" if prefix == ROOT else f"{normalize_prefix(prefix)}/*"


def repository_arn(partition: str, region: str, account: str, pattern: str) -> str:
    """``arn:<partition>:ecr:<region>:<account>:repository/<pattern>``."""
    return f"arn:{partition}:ecr:{region}:{account}:repository/{pattern}"


class RegistryPolicyScope(str, Enum):
    """The registry-policy scope of an account's private registry (ECR account setting ``REGISTRY_POLICY_SCOPE``).

    ``V1`` applies the registry policy to ``ecr:ReplicateImage``, ``ecr:BatchImportUpstreamImage`` and
    ``ecr:CreateRepository`` only, and rejects a policy with other actions. ``V2`` (the default of accounts
    created since December 2024) applies it to every ECR action.
    """

    V1 = "V1"
    V2 = "V2"


#: The CloudFormation resource metadata key that declares the scope a registry policy was rendered for.
SCOPE_METADATA = "cdk-ecr-ptc:registryPolicyScope"

#: The only actions a registry policy may hold under scope V1.
V1_REGISTRY_ACTIONS = frozenset({"ecr:ReplicateImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"})

#: What the ECR docs add on top of ordinary pull access for a pull through the cache.
PULL_THROUGH = ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")

#: Needed by a puller only when a creation template tags the repositories it creates.
TAG_RESOURCE = "ecr:TagResource"

#: The repository-scoped pull actions, as CDK's ``Repository.grant_pull`` grants them.
PULL = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")

#: The one action that has no resource-level permission.
AUTH_TOKEN = "ecr:GetAuthorizationToken"

#: What a creation template's repository policy allows a principal granted the pull of a rule.
REPOSITORY_POLICY_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:BatchImportUpstreamImage",
                          "ecr:GetDownloadUrlForLayer")

#: Pull-through cache rules per registry (account and Region); not adjustable.
MAX_RULES_PER_REGISTRY = 50

#: The registry policy text limit of the ECR API and the CloudFormation schema.
MAX_REGISTRY_POLICY_LENGTH = 10_240

#: The repository policy text limit of the ECR API.
MAX_REPOSITORY_POLICY_LENGTH = 10_240
