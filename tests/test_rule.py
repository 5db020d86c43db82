"""A rule's repository ARNs, image URIs and ECR-to-ECR role."""

import pytest
from aws_cdk import App, Aws, CfnParameter, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from cdk_ecr_ptc import EcrUpstreamRole, PullThroughCacheRule, RepositorySettings, Upstream, UpstreamCredentials
from tests.support import as_list, identity_statements, resources

HUB = UpstreamCredentials.from_secret_complete_arn(
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:ecr-pullthroughcache/hub-AbCdEf"
)


def test_repository_arn_pattern_covers_the_prefix(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay())

    assert rule.repository_arn_pattern == "arn:aws:ecr:us-east-1:111122223333:repository/quay/*"


def test_root_prefix_covers_every_repository(stack):
    rule = PullThroughCacheRule(
        stack, "Rule", upstream=Upstream.ecr(account="111122223333", region="eu-west-1", prefix="ROOT")
    )

    assert rule.repository_arn_pattern == "arn:aws:ecr:us-east-1:111122223333:repository/*"


def test_repository_arn_pattern_uses_the_partition_of_the_region():
    stack = Stack(App(), "Eu", env=Environment(account="111122223333", region="eu-central-1"))
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay())

    assert rule.repository_arn_pattern.startswith("arn:aws:ecr:eu-central-1:")


def test_repository_arn_pattern_is_tokens_in_agnostic_stacks(agnostic_stack):
    rule = PullThroughCacheRule(agnostic_stack, "Rule", upstream=Upstream.quay())

    assert agnostic_stack.resolve(rule.repository_arn_pattern) == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ecr:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":repository/quay/*",
            ],
        ]
    }


@pytest.mark.parametrize(
    ("repository", "kwargs", "expected"),
    [
        ("nginx", {"tag": "1.27"}, "docker-hub/library/nginx:1.27"),
        ("bitnami/redis", {}, "docker-hub/bitnami/redis"),
        ("nginx", {"digest": "sha256:" + "a" * 64}, "docker-hub/library/nginx@sha256:" + "a" * 64),
    ],
)
def test_image_uri_of_docker_hub_adds_library_to_official_images(stack, repository, kwargs, expected):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.docker_hub(credentials=HUB))

    assert rule.image_uri(repository, **kwargs) == f"111122223333.dkr.ecr.us-east-1.amazonaws.com/{expected}"


def test_image_uri_keeps_single_names_of_other_upstreams(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.ecr_public())

    assert (
        rule.image_uri("nginx", tag="latest") == "111122223333.dkr.ecr.us-east-1.amazonaws.com/ecr-public/nginx:latest"
    )


def test_image_uri_of_a_root_rule_has_no_prefix(stack):
    rule = PullThroughCacheRule(
        stack, "Rule", upstream=Upstream.ecr(account="999988887777", region="us-east-1", prefix="ROOT")
    )

    assert rule.image_uri("team/app", tag="v1") == "111122223333.dkr.ecr.us-east-1.amazonaws.com/team/app:v1"


def test_image_uri_resolves_through_tokens_in_agnostic_stacks(agnostic_stack):
    rule = PullThroughCacheRule(agnostic_stack, "Rule", upstream=Upstream.docker_hub(credentials=HUB))

    uri = agnostic_stack.resolve(rule.image_uri("nginx", tag="1"))
    assert uri == {
        "Fn::Join": [
            "",
            [
                {"Ref": "AWS::AccountId"},
                ".dkr.ecr.",
                {"Ref": "AWS::Region"},
                ".",
                {"Ref": "AWS::URLSuffix"},
                "/docker-hub/library/nginx:1",
            ],
        ]
    }


def test_cross_account_ecr_upstream_gets_a_role_trusted_by_pull_through_cache(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.ecr(account="999988887777", region="eu-west-1"))

    assert isinstance(rule.role, EcrUpstreamRole)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "pullthroughcache.ecr.amazonaws.com"},
                    }
                ]
            }
        },
    )
    (role_id,) = resources(stack, "AWS::IAM::Role")
    template.has_resource_properties(
        "AWS::ECR::PullThroughCacheRule", {"CustomRoleArn": {"Fn::GetAtt": [role_id, "Arn"]}}
    )


def test_ecr_upstream_role_reads_the_upstream_and_writes_only_the_cache(stack):
    PullThroughCacheRule(
        stack,
        "Rule",
        upstream=Upstream.ecr(
            account="999988887777", region="eu-west-1", upstream_repository_prefix="team-a", prefix="team-a"
        ),
    )

    by_resource = {str(s["Resource"]): sorted(as_list(s["Action"])) for s in identity_statements(stack)}
    assert by_resource == {
        "arn:aws:ecr:eu-west-1:999988887777:repository/team-a/*": [
            "ecr:BatchGetImage",
            "ecr:BatchImportUpstreamImage",
            "ecr:GetDownloadUrlForLayer",
            "ecr:GetImageCopyStatus",
        ],
        "arn:aws:ecr:us-east-1:111122223333:repository/team-a/*": [
            "ecr:CompleteLayerUpload",
            "ecr:InitiateLayerUpload",
            "ecr:PutImage",
            "ecr:UploadLayerPart",
        ],
        "*": ["ecr:GetAuthorizationToken"],
    }


def test_library_roles_passed_to_ecr_have_a_library_name_and_no_path(stack):
    rule = PullThroughCacheRule(
        stack,
        "Rule",
        upstream=Upstream.ecr(account="999988887777", region="eu-west-1"),
        repository_settings=RepositorySettings(resource_tags={"team": "a"}),
    )

    roles = resources(stack, "AWS::IAM::Role")
    assert len(roles) == 2 and rule.role is not None
    for role in roles.values():
        assert "Path" not in role["Properties"]
        assert role["Properties"]["RoleName"].startswith("cdk-ecr-ptc-us-east-1-")
        assert len(role["Properties"]["RoleName"]) <= 64


def test_same_account_ecr_upstream_needs_no_role(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.ecr(account="111122223333", region="eu-west-1"))

    assert rule.role is None
    assert resources(stack, "AWS::IAM::Role") == {}


def test_given_ecr_role_is_used_and_none_is_created(stack):
    role = iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("pullthroughcache.ecr.amazonaws.com"))
    rule = PullThroughCacheRule(
        stack, "Rule", upstream=Upstream.ecr(account="999988887777", region="eu-west-1", role=role)
    )

    assert rule.role is role
    assert len(resources(stack, "AWS::IAM::Role")) == 1


def test_ecr_upstream_with_unknown_account_gets_a_role(agnostic_stack):
    account = CfnParameter(agnostic_stack, "UpstreamAccount").value_as_string
    rule = PullThroughCacheRule(agnostic_stack, "Rule", upstream=Upstream.ecr(account=account, region=Aws.REGION))

    assert isinstance(rule.role, EcrUpstreamRole)
