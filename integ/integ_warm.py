"""Integ: warming at deploy pulls an ECR Public image through the cache, and DescribeImages then lists it.

Proves that the warming custom resource answers CloudFormation within its ServiceTimeout (the deploy
completes), that its role may pull through the rule (``BatchGetImage`` by tag creates the repository and
imports the image), and that the image is in the cache afterwards. No credentials are needed (ECR Public).
The repository that ECR creates is not part of the stack: the last call deletes it.
Run by ``@aws-cdk/integ-runner`` in a sandbox account (the stack deploys a registry policy only if it
grants one; this one does not). [UNVERIFIED: not yet run against an account]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]

from aws_cdk import App, Stack  # noqa: E402
from aws_cdk.integ_tests_alpha import ExpectedResult, IntegTest, Match  # noqa: E402

from cdk_ecr_ptc import PullThroughCache, Upstream  # noqa: E402

PREFIX = "integ-warm-public"
REPOSITORY, TAG = "docker/library/alpine", "3.20"  # [UNVERIFIED: still published on public.ecr.aws]
CACHED = f"{PREFIX}/{REPOSITORY}"

app = App()
stack = Stack(app, "IntegWarm")
cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.ecr_public(prefix=PREFIX)])
cache.warm([f"public.ecr.aws/{REPOSITORY}:{TAG}"], platforms=["linux/amd64"])

integ = IntegTest(app, "Warm", test_cases=[stack], diff_assets=True)
repository_arn = stack.format_arn(service="ecr", resource="repository", resource_name=CACHED)
listed = integ.assertions.aws_api_call(
    "ECR", "describeImages", {"repositoryName": CACHED, "imageIds": [{"imageTag": TAG}]}
)
listed.provider.add_to_role_policy({"Effect": "Allow", "Action": ["ecr:DescribeImages"], "Resource": [repository_arn]})
listed.expect(
    ExpectedResult.object_like(
        {
            "imageDetails": Match.array_with(
                [Match.object_like({"repositoryName": CACHED, "imageTags": Match.array_with([TAG])})]
            )
        }
    )
)
cleanup = integ.assertions.aws_api_call("ECR", "deleteRepository", {"repositoryName": CACHED, "force": True})
cleanup.provider.add_to_role_policy(
    {"Effect": "Allow", "Action": ["ecr:DeleteRepository", "ecr:BatchDeleteImage"], "Resource": [repository_arn]}
)
listed.next(cleanup)
app.synth()
