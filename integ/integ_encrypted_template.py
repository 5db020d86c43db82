"""Integ: a tagged, KMS-encrypted creation template with a lifecycle policy.

Proves that a template with a custom role deploys (its role ARN is accepted by ECR's schema), and
that the repository the first pull creates is encrypted with the key, tagged and has the lifecycle policy.
"""

from _support import IMAGES, delete_cached, describe, first_pull
from aws_cdk import App, Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk.integ_tests_alpha import ExpectedResult, IntegTest, Match

from cdk_ecr_ptc import PullThroughCache, RepositorySettings, Upstream

PREFIX = "integ-kms"
TAGS = {"owner": "platform", "cache": "pull-through"}

app = App()
stack = Stack(app, "IntegEncryptedTemplate")
key = kms.Key(
    stack, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY, pending_window=Duration.days(7)
)
PullThroughCache(
    stack,
    "Cache",
    upstreams=[Upstream.ecr_public(prefix=PREFIX)],
    repository_settings=RepositorySettings(
        description="integ: tagged and encrypted", keep_last_images=5, encryption_key=key, resource_tags=TAGS
    ),
)

integ = IntegTest(app, "EncryptedTemplate", test_cases=[stack], diff_assets=True)
repository, tag = IMAGES["ecr-public"]
name = f"{PREFIX}/{repository}"
created = describe(integ, stack, PREFIX, repository)
created.assert_at_path("repositories.0.encryptionConfiguration.encryptionType", ExpectedResult.exact("KMS"))
created.assert_at_path("repositories.0.encryptionConfiguration.kmsKey", ExpectedResult.exact(key.key_arn))
tags = integ.assertions.aws_api_call(
    "ECR",
    "listTagsForResource",
    {"resourceArn": stack.format_arn(service="ecr", resource="repository", resource_name=name)},
)
tags.expect(ExpectedResult.object_like({"tags": Match.array_with([{"Key": k, "Value": v} for k, v in TAGS.items()])}))
lifecycle = integ.assertions.aws_api_call("ECR", "getLifecyclePolicy", {"repositoryName": name})
lifecycle.assert_at_path("repositoryName", ExpectedResult.exact(name))
first_pull(integ, stack, PREFIX, repository, tag).next(created).next(tags).next(lifecycle).next(
    delete_cached(integ, stack, PREFIX, repository)
)
app.synth()
