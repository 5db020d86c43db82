"""Shared by the integ_*.py apps: first pulls through a rule, checked with ``aws_api_call``.

Run by ``@aws-cdk/integ-runner`` (see the README, "Verifying in an AWS account"). Every app deploys a
registry policy, which replaces the account's own: use a sandbox account.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from aws_cdk import Duration, Stack  # noqa: E402
from aws_cdk.integ_tests_alpha import ExpectedResult, IApiCall, IntegTest  # noqa: E402

#: Images of the unauthenticated upstreams, as (upstream repository, tag). [UNVERIFIED: still published]
IMAGES = {
    "ecr-public": ("docker/library/alpine", "3.20"),
    "kubernetes": ("pause", "3.10"),
    "quay": ("prometheus/busybox", "latest"),
}
PULL_ACTIONS = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
]


def first_pull(integ: IntegTest, stack: Stack, prefix: str, repository: str, tag: str) -> IApiCall:
    """Pulls ``<prefix>/<repository>:<tag>`` by ``ECR.batchGetImage`` until ECR has cached it.

    The first call makes ECR create the repository from the creation template and import the image
    [UNVERIFIED: the BatchGetImage API triggers the import as a docker pull does]; the assertion waits
    until the image is there.
    """
    name = f"{prefix}/{repository}"
    call = integ.assertions.aws_api_call(
        "ECR", "batchGetImage", {"repositoryName": name, "imageIds": [{"imageTag": tag}]}
    )
    call.provider.add_to_role_policy(
        {
            "Effect": "Allow",
            "Action": PULL_ACTIONS,
            "Resource": [stack.format_arn(service="ecr", resource="repository", resource_name=f"{prefix}/*")],
        }
    )
    call.assert_at_path("images.0.imageId.imageTag", ExpectedResult.exact(tag))
    return call.wait_for_assertions(total_timeout=Duration.minutes(5), interval=Duration.seconds(20))


def describe(integ: IntegTest, stack: Stack, prefix: str, repository: str) -> IApiCall:
    """``ECR.describeRepositories`` shows ``<prefix>/<repository>``."""
    name = f"{prefix}/{repository}"
    call = integ.assertions.aws_api_call("ECR", "describeRepositories", {"repositoryNames": [name]})
    call.assert_at_path("repositories.0.repositoryName", ExpectedResult.exact(name))
    return call


def delete_cached(integ: IntegTest, stack: Stack, prefix: str, repository: str) -> IApiCall:
    """Deletes the cached repository, which ECR created outside the stack (so the destroy leaves nothing)."""
    call = integ.assertions.aws_api_call(
        "ECR", "deleteRepository", {"repositoryName": f"{prefix}/{repository}", "force": True}
    )
    call.provider.add_to_role_policy(
        {
            "Effect": "Allow",
            "Action": ["ecr:DeleteRepository"],
            "Resource": [stack.format_arn(service="ecr", resource="repository", resource_name=f"{prefix}/*")],
        }
    )
    return call
