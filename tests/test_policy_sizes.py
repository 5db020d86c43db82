"""Policy size regressions: merged grants keep a full cache within the IAM and ECR policy limits.

Sizes are deterministic, so these tests pin them. Both limits are 10,240 characters: the registry
policy text (ECR API and CloudFormation schema) and a role's inline policies (IAM counts them
without whitespace). Lengths are measured on the deployed form: intrinsics are replaced by the
longest value they can take.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from cdk_ecr_ptc import PullThroughCache, RegistryPolicy, Upstream
from cdk_ecr_ptc._statements import deployed_length

MAX_CHARS = 10_240
RULES = 50
ACCOUNTS = 100
#: The longest value each pseudo parameter can take once deployed.
LONGEST_REF = {
    "AWS::Partition": "aws-us-gov",
    "AWS::AccountId": "0" * 12,
    "AWS::Region": "ap-southeast-5",
    "AWS::URLSuffix": "amazonaws.com.cn",
}
ENVIRONMENTS = pytest.mark.parametrize(
    "env", [Environment(account="111122223333", region="us-east-1"), None], ids=["concrete", "agnostic"]
)
REPOSITORY_ACTIONS = {
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
}


def deployed(value: Any) -> Any:
    """Replaces ``Ref`` to pseudo parameters and ``Fn::Join`` by the longest string they deploy as."""
    if isinstance(value, list):
        return [deployed(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            assert value["Ref"] in LONGEST_REF, f"unexpected reference in a policy: {value}"
            return LONGEST_REF[value["Ref"]]
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(deployed(p) for p in parts)
        assert not any(k.startswith("Fn::") for k in value), f"unexpected intrinsic in a policy: {value}"
        return {k: deployed(v) for k, v in value.items()}
    return value


def compact_length(document: Any) -> int:
    """Counts the non-whitespace characters of ``document`` as compact JSON, as IAM and ECR count them."""
    text = json.dumps(deployed(document), separators=(",", ":"))
    return sum(not c.isspace() for c in text)


def cache_stack(env: Environment | None) -> tuple[Stack, PullThroughCache]:
    """A fresh app and stack with one cache of 50 rules (ECR Public, Quay and Kubernetes in turn).

    CDK's template validation is off: it checks no size here and costs seconds per process.
    """
    stack = Stack(App(builtin_cloud_formation_validation=False), "Sizes", env=env)
    factories = (Upstream.ecr_public, Upstream.quay, Upstream.kubernetes)
    cache = PullThroughCache(
        stack, "Cache", upstreams=[factories[i % len(factories)](prefix=f"p{i:02d}") for i in range(RULES)]
    )
    return stack, cache


def resources_of(stack: Stack, type_: str) -> list[dict]:
    """The synthesized resources of ``type_``."""
    return [r for r in Template.from_stack(stack).to_json()["Resources"].values() if r["Type"] == type_]


@ENVIRONMENTS
def test_hundred_accounts_on_fifty_rules_fit_the_registry_policy(env: Environment | None) -> None:
    stack, cache = cache_stack(env)
    for i in range(ACCOUNTS):
        cache.grant_pull(iam.AccountPrincipal(str(200_000_000_000 + i)))

    estimated = deployed_length(RegistryPolicy.of(stack).document())
    [policy] = resources_of(stack, "AWS::ECR::RegistryPolicy")
    text = policy["Properties"]["PolicyText"]
    [statement] = deployed(text)["Statement"]
    assert len(statement["Principal"]["AWS"]) == ACCOUNTS
    assert len(statement["Resource"]) == RULES
    assert estimated < MAX_CHARS
    assert compact_length(text) < MAX_CHARS


@ENVIRONMENTS
def test_one_role_granted_rule_by_rule_gets_one_policy_of_two_statements(env: Environment | None) -> None:
    stack, cache = cache_stack(env)
    role = iam.Role(stack, "Puller", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    for rule in cache.rules:
        cache.rule(rule.prefix).grant_pull(role)

    [policy] = resources_of(stack, "AWS::IAM::Policy")
    document = policy["Properties"]["PolicyDocument"]
    repositories, token = document["Statement"]
    assert set(repositories["Action"]) == REPOSITORY_ACTIONS
    assert len(repositories["Resource"]) == RULES
    assert (token["Action"], token["Resource"]) == ("ecr:GetAuthorizationToken", "*")
    assert compact_length(document) < MAX_CHARS
