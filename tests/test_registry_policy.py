"""The one registry policy per stack: shared, carried over, and the upstream half of ECR-to-ECR."""

import json

from aws_cdk import aws_iam as iam

from cdk_ecr_ptc import PullThroughCache, RegistryPolicy, RegistryPolicyScope, Upstream
from tests.support import registry_policy, resources

EXISTING = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReplicationFromProd",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
            "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
            "Resource": "arn:aws:ecr:us-east-1:111122223333:repository/*",
        }
    ],
}


def test_of_returns_one_policy_per_stack(stack):
    first = RegistryPolicy.of(stack)
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])

    assert cache.registry_policy is first
    assert RegistryPolicy.of(cache.rule("quay")) is first


def test_every_construct_of_the_stack_shares_the_policy(stack):
    one = PullThroughCache(stack, "One", upstreams=[Upstream.quay()])
    two = PullThroughCache(stack, "Two", upstreams=[Upstream.ecr_public()])

    one.grant_pull_through(iam.AccountPrincipal("222233334444"))
    two.grant_pull_through(iam.AccountPrincipal("333344445555"))

    assert len(resources(stack, "AWS::ECR::RegistryPolicy")) == 1
    assert len(registry_policy(stack)["Statement"]) == 2


def test_carry_over_keeps_existing_statements_verbatim_and_first(stack):
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])
    cache.registry_policy.carry_over(json.dumps(EXISTING))

    cache.grant_pull_through(iam.AccountPrincipal("222233334444"))

    statements = registry_policy(stack)["Statement"]
    assert statements[0] == EXISTING["Statement"][0]
    assert statements[1]["Principal"] == {"AWS": "arn:aws:iam::222233334444:root"}


def test_carry_over_accepts_a_parsed_document(stack):
    policy = RegistryPolicy.of(stack)
    assert policy.is_empty

    policy.carry_over(EXISTING)

    assert not policy.is_empty

    assert registry_policy(stack)["Statement"] == EXISTING["Statement"]


def test_add_to_resource_policy_takes_any_statement(stack):
    policy = RegistryPolicy.of(stack)

    result = policy.add_to_resource_policy(
        iam.PolicyStatement(
            sid="Replication",
            principals=[iam.AccountPrincipal("444455556666")],
            actions=["ecr:ReplicateImage"],
            resources=["*"],
        )
    )

    assert result.statement_added
    assert registry_policy(stack)["Statement"][0]["Sid"] == "Replication"


def test_grant_downstream_cache_is_the_upstream_half_of_ecr_to_ecr(stack):
    policy = RegistryPolicy.of(stack, registry_policy_scope=RegistryPolicyScope.V2)
    grant = policy.grant_downstream_cache("444455556666", repository_prefix="team-a")

    assert grant.success
    assert registry_policy(stack)["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
            "Action": [
                "ecr:BatchGetImage",
                "ecr:BatchImportUpstreamImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:GetImageCopyStatus",
            ],
            "Resource": "arn:aws:ecr:us-east-1:111122223333:repository/team-a/*",
        }
    ]


def test_registry_id_is_the_registry_policy_attribute(stack):
    policy = RegistryPolicy.of(stack, registry_policy_scope=RegistryPolicyScope.V2)
    policy.grant_downstream_cache("444455556666")

    assert stack.resolve(policy.registry_id) == {"Fn::GetAtt": ["EcrRegistryPolicy6A80A39E", "RegistryId"]}
