"""The consumer side: a central cache seen from another account's stack."""

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam

from cdk_ecr_ptc import PullThroughCache
from tests.support import identity_statements

CENTRAL = "arn:aws:ecr:eu-west-1:111122223333:repository"


def workload() -> Stack:
    return Stack(App(), "Workload", env=Environment(account="222233334444", region="eu-west-1"))


def test_image_uri_points_at_the_central_cache_with_library_for_docker_hub():
    cache = PullThroughCache.from_cache_attributes(
        workload(),
        "Central",
        account="111122223333",
        region="eu-west-1",
        prefixes=["docker-hub", "quay"],
        docker_hub_prefixes=["docker-hub"],
    )

    assert (
        cache.rule("docker-hub").image_uri("nginx", tag="1")
        == "111122223333.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/nginx:1"
    )
    assert (
        cache.rule("quay").image_uri("prometheus/prometheus")
        == "111122223333.dkr.ecr.eu-west-1.amazonaws.com/quay/prometheus/prometheus"
    )


def test_grant_pull_adds_the_central_repositories_to_the_local_role():
    stack = workload()
    cache = PullThroughCache.from_cache_attributes(
        stack, "Central", account="111122223333", region="eu-west-1", prefixes=["docker-hub", "quay"]
    )
    role = iam.Role(stack, "Task", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))

    assert cache.grant_pull(role).success

    assert identity_statements(stack) == [
        {
            "Action": [
                "ecr:BatchImportUpstreamImage",
                "ecr:CreateRepository",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ],
            "Effect": "Allow",
            "Resource": [f"{CENTRAL}/docker-hub/*", f"{CENTRAL}/quay/*"],
        },
        {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"},
    ]


def test_rule_grant_pull_through_is_scoped_to_that_rule():
    stack = workload()
    cache = PullThroughCache.from_cache_attributes(
        stack, "Central", account="111122223333", region="eu-west-1", prefixes=["quay"]
    )
    role = iam.Role(stack, "Task", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))

    cache.rule("quay").grant_pull_through(role)

    assert identity_statements(stack) == [
        {
            "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
            "Effect": "Allow",
            "Resource": f"{CENTRAL}/quay/*",
        }
    ]


def test_principal_without_a_policy_gets_an_unsuccessful_grant():
    cache = PullThroughCache.from_cache_attributes(
        workload(), "Central", account="111122223333", region="eu-west-1", prefixes=["quay"]
    )

    assert not cache.grant_pull(iam.AccountPrincipal("333344445555")).success


def test_tagged_prefixes_add_tag_resource_on_those_only():
    stack = workload()
    cache = PullThroughCache.from_cache_attributes(
        stack,
        "Central",
        account="111122223333",
        region="eu-west-1",
        prefixes=["quay", "ecr-public"],
        tagged_prefixes=["quay"],
    )
    role = iam.Role(stack, "Task", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))

    cache.grant_pull_through(role)

    assert identity_statements(stack)[1] == {
        "Action": ["ecr:TagResource"],
        "Effect": "Allow",
        "Resource": [f"{CENTRAL}/quay/*"],
    }
