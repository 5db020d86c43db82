"""Every upstream factory renders UpstreamRegistry, UpstreamRegistryUrl and its default prefix."""

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Template

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
    (lambda: Upstream.azure(registry_name="myregistry", credentials=creds()), "azure-container-registry",
     "myregistry.azurecr.io", "azure"),
    (lambda: Upstream.chainguard(credentials=creds()), "chainguard", "cgr.dev", "chainguard"),
    (lambda: Upstream.ecr(account="111122223333", region="eu-west-1"), "ecr",
     "111122223333.dkr.ecr.eu-west-1.amazonaws.com", "ecr"),
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

    Template.from_stack(stack).has_resource_properties("AWS::ECR::PullThroughCacheRule",
                                                        {"CredentialArn": SECRET_ARN})


def test_prefix_argument_overrides_the_default(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay(prefix="mirrors/quay"))

    assert rule.prefix == "mirrors/quay"
    Template.from_stack(stack).has_resource_properties("AWS::ECR::PullThroughCacheRule",
                                                        {"EcrRepositoryPrefix": "mirrors/quay"})


def test_ecr_upstream_renders_its_upstream_repository_prefix(stack):
    PullThroughCacheRule(stack, "Rule", upstream=Upstream.ecr(
        account="111122223333", region="eu-west-1", upstream_repository_prefix="team-a", prefix="team-a"))

    Template.from_stack(stack).has_resource_properties("AWS::ECR::PullThroughCacheRule",
                                                        {"UpstreamRepositoryPrefix": "team-a"})


def test_of_builds_any_upstream(stack):
    upstream = Upstream.of(UpstreamRegistry.QUAY, url="quay.io", prefix="q2")
    PullThroughCacheRule(stack, "Rule", upstream=upstream)

    assert (upstream.registry, upstream.url, upstream.prefix) == (UpstreamRegistry.QUAY, "quay.io", "q2")


def test_upstream_exposes_what_it_was_given(stack):
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("pullthroughcache.ecr.amazonaws.com"))
    upstream = Upstream.ecr(account="111122223333", region="eu-west-1", role=role,
                            upstream_repository_prefix="team-a")

    assert (upstream.account, upstream.region, upstream.role, upstream.upstream_repository_prefix) == (
        "111122223333", "eu-west-1", role, "team-a")
    assert upstream.credentials is None


def test_from_secret_uses_the_given_secret(stack):
    secret = secretsmanager.Secret(stack, "S", secret_name="ecr-pullthroughcache/hub")
    PullThroughCacheRule(stack, "Rule", upstream=Upstream.docker_hub(
        credentials=UpstreamCredentials.from_secret(secret)))

    Template.from_stack(stack).has_resource_properties("AWS::ECR::PullThroughCacheRule", {
        "CredentialArn": {"Ref": stack.get_logical_id(secret.node.default_child)}})
