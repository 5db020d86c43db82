"""Integ: validation after deploy, on a Docker Hub rule with real credentials.

Proves that the validation custom resource answers CloudFormation (the deploy completes, it does not
hang), that ``ECR.validatePullThroughCacheRule`` says the rule is valid, and that a first pull works.
Needs a Secrets Manager secret named ``ecr-pullthroughcache/<name>`` holding your Docker Hub
``username`` and ``accessToken``, named in ``INTEG_DOCKER_HUB_SECRET`` (default
``ecr-pullthroughcache/integ-docker-hub``).
"""

import os

from _support import delete_cached, describe, first_pull
from aws_cdk import App, Stack
from aws_cdk.integ_tests_alpha import ExpectedResult, IntegTest

from cdk_ecr_ptc import PullThroughCache, Upstream, UpstreamCredentials

PREFIX = "integ-docker-hub"

app = App()
secret_name = os.environ.get("INTEG_DOCKER_HUB_SECRET", "ecr-pullthroughcache/integ-docker-hub")
stack = Stack(app, "IntegValidation")
PullThroughCache(
    stack,
    "Cache",
    upstreams=[
        Upstream.docker_hub(
            prefix=PREFIX, credentials=UpstreamCredentials.from_secret_name(secret_name), validate_after_deploy=True
        )
    ],
)

integ = IntegTest(app, "Validation", test_cases=[stack], diff_assets=True)
valid = integ.assertions.aws_api_call("ECR", "validatePullThroughCacheRule", {"ecrRepositoryPrefix": PREFIX})
valid.expect(ExpectedResult.object_like({"isValid": True, "ecrRepositoryPrefix": PREFIX}))
valid.next(first_pull(integ, stack, PREFIX, "library/alpine", "3.20")).next(
    describe(integ, stack, PREFIX, "library/alpine")
).next(delete_cached(integ, stack, PREFIX, "library/alpine"))
app.synth()
