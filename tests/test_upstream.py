"""Every upstream factory renders UpstreamRegistry, UpstreamRegistryUrl and its default prefix."""

import json

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Template
from aws_cdk.region_info import RegionInfo

from cdk_ecr_ptc import PullThroughCacheRule, Upstream, UpstreamCredentials, UpstreamRegistry

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:ecr-pullthroughcache/up-AbCdEf"


def creds() -> UpstreamCredentials:
    return UpstreamCredentials.from_secret_complete_arn(SECRET_ARN)


FACTORIES = [
    (lambda: Upstream.ecr_public(), "ecr-public", "public.ecr.aws", "ecr-public"),
    (lambda: Upstream.kubernetes(), "k8s", "registry.k8s.io", "kubernetes"),
    (lambda: Upstream.quay(), "quay", "quay.io", "quay"),
    (lambda: Upstream.docker_hub(credentials=creds()), "docker-hub", "registry-1.docker.io", "docker-hub"),
    (lambda: Upstream.github(credentials=creds()), "github-container-registry", "ghcr.io", "github"),
    (lambda: Upstream.gitlab(credentials=creds()), "gitlab-container-registry", "registry.gitlab.com", "gitlab"),
    (
        lambda: Upstream.azure(registry_name="myregistry", credentials=creds()),
        "azure-container-registry",
        "myregistry.azurecr.io",
        "azure",
    ),
    (lambda: Upstream.chainguard(credentials=creds()), "chainguard", "cgr.dev", "chainguard"),
    (
        lambda: Upstream.ecr(account="111122223333", region="eu-west-1"),
        "ecr",
        "111122223333.dkr.ecr.eu-west-1.amazonaws.com",
        "ecr",
    ),
]


@pytest.mark.parametrize(("factory", "registry", "url", "prefix"), FACTORIES)
def test_factory_renders_registry_url_and_default_prefix(stack, factory, registry, url, prefix):
    rule = PullThroughCacheRule(stack, "Rule", upstream=factory())

    assert rule.prefix == prefix
    props = Template.from_stack(stack).find_resources("AWS::ECR::PullThroughCacheRule")
    (resource,) = props.values()
    assert resource["Properties"]["UpstreamRegistry"] == registry
    assert resource["Properties"]["UpstreamRegistryUrl"] == url
    assert resource["Properties"]["EcrRepositoryPrefix"] == prefix


@pytest.mark.parametrize("factory", [f[0] for f in FACTORIES[3:8]])
def test_authenticated_upstreams_render_the_credential_arn(stack, factory):
    PullThroughCacheRule(stack, "Rule", upstream=factory())

    Template.from_stack(stack).has_resource_properties("AWS::ECR::PullThroughCacheRule", {"CredentialArn": SECRET_ARN})


def test_prefix_argument_overrides_the_default(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay(prefix="mirrors/quay"))

    assert rule.prefix == "mirrors/quay"
    Template.from_stack(stack).has_resource_properties(
        "AWS::ECR::PullThroughCacheRule", {"EcrRepositoryPrefix": "mirrors/quay"}
    )


def test_ecr_upstream_renders_its_upstream_repository_prefix(stack):
    PullThroughCacheRule(
        stack,
        "Rule",
        upstream=Upstream.ecr(
            account="111122223333", region="eu-west-1", upstream_repository_prefix="team-a", prefix="team-a"
        ),
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::ECR::PullThroughCacheRule", {"UpstreamRepositoryPrefix": "team-a"}
    )


@pytest.mark.parametrize(("factory", "registry", "url", "prefix"), FACTORIES)
def test_of_with_a_factorys_registry_and_url_renders_the_same_rule(factory, registry, url, prefix):
    rendered = []
    for upstream in (
        factory(),
        Upstream.of(UpstreamRegistry(registry), url=url, prefix=prefix, credentials=factory().credentials),
    ):
        stack = Stack(App(), "Test", env=Environment(account="111122223333", region="us-east-1"))
        PullThroughCacheRule(stack, "Rule", upstream=upstream)
        rendered.append(Template.from_stack(stack).to_json()["Resources"])

    assert rendered[0] == rendered[1]


def test_of_ecr_reads_account_and_region_from_the_url(stack):
    upstream = Upstream.of(UpstreamRegistry.ECR, url="999988887777.dkr.ecr.eu-west-1.amazonaws.com", prefix="ecr")
    PullThroughCacheRule(stack, "Rule", upstream=upstream)

    assert (upstream.account, upstream.region) == ("999988887777", "eu-west-1")
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    resources = json.dumps([p["Properties"]["PolicyDocument"] for p in policies.values()])
    # The role reads the upstream registry, not the cache's own.
    assert ":ecr:eu-west-1:999988887777:repository/*" in resources


def test_upstream_repository_prefix_is_allowed_for_every_upstream(stack):
    PullThroughCacheRule(
        stack,
        "Rule",
        upstream=Upstream.of(
            UpstreamRegistry.ECR_PUBLIC, url="public.ecr.aws", prefix="ecr-public", upstream_repository_prefix="docker"
        ),
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::ECR::PullThroughCacheRule", {"UpstreamRegistry": "ecr-public", "UpstreamRepositoryPrefix": "docker"}
    )


def test_upstreams_are_built_only_by_a_factory():
    with pytest.raises(TypeError, match=r"^\[Upstream\] the constructor is not public: .*Upstream\.of"):
        Upstream(registry=UpstreamRegistry.QUAY, url="quay.io", prefix="quay")


def test_an_ecr_upstream_in_a_region_cdk_knows_of_another_partition_family_is_accepted(app):
    stack = Stack(app, "Eusc", env=Environment(account="111122223333", region="eusc-de-east-1"))

    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.ecr(account="999988887777", region="eusc-de-east-1"))

    assert rule.upstream.url == "999988887777.dkr.ecr.eusc-de-east-1." + RegionInfo.get("eusc-de-east-1").domain_suffix


def test_from_secret_uses_the_given_secret(stack):
    secret = secretsmanager.Secret(stack, "S", secret_name="ecr-pullthroughcache/hub")
    PullThroughCacheRule(
        stack, "Rule", upstream=Upstream.docker_hub(credentials=UpstreamCredentials.from_secret(secret))
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::ECR::PullThroughCacheRule", {"CredentialArn": {"Ref": stack.get_logical_id(secret.node.default_child)}}
    )
