"""Example: every public image of an app routed through the pull-through cache, by one line.

The app declares its images as upstream references (``nginx:1.27``, ``ghcr.io/...``,
``public.ecr.aws/...``), as it would without a cache. ``cache.route_images(scope=self)`` rewrites them to
the cache's URIs at synth and grants each role that pulls them:

- an ``ApplicationLoadBalancedFargateService`` on ``nginx:1.27`` (Docker Hub), with a sidecar from ``ghcr.io``;
- an AWS Batch job from ``public.ecr.aws``;
- a CodeBuild project whose build image is Docker Hub's ``python:3.12``.

Synthesizes with no AWS credentials:

    cdk synth --app "python examples/route_images.py"
"""

from aws_cdk import (
    Acknowledgment,
    App,
    Duration,
    Environment,
    RemovalPolicy,
    Size,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_batch as batch
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_ecr_ptc import PullThroughCache, Upstream, UpstreamCredentials

TOKEN_REASON = "ecr:GetAuthorizationToken has no resource-level permission; it is the only action on *."


def acknowledge(scope: Construct, rule: str, reason: str) -> None:
    """Acknowledges one cdk-nag finding on ``scope`` (one of the example's own resources), with its reason."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"AwsSolutions::{rule}", reason=reason))


class RouteImagesStack(Stack):
    """A web service, a Batch job and a CodeBuild project whose public images all go through the cache."""

    def __init__(self, scope: Construct, id: str, *, env: Environment | None = None) -> None:
        super().__init__(
            scope, id, env=env, description="Images routed through the ECR pull-through cache (cdk-ecr-ptc example)"
        )
        docker_hub = UpstreamCredentials.new_secret(
            self, "DockerHubCredentials", name="docker-hub", username="my-docker-hub-user"
        )
        github = UpstreamCredentials.new_secret(self, "GitHubCredentials", name="github", username="my-github-user")
        cache = PullThroughCache(
            self,
            "PullThroughCache",
            upstreams=[
                Upstream.docker_hub(credentials=docker_hub),
                Upstream.github(credentials=github),
                Upstream.ecr_public(),
            ],
        )

        # The one line: every public image under this stack goes through the cache, and its puller is granted.
        cache.route_images(scope=self)

        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
        )
        cluster = ecs.Cluster(self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
        web = ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Web",
            cluster=cluster,
            assign_public_ip=True,
            min_healthy_percent=100,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            task_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=ecs.ContainerImage.from_registry("nginx:1.27"),
                log_driver=ecs.LogDrivers.aws_logs(stream_prefix="web", log_group=self._log_group("WebLogs")),
            ),
        )
        web.load_balancer.set_attribute("routing.http.drop_invalid_header_fields.enabled", "true")
        web.task_definition.add_container(
            "otel",
            essential=False,
            image=ecs.ContainerImage.from_registry(
                "ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector:0.104.0"
            ),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="otel", log_group=self._log_group("OtelLogs")),
        )

        job = batch.EcsJobDefinition(
            self,
            "Job",
            container=batch.EcsFargateContainerDefinition(
                self,
                "JobContainer",
                cpu=1,
                memory=Size.gibibytes(2),
                image=ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023"),
                command=["echo", "hello from the cache"],
                logging=ecs.LogDrivers.aws_logs(stream_prefix="job", log_group=self._log_group("JobLogs")),
            ),
        )

        build = codebuild.Project(
            self,
            "Build",
            build_spec=codebuild.BuildSpec.from_object(
                {"version": "0.2", "phases": {"build": {"commands": ["python --version"]}}}
            ),
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.from_docker_registry("python:3.12")
            ),
            encryption_key=kms.Key(self, "BuildKey", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY),
            timeout=Duration.minutes(15),
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self._log_group("BuildLogs"))
            ),
        )

        # cdk-nag: the example's scaffolding, acknowledged where it is, each with its reason.
        acknowledge(
            vpc, "AwsSolutions-VPC7", "Example scaffolding: VPC flow logs are outside what image routing shows."
        )
        acknowledge(
            web.load_balancer,
            "AwsSolutions-ELB2",
            "Example scaffolding: access logs need a log bucket outside what image routing shows.",
        )
        acknowledge(
            web.load_balancer,
            "AwsSolutions-EC23",
            "Example scaffolding: the web service is public on port 80 by design.",
        )
        for role in (web.task_definition.execution_role, job.container.execution_role, build.role):
            acknowledge(role, "AwsSolutions-IAM5[Resource::*]", TOKEN_REASON)
        # The findings as cdk-nag prints them: a Ref as <LogicalId>, pseudo parameters as <AWS::Region>.
        project = f"<{self.resolve(build.node.default_child.logical_id)}>"
        where = ":".join(
            value if not Token.is_unresolved(value) else f"<AWS::{name}>"
            for name, value in (("Region", self.region), ("AccountId", self.account))
        )
        for finding in (
            f"Resource::arn:<AWS::Partition>:logs:{where}:log-group:/aws/codebuild/{project}:*",
            f"Resource::arn:<AWS::Partition>:codebuild:{where}:report-group/{project}-*",
            "Action::kms:ReEncrypt*",
            "Action::kms:GenerateDataKey*",
        ):
            acknowledge(
                build.role,
                f"AwsSolutions-IAM5[{finding}]",
                "CDK's own CodeBuild grants: the project's "
                "log group and report groups, and the data-key actions on its KMS key.",
            )
        acknowledge(
            build,
            "AwsSolutions-CB5",
            "The build image is Docker Hub's python:3.12, pulled through the cache with the project's service role.",
        )

    def _log_group(self, id: str) -> logs.LogGroup:
        return logs.LogGroup(self, id, retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY)


def main() -> None:
    app = App()
    RouteImagesStack(app, "RouteImages")
    app.synth()


if __name__ == "__main__":
    main()
