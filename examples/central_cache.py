"""Example: one central cache account that a workload account pulls through.

    cdk synth --app "python examples/central_cache.py"

The central account caches ECR Public, Quay and Docker Hub, keeps the cached repositories small
(creation templates with lifecycle rules) and tagged, and lets the workload account and the whole
organization pull. The workload account's task pulls through it by image URI.
"""

from aws_cdk import Acknowledgment, Annotations, App, Duration, Environment, RemovalPolicy, Stack, Validations
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_ecr_ptc import (
    PullThroughCache,
    RegistryPolicyScope,
    RepositorySettings,
    RuleAttributes,
    Upstream,
    UpstreamCredentials,
    UpstreamRegistry,
)

CENTRAL = Environment(account="111122223333", region="eu-west-1")
WORKLOAD = Environment(account="222233334444", region="eu-west-1")
ORGANIZATION_ID = "o-a1b2c3d4e5"
#: The central cache's rules, as the workload imports them (its template tags every repository).
PREFIXES = {
    "ecr-public": UpstreamRegistry.ECR_PUBLIC,
    "quay": UpstreamRegistry.QUAY,
    "docker-hub": UpstreamRegistry.DOCKER_HUB,
}


class CentralCacheStack(Stack):
    """The cache, in the central account."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id, env=CENTRAL, description="Central ECR pull-through cache (cdk-ecr-ptc example)")
        docker_hub = UpstreamCredentials.new_secret(
            self, "DockerHubCredentials", name="docker-hub", username="my-docker-hub-user"
        )
        cache = PullThroughCache(
            self,
            "Cache",
            upstreams=[Upstream.ecr_public(), Upstream.quay(), Upstream.docker_hub(credentials=docker_hub)],
            repository_settings=RepositorySettings(
                description="Cached upstream images",
                keep_last_images=50,
                expire_untagged_after=Duration.days(14),
                resource_tags={"owner": "platform", "cache": "pull-through"},
            ),
            # The central account is on registry-policy scope V2 (`aws ecr get-account-setting --name
            # REGISTRY_POLICY_SCOPE`), so the registry policy grants every action, also on repositories cached
            # before a grant. Leave it out on a V1 account: pulls then go to the templates' repository policies.
            registry_policy_scope=RegistryPolicyScope.V2,
        )
        cache.grant_pull(iam.AccountPrincipal(WORKLOAD.account))
        cache.grant_pull(iam.OrganizationPrincipal(ORGANIZATION_ID))


class WorkloadStack(Stack):
    """A task in the workload account that runs an image pulled through the central cache."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id, env=WORKLOAD, description="Workload pulling through the central cache")
        central = PullThroughCache.from_cache_attributes(
            self,
            "CentralCache",
            account=CENTRAL.account,
            region=CENTRAL.region,
            prefixes={
                prefix: RuleAttributes(registry, tags_repositories=True) for prefix, registry in PREFIXES.items()
            },
        )

        task = ecs.FargateTaskDefinition(self, "WebTask")
        task.add_container(
            "web",
            image=ecs.ContainerImage.from_registry(central.rule("docker-hub").image_uri("nginx", tag="1.27")),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="web",
                log_group=logs.LogGroup(
                    self, "WebLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
                ),
            ),
        )
        execution_role = task.obtain_execution_role()
        central.grant_pull(execution_role)
        Validations.of(execution_role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken has no resource-level permission; it is the only action on *.",
            )
        )
        Annotations.of(task).acknowledge_warning(
            "@aws-cdk/aws-ecs:ecrImageRequiresPolicy", "central.grant_pull grants the execution role the pull."
        )


def main() -> None:
    app = App()
    CentralCacheStack(app, "CentralCache")
    WorkloadStack(app, "Workload")
    app.synth()


if __name__ == "__main__":
    main()
