"""Example: a pull-through cache for ECR Public, Kubernetes, Quay and Docker Hub.

Synthesizes with no AWS credentials as one environment-agnostic stack:

    cdk synth

or as one stage per environment of ``cdk.json``'s ``environments`` context (an account and a
Region each), holding the cache stack and the policy of the role that deploys it:

    cdk synth -c env=prod            # stage prod: prod/EcrPullThroughCache, prod/EcrPullThroughCacheDeployment
    cdk synth -c env=all             # every environment
    cdk deploy -c env=prod 'prod/*'
"""

from aws_cdk import (
    Acknowledgment,
    Annotations,
    App,
    CfnOutput,
    Duration,
    Environment,
    RemovalPolicy,
    Stack,
    Stage,
    Validations,
)
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_ecr_ptc import (
    PullThroughCache,
    PullThroughCacheDeploymentPolicy,
    RepositorySettings,
    Upstream,
    UpstreamCredentials,
)

#: A role in another account (a CI runner, say) that pulls through the cache.
CI_PULLER_ROLE_ARN = "arn:aws:iam::444455556666:role/ci-image-puller"


class PullThroughCacheStack(Stack):
    """The cache, a task that runs an image pulled through it, and a puller in another account."""

    def __init__(self, scope: Construct, id: str, *, env: Environment | None = None) -> None:
        super().__init__(scope, id, env=env, description="ECR pull-through cache (cdk-ecr-ptc example)")
        docker_hub = UpstreamCredentials.new_secret(
            self, "DockerHubCredentials", name="docker-hub", username="my-docker-hub-user"
        )
        self.cache = PullThroughCache(
            self,
            "PullThroughCache",
            upstreams=[
                Upstream.ecr_public(),
                Upstream.kubernetes(),
                Upstream.quay(),
                Upstream.docker_hub(credentials=docker_hub),
            ],
            repository_settings=RepositorySettings(expire_if_not_pulled_for=Duration.days(30)),
        )
        # Pull two images through the cache during the deploy (the warmer's pulls do not count as pulls).
        self.cache.warm(["public.ecr.aws/docker/library/nginx:1.27", "quay.io/prometheus/prometheus:v2.53.0"])

        task = ecs.FargateTaskDefinition(self, "WebTask")
        task.add_container(
            "web",
            image=ecs.ContainerImage.from_registry(self.cache.rule("docker-hub").image_uri("nginx", tag="1.27")),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="web",
                log_group=logs.LogGroup(
                    self, "WebLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
                ),
            ),
        )
        execution_role = task.obtain_execution_role()
        self.cache.grant_pull(execution_role)
        # cdk-nag: the one wildcard the library leaves to you, because acknowledging it for you
        # would also hide wildcards of your own in the same policy.
        Validations.of(execution_role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken has no resource-level permission; it is the only action on *.",
            )
        )
        Annotations.of(task).acknowledge_warning(
            "@aws-cdk/aws-ecs:ecrImageRequiresPolicy", "cache.grant_pull grants the execution role the pull."
        )

        self.cache.grant_pull(iam.ArnPrincipal(CI_PULLER_ROLE_ARN))


class PullThroughCacheStage(Stage):
    """One environment: the cache stack, and the managed policy its CloudFormation execution role needs."""

    def __init__(self, scope: Construct, id: str, *, env: Environment) -> None:
        super().__init__(scope, id, env=env)
        cache = PullThroughCacheStack(self, "EcrPullThroughCache", env=env)
        deployment = Stack(
            self,
            "EcrPullThroughCacheDeployment",
            env=env,
            description="Policy of the role that deploys the ECR pull-through cache",
        )
        policy = PullThroughCacheDeploymentPolicy(
            deployment, "Policy", cache_stack=cache, managed_policy_name="EcrPullThroughCacheDeployment"
        )
        CfnOutput(
            deployment,
            "PolicyArn",
            value=policy.managed_policy_arn,
            description="cdk bootstrap --cloudformation-execution-policies <this ARN>",
        )


def main() -> None:
    app = App()
    name = app.node.try_get_context("env")
    environments = app.node.try_get_context("environments") or {}
    if name is None:
        PullThroughCacheStack(app, "EcrPullThroughCache")
    elif name != "all" and name not in environments:
        raise SystemExit(f"unknown env {name!r}: cdk.json defines {sorted(environments)} (or use 'all')")
    else:
        for stage in sorted(environments) if name == "all" else [name]:
            PullThroughCacheStage(app, stage, env=Environment(**environments[stage]))
    app.synth()


if __name__ == "__main__":
    main()
