"""Example: a pull-through cache for ECR Public, Kubernetes, Quay and Docker Hub.

Synthesizes with no AWS credentials as an environment-agnostic stack:

    cdk synth

or for one environment of ``cdk.json``'s ``environments`` context, one stack per environment:

    cdk synth -c env=prod
    cdk deploy -c env=prod
"""

from aws_cdk import Acknowledgment, Annotations, App, Environment, Stack, Validations
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_ecr_ptc import PullThroughCache, Upstream, UpstreamCredentials

#: A role in another account (a CI runner, say) that pulls through the cache.
CI_PULLER_ROLE_ARN = "arn:aws:iam::444455556666:role/ci-image-puller"


class PullThroughCacheStack(Stack):
    """The cache, a task that runs an image pulled through it, and a puller in another account."""

    def __init__(self, scope: Construct, id: str, *, env: Environment | None = None) -> None:
        super().__init__(scope, id, env=env, description="ECR pull-through cache (cdk-ecr-ptc example)")
        docker_hub = UpstreamCredentials.new_secret(self, "DockerHubCredentials", name="docker-hub",
                                                    username="my-docker-hub-user")
        cache = PullThroughCache(self, "PullThroughCache", upstreams=[
            Upstream.ecr_public(),
            Upstream.kubernetes(),
            Upstream.quay(),
            Upstream.docker_hub(credentials=docker_hub),
        ])

        task = ecs.FargateTaskDefinition(self, "WebTask")
        task.add_container("web", image=ecs.ContainerImage.from_registry(
            cache.rule("docker-hub").image_uri("nginx", tag="1.27")),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="web"))
        execution_role = task.obtain_execution_role()
        cache.grant_pull(execution_role)
        # cdk-nag: the one wildcard the library leaves to you, because acknowledging it for you
        # would also hide wildcards of your own in the same policy.
        Validations.of(execution_role).acknowledge(Acknowledgment(
            id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            reason="ecr:GetAuthorizationToken has no resource-level permission; it is the only action on *."))
        Annotations.of(task).acknowledge_warning(
            "@aws-cdk/aws-ecs:ecrImageRequiresPolicy", "cache.grant_pull grants the execution role the pull.")

        cache.grant_pull(iam.ArnPrincipal(CI_PULLER_ROLE_ARN))


def main() -> None:
    app = App()
    name = app.node.try_get_context("env")
    if name is None:
        PullThroughCacheStack(app, "EcrPullThroughCache")
    else:
        environments = app.node.try_get_context("environments") or {}
        if name not in environments:
            raise SystemExit(f"unknown env {name!r}: cdk.json defines {sorted(environments)}")
        PullThroughCacheStack(app, f"EcrPullThroughCache-{name}", env=Environment(**environments[name]))
    app.synth()


if __name__ == "__main__":
    main()
