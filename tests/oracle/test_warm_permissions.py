"""The cache warmer's role, by policy evaluation (principalmapper over the synthesized template): it may make
exactly the warming calls, on the repositories of the rules it warms through, and nothing else."""

from __future__ import annotations

import pytest
from aws_cdk import App, Environment, Stack
from oracle import AUTH_TOKEN, TAG_RESOURCE, AppOracle, repository_arn
from policy_sentry.querying.actions import get_actions_for_service

from cdk_ecr_ptc import PullThroughCache, RepositorySettings, Upstream, UpstreamCredentials

ACCOUNT, REGION = "111122223333", "us-east-1"
#: What warming calls (BatchGetImage, GetDownloadUrlForLayer, DescribeImages) and what BatchGetImage's pull
#: through the cache is authorized for (ecr:BatchImportUpstreamImage, ecr:CreateRepository).
WARMING = (
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:DescribeImages",
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
)


@pytest.fixture(scope="module")
def warmed():
    app = App()
    stack = Stack(app, "Cache", env=Environment(account=ACCOUNT, region=REGION))
    hub = UpstreamCredentials.new_secret(stack, "Hub", name="docker-hub", username="u")
    cache = PullThroughCache(
        stack, "Cache", upstreams=[Upstream.ecr_public(), Upstream.quay(), Upstream.docker_hub(credentials=hub)]
    )
    warming = cache.warm(["nginx:1.27", "public.ecr.aws/docker/library/redis:7"])
    # a template that tags, declared after warm(): warming must then tag the repositories it creates
    cache.add_repository_settings(RepositorySettings(resource_tags={"team": "platform"}), prefix="docker-hub")
    oracle = AppOracle([stack])
    assert warming.images[0].repository == "docker-hub/library/nginx"
    return oracle, oracle.principal_of(stack.node.find_child("PullThroughCacheWarmer").role)


def repo(prefix: str, image: str = "some/image") -> str:
    return repository_arn(ACCOUNT, REGION, f"{prefix}/{image}")


def test_the_role_may_warm_through_the_rules_it_warms(warmed):
    oracle, role = warmed
    assert oracle.denied(role, WARMING, repo("docker-hub", "library/nginx")) == []
    assert oracle.denied(role, WARMING, repo("ecr-public", "docker/library/redis")) == []


def test_the_role_may_tag_where_a_template_tags(warmed):
    oracle, role = warmed
    assert oracle.allows(role, TAG_RESOURCE, repo("docker-hub"))
    assert not oracle.allows(role, TAG_RESOURCE, repo("ecr-public"))


def test_the_role_may_not_touch_rules_it_does_not_warm(warmed):
    oracle, role = warmed
    assert oracle.allowed(role, WARMING, repo("quay")) == []
    assert oracle.allowed(role, WARMING, repository_arn(ACCOUNT, REGION, "app/service")) == []


def test_the_role_may_do_nothing_else(warmed):
    oracle, role = warmed
    extra = [action for action in get_actions_for_service("ecr") if action not in WARMING + (TAG_RESOURCE,)]
    for resource in (repo("docker-hub"), "*"):
        assert oracle.allowed(role, extra, resource) == []
    assert not oracle.allows(role, AUTH_TOKEN, "*")  # the API calls need no Docker token
    assert not oracle.allows(role, "iam:PassRole", "*")
    assert not oracle.allows(role, "secretsmanager:GetSecretValue", "*")
