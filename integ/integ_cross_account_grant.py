"""Integ: a cross-account pull grant.

Proves that the registry policy the grant renders is accepted by ``PutRegistryPolicy`` on the
account's registry-policy scope, and that the repository the first pull creates carries the grant
(in its repository policy, from the creation template) or the registry policy names the account.
Give a second account you own in ``INTEG_CROSS_ACCOUNT`` [UNVERIFIED: ECR accepts the root principal of
an account that is not yours].
"""

import os

from _support import IMAGES, delete_cached, describe, first_pull
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.integ_tests_alpha import ExpectedResult, IntegTest

from cdk_ecr_ptc import PullThroughCache, RepositorySettings, Upstream

PREFIX = "integ-shared"

app = App()
other_account = os.environ.get("INTEG_CROSS_ACCOUNT", "222233334444")
stack = Stack(app, "IntegCrossAccountGrant")
cache = PullThroughCache(
    stack,
    "Cache",
    upstreams=[Upstream.quay(prefix=PREFIX)],
    repository_settings=RepositorySettings(description="integ: shared", keep_last_images=5),
)
cache.grant_pull(iam.AccountPrincipal(other_account))

integ = IntegTest(app, "CrossAccountGrant", test_cases=[stack], diff_assets=True)
registry = integ.assertions.aws_api_call("ECR", "getRegistryPolicy", {})
registry.assert_at_path("registryId", ExpectedResult.exact(stack.account))
repository, tag = IMAGES["quay"]
policy = integ.assertions.aws_api_call("ECR", "getRepositoryPolicy", {"repositoryName": f"{PREFIX}/{repository}"})
policy.assert_at_path("repositoryName", ExpectedResult.exact(f"{PREFIX}/{repository}"))
registry.next(first_pull(integ, stack, PREFIX, repository, tag)).next(describe(integ, stack, PREFIX, repository)).next(
    policy
).next(delete_cached(integ, stack, PREFIX, repository))
app.synth()
