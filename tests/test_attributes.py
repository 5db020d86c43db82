"""Importing a cache by per-prefix attributes, and cache.attributes() describing a cache to its importers."""

import json

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam

from cdk_ecr_ptc import (
    PullThroughCache,
    RepositorySettings,
    RuleAttributes,
    Upstream,
    UpstreamCredentials,
    UpstreamRegistry,
)
from tests.support import identity_statements

CENTRAL_ACCOUNT, REGION = "111122223333", "eu-west-1"
CENTRAL = f"{CENTRAL_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def workload(app: App | None = None) -> Stack:
    return Stack(app or App(), "Workload", env=Environment(account="222233334444", region=REGION))


def central(app: App) -> PullThroughCache:
    stack = Stack(app, "Central", env=Environment(account=CENTRAL_ACCOUNT, region=REGION))
    hub = UpstreamCredentials.new_secret(stack, "Hub", name="docker-hub", username="u")
    cache = PullThroughCache(
        stack,
        "Cache",
        upstreams=[
            Upstream.docker_hub(credentials=hub, prefix="hub"),
            Upstream.quay(),
            Upstream.ecr(account="999988887777", region=REGION, prefix="team-a", upstream_repository_prefix="team-a"),
        ],
    )
    cache.add_repository_settings(RepositorySettings(resource_tags={"team": "x"}), prefix="quay")
    return cache


def test_per_prefix_registries_give_library_and_full_references():
    cache = PullThroughCache.from_cache_attributes(
        workload(),
        "Central",
        account=CENTRAL_ACCOUNT,
        region=REGION,
        prefixes={"hub": UpstreamRegistry.DOCKER_HUB, "quay": UpstreamRegistry.QUAY},
    )
    assert cache.rule("hub").image_uri("nginx", tag="1") == f"{CENTRAL}/hub/library/nginx:1"
    assert cache.rule("hub").image_uri("docker.io/nginx:1") == f"{CENTRAL}/hub/library/nginx:1"
    assert (
        cache.rule("quay").image_uri("quay.io/prometheus/prometheus:v2") == f"{CENTRAL}/quay/prometheus/prometheus:v2"
    )


def test_rule_attributes_say_which_rules_tag():
    stack = workload()
    cache = PullThroughCache.from_cache_attributes(
        stack,
        "Central",
        account=CENTRAL_ACCOUNT,
        region=REGION,
        prefixes={
            "quay": RuleAttributes(UpstreamRegistry.QUAY, tags_repositories=True),
            "ecr-public": UpstreamRegistry.ECR_PUBLIC,
        },
    )
    cache.grant_pull_through(iam.Role(stack, "Task", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")))
    assert identity_statements(stack)[1] == {
        "Action": ["ecr:TagResource"],
        "Effect": "Allow",
        "Resource": [f"arn:aws:ecr:{REGION}:{CENTRAL_ACCOUNT}:repository/quay/*"],
    }


def test_deprecated_list_form_recognizes_the_docker_hub_default_prefix():
    with pytest.warns(DeprecationWarning, match="deprecated"):
        cache = PullThroughCache.from_cache_attributes(
            workload(), "Central", account=CENTRAL_ACCOUNT, region=REGION, prefixes=["docker-hub", "quay"]
        )
    assert cache.rule("docker-hub").image_uri("nginx", tag="1") == f"{CENTRAL}/docker-hub/library/nginx:1"
    assert cache.rule("quay").image_uri("nginx") == f"{CENTRAL}/quay/nginx"


def test_fails_when_mixing_the_mapping_with_the_deprecated_lists():
    with pytest.raises(
        ValueError,
        match=r"^\[Workload/Central\] docker_hub_prefixes and tagged_prefixes are for "
        r"the deprecated list form",
    ):
        PullThroughCache.from_cache_attributes(
            workload(),
            "Central",
            account=CENTRAL_ACCOUNT,
            region=REGION,
            prefixes={"hub": UpstreamRegistry.DOCKER_HUB},
            docker_hub_prefixes=["hub"],
        )


def test_fails_on_attributes_it_cannot_read():
    with pytest.raises(ValueError, match=r"the attributes of prefix 'quay' are not valid"):
        PullThroughCache.from_cache_attributes(
            workload(),
            "Central",
            account=CENTRAL_ACCOUNT,
            region=REGION,
            prefixes={"quay": {"registry": "quay", "tags": True}},
        )


def test_cache_attributes_are_json_that_an_importer_takes():
    app = App()
    text = central(app).attributes()
    assert json.loads(text) == {
        "account": CENTRAL_ACCOUNT,
        "region": REGION,
        "prefixes": {
            "hub": {"registry": "docker-hub"},
            "quay": {"registry": "quay", "tagsRepositories": True},
            "team-a": {
                "registry": "ecr",
                "url": "999988887777.dkr.ecr.eu-west-1.amazonaws.com",
                "upstreamRepositoryPrefix": "team-a",
            },
        },
    }
    stack = workload(app)
    imported = PullThroughCache.from_cache_attributes(stack, "Imported", **json.loads(text))
    assert imported.rule("hub").image_uri("nginx:1") == f"{CENTRAL}/hub/library/nginx:1"
    assert (
        imported.rule("team-a").image_uri("999988887777.dkr.ecr.eu-west-1.amazonaws.com/team-a/app:1")
        == f"{CENTRAL}/team-a/app:1"
    )
    imported.grant_pull(iam.Role(stack, "Task", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")))
    assert {
        "Action": ["ecr:TagResource"],
        "Effect": "Allow",
        "Resource": [f"arn:aws:ecr:{REGION}:{CENTRAL_ACCOUNT}:repository/quay/*"],
    } in identity_statements(stack)


def test_cache_attributes_of_an_agnostic_stack_are_a_token():
    stack = Stack(App(), "Agnostic")
    text = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()]).attributes()
    rendered = stack.resolve(text)
    assert isinstance(rendered, dict) and "Fn::Join" in rendered
