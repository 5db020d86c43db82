"""The deployment-policy check: the handler permissions of the cache stack's resources, evaluated on their ARNs."""

from __future__ import annotations

import re

import pytest

from cdk_ecr_ptc.preflight import preflight
from cdk_ecr_ptc.preflight.deployment import NO_RESOURCE_ACTIONS, OMITTED, Request, allowed

from .conftest import (
    ACCOUNT,
    LAMBDA_TRUST,
    REGION,
    creation_template,
    registry_policy,
    resource,
    role,
    rule,
    write_assembly,
)

ARN = f"{REGION}:{ACCOUNT}"
ROLES = f"arn:aws:iam::{ACCOUNT}:role/cdk-ecr-ptc-*"


def cache_stack():
    """A rule with a template (its role named cdk-ecr-ptc-...), a registry policy and a validation custom resource;
    plus a task role of the user's own that references none of them."""
    return {
        "Resources": {
            "Rule": rule(),
            "Template": creation_template(LifecyclePolicy='{"rules":[]}'),
            "TemplateRole": role(RoleName="cdk-ecr-ptc-template"),
            "Policy": registry_policy("ecr:CreateRepository", "ecr:BatchImportUpstreamImage"),
            "HandlerRole": role(trust=LAMBDA_TRUST, RoleName="cdk-ecr-ptc-validator"),
            "HandlerLogs": resource("AWS::Logs::LogGroup", {"RetentionInDays": 30}),
            "Handler": resource(
                "AWS::Lambda::Function",
                {
                    "Code": {"S3Bucket": f"cdk-hnb659fds-assets-{ACCOUNT}-{REGION}", "S3Key": "abc.zip"},
                    "Handler": "index.handler",
                    "Runtime": "python3.13",
                    "Timeout": 60,
                    "Role": {"Fn::GetAtt": ["HandlerRole", "Arn"]},
                    "LoggingConfig": {"LogGroup": {"Ref": "HandlerLogs"}},
                },
                "Cache/Validator/Handler/Resource",
            ),
            "Validate": resource(
                "AWS::CloudFormation::CustomResource",
                {"ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]}, "ServiceTimeout": 300, "Prefix": {"Ref": "Rule"}},
                "Cache/Validator/Resource",
            ),
            "TaskRole": role(trust=LAMBDA_TRUST),
        }
    }


def complete_policy():
    """Written by hand from the AWS docs' view of each handler, not from the library."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Resource": "*",
                "Action": [
                    "ecr:CreatePullThroughCacheRule",
                    "ecr:DeletePullThroughCacheRule",
                    "ecr:DescribePullThroughCacheRules",
                    "ecr:CreateRepositoryCreationTemplate",
                    "ecr:DeleteRepositoryCreationTemplate",
                    "ecr:DescribeRepositoryCreationTemplates",
                    "ecr:UpdateRepositoryCreationTemplate",
                    "ecr:GetRegistryPolicy",
                    "ecr:PutRegistryPolicy",
                    "ecr:DeleteRegistryPolicy",
                    "logs:DescribeLogGroups",
                ],
            },
            {
                "Effect": "Allow",
                "Action": ["ecr:CreateRepository", "ecr:PutLifecyclePolicy"],
                "Resource": f"arn:aws:ecr:{ARN}:repository/quay/*",
            },
            {
                "Effect": "Allow",
                "Resource": ROLES,
                "Action": [
                    "iam:CreateRole",
                    "iam:DeleteRole",
                    "iam:GetRole",
                    "iam:UpdateRole",
                    "iam:UpdateRoleDescription",
                    "iam:UpdateAssumeRolePolicy",
                    "iam:TagRole",
                    "iam:UntagRole",
                    "iam:PutRolePolicy",
                    "iam:GetRolePolicy",
                    "iam:DeleteRolePolicy",
                    "iam:AttachRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListRolePolicies",
                ],
            },
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": ROLES,
                "Condition": {"StringEquals": {"iam:PassedToService": ["ecr.amazonaws.com", "lambda.amazonaws.com"]}},
            },
            {
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/*",
                "Condition": {
                    "StringEquals": {"iam:AWSServiceName": ["pullthroughcache.ecr.amazonaws.com", "ecr.amazonaws.com"]}
                },
            },
            {"Effect": "Allow", "Action": "lambda:*", "Resource": f"arn:aws:lambda:{ARN}:function:Cache-*"},
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": f"arn:aws:s3:::cdk-hnb659fds-assets-{ACCOUNT}-{REGION}/*",
            },
            {"Effect": "Allow", "Action": "logs:*", "Resource": f"arn:aws:logs:{ARN}:log-group:Cache-*"},
        ],
    }


def deploy(tmp_path, document, *, description="Deploys the ECR pull-through cache of Cache", cache=None):
    deployment = {
        "Resources": {
            "Deploy": resource(
                "AWS::IAM::ManagedPolicy",
                {"Description": description, "PolicyDocument": document},
                "Deployment/Policy/Resource",
            )
        }
    }
    directory = write_assembly(tmp_path / "out", {"Cache": cache or cache_stack(), "Deployment": deployment})
    return [f for f in preflight(directory)["findings"] if f["check"] == "deployment-policy"]


def test_passes_a_policy_that_allows_every_handler_call(tmp_path):
    assert deploy(tmp_path, complete_policy()) == []


def test_fails_a_policy_without_lambda_and_logs(tmp_path):
    document = complete_policy()
    document["Statement"] = [s for s in document["Statement"] if s["Action"] not in ("lambda:*", "logs:*")]

    found = deploy(tmp_path, document)

    by_resource = {f["problem"].split(" ")[3]: f["value"] for f in found}
    assert sorted(by_resource) == ["Cache/Validator/Handler/Resource", "Cache/Validator/Resource", "HandlerLogs"]
    assert "lambda:CreateFunction" in by_resource["Cache/Validator/Handler/Resource"]
    assert "lambda:DeleteFunction" in by_resource["Cache/Validator/Handler/Resource"]
    assert by_resource["Cache/Validator/Resource"].startswith("lambda:InvokeFunction on arn:aws:lambda:")
    assert "logs:CreateLogGroup" in by_resource["HandlerLogs"]
    assert "logs:PutRetentionPolicy" in by_resource["HandlerLogs"]
    assert all(f["path"] == "Deployment/Policy/Resource" for f in found)
    # the user's own task role references no cache resource, so the policy need not cover it
    assert not any("TaskRole" in f["problem"] for f in found)


def test_fails_create_role_scoped_to_a_path_the_roles_are_not_under(tmp_path):
    document = complete_policy()
    for statement in document["Statement"]:
        if statement["Resource"] == ROLES:
            statement["Resource"] = f"arn:aws:iam::{ACCOUNT}:role/cdk-ecr-ptc/*"

    found = " ".join(f["value"] for f in deploy(tmp_path, document))

    assert "iam:CreateRole, iam:DeleteRole" in found
    assert f"on arn:aws:iam::{ACCOUNT}:role/cdk-ecr-ptc-template" in found
    assert f"on arn:aws:iam::{ACCOUNT}:role/cdk-ecr-ptc-validator" in found


def test_fails_pass_role_limited_to_ecr_when_a_lambda_role_is_passed(tmp_path):
    document = complete_policy()
    document["Statement"][3]["Condition"]["StringEquals"]["iam:PassedToService"] = "ecr.amazonaws.com"

    (finding,) = deploy(tmp_path, document)

    assert finding["value"] == f"iam:PassRole on arn:aws:iam::{ACCOUNT}:role/cdk-ecr-ptc-validator"


def test_attach_role_policy_is_needed_only_for_a_role_with_managed_policies(tmp_path):
    document = complete_policy()
    for statement in document["Statement"]:
        if statement["Resource"] == ROLES and "iam:AttachRolePolicy" in statement["Action"]:
            statement["Action"].remove("iam:AttachRolePolicy")
    assert deploy(tmp_path, document) == []

    cache = cache_stack()
    cache["Resources"]["TemplateRole"]["Properties"]["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    (finding,) = deploy(tmp_path / "2", document, cache=cache)
    assert finding["value"] == f"iam:AttachRolePolicy on arn:aws:iam::{ACCOUNT}:role/cdk-ecr-ptc-template"


def test_fails_a_credential_secret_the_policy_cannot_read(tmp_path):
    cache = cache_stack()
    cache["Resources"]["Secret"] = resource(
        "AWS::SecretsManager::Secret", {"Name": "ecr-pullthroughcache/quay", "SecretString": "{}"}
    )
    cache["Resources"]["Rule"]["Properties"]["CredentialArn"] = {"Ref": "Secret"}
    document = complete_policy()
    document["Statement"].append(
        {
            "Effect": "Allow",
            "Action": [
                "secretsmanager:CreateSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:DescribeSecret",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
                "secretsmanager:UpdateSecret",
            ],
            "Resource": f"arn:aws:secretsmanager:{ARN}:secret:ecr-pullthroughcache/quay-??????",
        }
    )

    found = deploy(tmp_path, document, cache=cache)  # the rule's create and the secret's update read it
    assert len(found) == 2
    for finding in found:
        assert re.fullmatch(
            r"secretsmanager:GetSecretValue on arn:aws:secretsmanager:eu-west-1:111122223333:secret:"
            r"ecr-pullthroughcache/quay-[A-Za-z0-9]{6}",
            finding["value"],
        )

    document["Statement"][-1]["Action"].append("secretsmanager:GetSecretValue")
    assert deploy(tmp_path / "2", document, cache=cache) == []


def test_fails_when_the_cache_stack_is_not_in_the_assembly(tmp_path):
    (finding,) = deploy(tmp_path, complete_policy(), description="Deploys the ECR pull-through cache of Elsewhere")
    assert finding["value"] == "Elsewhere"


def test_an_explicit_deny_wins():
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:PassRole", "NotResource": ROLES},
        ]
    }
    assert allowed(document, Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/cdk-ecr-ptc-x"))
    assert not allowed(document, Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin"))


def test_an_unmodelled_condition_operator_proves_nothing():
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
            }
        ]
    }
    assert not allowed(document, Request("ecr:PutRegistryPolicy", "*"))


def test_every_omission_names_a_reason():
    assert all(reason for _, reason in OMITTED.values())


@pytest.mark.parametrize(
    "kind",
    [
        "AWS::ECR::PullThroughCacheRule",
        "AWS::ECR::RepositoryCreationTemplate",
        "AWS::ECR::RegistryPolicy",
        "AWS::SecretsManager::Secret",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::Lambda::Function",
        "AWS::Logs::LogGroup",
        "AWS::KMS::Key",
        "AWS::IAM::ManagedPolicy",
    ],
)
def test_the_no_resource_actions_agree_with_policy_sentry(kind):
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    from policy_sentry.querying.actions import get_actions_that_support_wildcard_arns_only

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", kind).schema
    actions = {a for h in ("create", "update", "delete") for a in schema["handlers"][h]["permissions"]}
    wildcard_only: set[str] = set()
    for service in {a.split(":")[0] for a in actions} - {"s3files"}:  # s3files: not in policy_sentry 0.15.2
        wildcard_only |= {a.lower() for a in get_actions_that_support_wildcard_arns_only(service)}
    assert {a.lower() for a in actions} & wildcard_only == {a.lower() for a in actions} & NO_RESOURCE_ACTIONS


def test_a_role_policy_is_evaluated_on_the_role_arn_with_its_path(tmp_path):
    cache = cache_stack()
    cache["Resources"]["TemplateRole"]["Properties"]["Path"] = "/cdk-ecr-ptc/"
    cache["Resources"]["TemplatePolicy"] = resource(
        "AWS::IAM::Policy", {"PolicyName": "p", "Roles": [{"Ref": "TemplateRole"}], "PolicyDocument": {"Statement": []}}
    )
    document = complete_policy()
    for statement in document["Statement"]:
        if statement["Resource"] == ROLES:
            statement["Resource"] = [ROLES, f"arn:aws:iam::{ACCOUNT}:role/cdk-ecr-ptc/*"]

    assert deploy(tmp_path, document, cache=cache) == []


def test_a_secret_named_by_a_partial_arn_is_evaluated_on_its_full_arn():
    from cdk_ecr_ptc.preflight.deployment import complete_secret_arn

    partial = f"arn:aws:secretsmanager:{ARN}:secret:ecr-pullthroughcache/hub"
    assert re.fullmatch(re.escape(partial) + r"-[A-Za-z0-9]{6}", complete_secret_arn(partial))
    assert complete_secret_arn(partial + "-AbC123") == partial + "-AbC123"
