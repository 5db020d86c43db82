"""Routing images through the cache: cache.image_uri, container_image, route_manifest, and the
PullThroughCacheImages Aspect per resource kind, with the grants checked by the permission oracle."""

import json

import pytest
from aws_cdk import App, AspectPriority, Aspects, CfnParameter, Environment, Lazy, Size, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match, Template

from cdk_ecr_ptc import PullThroughCache, Upstream, UpstreamCredentials
from cdk_ecr_ptc._jsii import StringProducer
from tests.oracle.oracle import FIRST_PULL, AppOracle, repository_arn

ACCOUNT, REGION = "111122223333", "us-east-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
SHA = "sha256:" + "b" * 64


def make(app: App | None = None) -> tuple[Stack, PullThroughCache]:
    stack = Stack(app or App(), "Test", env=Environment(account=ACCOUNT, region=REGION))
    hub = UpstreamCredentials.new_secret(stack, "Hub", name="docker-hub", username="u")
    github = UpstreamCredentials.new_secret(stack, "GitHub", name="github", username="u")
    cache = PullThroughCache(
        stack,
        "Cache",
        upstreams=[
            Upstream.docker_hub(credentials=hub),
            Upstream.ecr_public(),
            Upstream.github(credentials=github),
            Upstream.kubernetes(),
        ],
    )
    return stack, cache


def resources(stack: Stack, kind: str) -> list[dict]:
    return [r["Properties"] for r in Template.from_stack(stack).find_resources(kind).values()]


def warnings(stack: Stack, id_fragment: str = "") -> list[str]:
    return [
        str(w.entry.data)
        for w in Annotations.from_stack(stack).find_warning("*", Match.any_value())
        if id_fragment in str(w.entry.data)
    ]


def can_first_pull(stack: Stack, role: iam.IRole, repository: str) -> list[str]:
    """The first-pull actions ``role`` is denied on ``repository`` of the cache (empty: it can pull)."""
    oracle = AppOracle([stack])
    principal = oracle.principal_of(role)
    denied = oracle.denied(principal, FIRST_PULL, repository_arn(ACCOUNT, REGION, repository))
    return denied + oracle.denied(principal, ["ecr:GetAuthorizationToken"], "*")


def task_images(stack: Stack) -> list[list[str]]:
    return [[c["Image"] for c in p["ContainerDefinitions"]] for p in resources(stack, "AWS::ECS::TaskDefinition")]


# ---- image URIs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("nginx:1.27", "docker-hub/library/nginx:1.27"),
        ("docker.io/library/nginx:1.27", "docker-hub/library/nginx:1.27"),
        ("index.docker.io/bitnami/redis", "docker-hub/bitnami/redis"),
        ("public.ecr.aws/docker/library/python:3.12", "ecr-public/docker/library/python:3.12"),
        ("ghcr.io/open-telemetry/collector:0.104.0", "github/open-telemetry/collector:0.104.0"),
        ("registry.k8s.io/pause:3.9", "kubernetes/pause:3.9"),
    ],
)
def test_cache_image_uri_picks_the_rule_by_host(reference, expected):
    _, cache = make()
    assert cache.image_uri(reference) == f"{REGISTRY}/{expected}"


def test_rule_image_uri_strips_its_own_host():
    _, cache = make()
    assert (
        cache.rule("docker-hub").image_uri("docker.io/library/nginx", tag="1.27")
        == f"{REGISTRY}/docker-hub/library/nginx:1.27"
    )
    assert cache.rule("kubernetes").image_uri("registry.k8s.io/pause:3.9") == f"{REGISTRY}/kubernetes/pause:3.9"


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda c: c.rule("docker-hub").image_uri("quay.io/prometheus/prometheus"), "another upstream"),
        (
            lambda c: c.rule("docker-hub").image_uri("prometheus/prometheus:v2.53.0", tag="v2.53.0"),
            "tag is given twice",
        ),
        (lambda c: c.rule("docker-hub").image_uri("nginx", digest="b" * 64), "no algorithm"),
        (lambda c: c.rule("docker-hub").image_uri("Nginx"), "lowercase"),
    ],
)
def test_fails_on_bad_references_with_the_rule_path(call, fragment):
    _, cache = make()
    with pytest.raises(ValueError, match=rf"^\[Test/Cache/docker-hub\] .*{fragment}"):
        call(cache)


def test_fails_when_the_cache_has_no_rule_for_the_host_and_lists_its_hosts():
    _, cache = make()
    with pytest.raises(
        ValueError,
        match=r"^\[Test/Cache\] the cache has no rule for this image's upstream: got "
        r"'quay.io'\. The cache has rules for \['docker.io', 'ghcr.io', 'public.ecr.aws', "
        r"'registry.k8s.io'\]\. Add Upstream.quay\(\)\.",
    ):
        cache.image_uri("quay.io/prometheus/prometheus")


def test_digest_uri_warns_that_the_first_pull_is_not_cached():
    stack, cache = make()
    assert cache.image_uri(f"nginx@{SHA}") == f"{REGISTRY}/docker-hub/library/nginx@{SHA}"
    assert any("not cached" in w and "warm" in w for w in warnings(stack, "digestNotCachedOnFirstPull"))


def test_tag_uri_gives_no_digest_warning():
    stack, cache = make()
    cache.image_uri("nginx:1")
    assert warnings(stack, "digestNotCachedOnFirstPull") == []


def test_registry_host_is_concrete_or_tokens():
    _, cache = make()
    assert cache.registry_host == REGISTRY
    agnostic = Stack(App(), "Agnostic")
    other = PullThroughCache(agnostic, "Cache", upstreams=[Upstream.quay()])
    assert agnostic.resolve(other.registry_host) == {
        "Fn::Join": [
            "",
            [{"Ref": "AWS::AccountId"}, ".dkr.ecr.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}],
        ]
    }


# ---- container_image ------------------------------------------------------------------------------


def test_container_image_grants_the_execution_role_on_bind_and_needs_no_ecr_warning():
    stack, cache = make()
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("web", image=cache.container_image("nginx:1.27"))
    assert task_images(stack) == [[f"{REGISTRY}/docker-hub/library/nginx:1.27"]]
    assert can_first_pull(stack, task.execution_role, "docker-hub/library/nginx") == []
    assert warnings(stack, "ecrImageRequiresPolicy") == []


def test_container_image_grants_a_batch_containers_execution_role_too():
    stack, cache = make()
    container = batch.EcsFargateContainerDefinition(
        stack,
        "Container",
        cpu=1,
        memory=Size.gibibytes(2),
        image=cache.container_image("public.ecr.aws/amazonlinux/amazonlinux:2023"),
    )
    batch.EcsJobDefinition(stack, "Job", container=container)
    [job] = resources(stack, "AWS::Batch::JobDefinition")
    assert job["ContainerProperties"]["Image"] == f"{REGISTRY}/ecr-public/amazonlinux/amazonlinux:2023"
    assert can_first_pull(stack, container.execution_role, "ecr-public/amazonlinux/amazonlinux") == []


def test_from_registry_of_a_cache_uri_gets_cdks_warning():  # what container_image avoids
    stack, cache = make()
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("web", image=ecs.ContainerImage.from_registry(cache.image_uri("nginx:1.27")))
    assert warnings(stack, "ecrImageRequiresPolicy")


# ---- the Aspect: ECS -----------------------------------------------------------------------------------


def test_rewrites_ecs_containers_and_grants_the_execution_role():
    stack, cache = make()
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("web", image=ecs.ContainerImage.from_registry("nginx:1.27"))
    task.add_container("sidecar", image=ecs.ContainerImage.from_registry("ghcr.io/org/agent:2"))
    Aspects.of(stack).add(cache.route_images(), priority=AspectPriority.MUTATING)
    assert task_images(stack) == [[f"{REGISTRY}/docker-hub/library/nginx:1.27", f"{REGISTRY}/github/org/agent:2"]]
    assert can_first_pull(stack, task.execution_role, "docker-hub/library/nginx") == []
    assert can_first_pull(stack, task.execution_role, "github/org/agent") == []
    # least privilege: only the rules of its images
    assert can_first_pull(stack, task.execution_role, "kubernetes/pause") != []
    assert can_first_pull(stack, task.task_role, "docker-hub/library/nginx") != []


def test_rewrites_aws_ecs_patterns_services():
    stack, cache = make()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    service = ecs_patterns.ApplicationLoadBalancedFargateService(
        stack,
        "Web",
        vpc=vpc,
        task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
            image=ecs.ContainerImage.from_registry("nginx:1.27")
        ),
    )
    cache.route_images(scope=stack)
    assert task_images(stack) == [[f"{REGISTRY}/docker-hub/library/nginx:1.27"]]
    assert can_first_pull(stack, service.task_definition.execution_role, "docker-hub/library/nginx") == []


def test_aspect_added_before_the_constructs_works_too():
    app = App()
    stack, cache = make(app)
    cache.route_images(scope=app)
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("web", image=ecs.ContainerImage.from_registry("nginx:1.27"))
    assert task_images(stack) == [[f"{REGISTRY}/docker-hub/library/nginx:1.27"]]


def test_leaves_ecr_images_assets_and_cache_uris_alone():
    stack, cache = make()
    task = ecs.FargateTaskDefinition(stack, "Task")
    other_registry = "222233334444.dkr.ecr.us-east-1.amazonaws.com/a:1"
    task.add_container("own", image=ecs.ContainerImage.from_ecr_repository(ecr.Repository(stack, "Repo"), "1"))
    task.add_container("routed", image=ecs.ContainerImage.from_registry(f"{REGISTRY}/docker-hub/library/nginx:1"))
    task.add_container("other", image=ecs.ContainerImage.from_registry(other_registry))
    cache.route_images(scope=stack)
    [[own, routed, other]] = task_images(stack)
    assert isinstance(own, dict)  # the repository's URI, a token
    assert (routed, other) == (f"{REGISTRY}/docker-hub/library/nginx:1", other_registry)
    assert warnings(stack, "imageUpstreamWithoutRule") == []


def test_warns_on_an_upstream_without_rule_naming_host_and_factory():
    stack, cache = make()
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("q", image=ecs.ContainerImage.from_registry("quay.io/prometheus/prometheus:v2"))
    task.add_container("x", image=ecs.ContainerImage.from_registry("registry.example.com/app:1"))
    cache.route_images(scope=stack)
    assert task_images(stack) == [["quay.io/prometheus/prometheus:v2", "registry.example.com/app:1"]]
    [quay, other] = warnings(stack, "imageUpstreamWithoutRule")
    assert "no rule for quay.io; add Upstream.quay()" in quay
    assert "registry.example.com" in other and "does not support this registry" in other


def test_digest_pinned_images_are_rewritten_with_the_first_pull_warning():
    stack, cache = make()
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("web", image=ecs.ContainerImage.from_registry(f"nginx@{SHA}"))
    cache.route_images(scope=stack)
    assert task_images(stack) == [[f"{REGISTRY}/docker-hub/library/nginx@{SHA}"]]
    assert Annotations.from_stack(stack).find_warning(
        "/Test/Task/web",
        Match.string_like_regexp("nginx@sha256:b+ -> .*: the first pull of an image by digest .* is not cached"),
    )


def test_is_idempotent_when_added_twice_and_synthesized_twice():
    stack, cache = make()
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("web", image=ecs.ContainerImage.from_registry("nginx:1.27"))
    cache.route_images(scope=stack)
    cache.route_images(scope=stack)
    first = Template.from_stack(stack).to_json()
    second = Template.from_stack(stack).to_json()
    assert first == second
    assert task_images(stack) == [[f"{REGISTRY}/docker-hub/library/nginx:1.27"]]
    [policy] = [p for p in resources(stack, "AWS::IAM::Policy")]
    assert len(policy["PolicyDocument"]["Statement"]) == 2  # the pull, and the token: not doubled


def test_include_and_exclude_patterns():
    stack, cache = make()
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("web", image=ecs.ContainerImage.from_registry("nginx:1.27"))
    task.add_container("agent", image=ecs.ContainerImage.from_registry("ghcr.io/org/agent:2"))
    task.add_container("pause", image=ecs.ContainerImage.from_registry("registry.k8s.io/pause:3.9"))
    cache.route_images(scope=stack, include=["docker.io", "registry.k8s.io/*"], exclude=["*/pause"])
    assert task_images(stack) == [
        [f"{REGISTRY}/docker-hub/library/nginx:1.27", "ghcr.io/org/agent:2", "registry.k8s.io/pause:3.9"]
    ]


def test_dry_run_rewrites_and_grants_nothing_and_warns_what_it_would_do():
    stack, cache = make()
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("web", image=ecs.ContainerImage.from_registry("nginx:1.27"))
    aspect = cache.route_images(scope=stack, rewrite=False)
    assert task_images(stack) == [["nginx:1.27"]]
    assert resources(stack, "AWS::IAM::Policy") == []
    [warning] = warnings(stack, "imageRouteDryRun")
    assert f"nginx:1.27 through the cache: {REGISTRY}/docker-hub/library/nginx:1.27" in warning
    assert [(r.image, r.uri) for r in aspect.routed] == [("nginx:1.27", f"{REGISTRY}/docker-hub/library/nginx:1.27")]


# ---- the Aspect: Batch, CodeBuild, Lambda ------------------------------------------------------------


def test_rewrites_batch_container_properties_and_grants_the_execution_role():
    stack, cache = make()
    container = batch.EcsFargateContainerDefinition(
        stack,
        "Container",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023"),
        cpu=1,
        memory=Size.gibibytes(2),
    )
    batch.EcsJobDefinition(stack, "Job", container=container)
    cache.route_images(scope=stack)
    [job] = resources(stack, "AWS::Batch::JobDefinition")
    assert job["ContainerProperties"]["Image"] == f"{REGISTRY}/ecr-public/amazonlinux/amazonlinux:2023"
    assert can_first_pull(stack, container.execution_role, "ecr-public/amazonlinux/amazonlinux") == []


def test_rewrites_batch_ecs_properties_and_grants_the_role_they_name():
    stack, cache = make()
    role = iam.Role(stack, "Execution", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    batch.CfnJobDefinition(
        stack,
        "Job",
        type="container",
        ecs_properties=batch.CfnJobDefinition.EcsPropertiesProperty(
            task_properties=[
                batch.CfnJobDefinition.EcsTaskPropertiesProperty(
                    execution_role_arn=role.role_arn,
                    containers=[
                        batch.CfnJobDefinition.TaskContainerPropertiesProperty(image="nginx:1.27", name="a"),
                        batch.CfnJobDefinition.TaskContainerPropertiesProperty(image="ghcr.io/org/b:1", name="b"),
                    ],
                )
            ]
        ),
    )
    cache.route_images(scope=stack)
    [job] = resources(stack, "AWS::Batch::JobDefinition")
    assert [c["Image"] for c in job["EcsProperties"]["TaskProperties"][0]["Containers"]] == [
        f"{REGISTRY}/docker-hub/library/nginx:1.27",
        f"{REGISTRY}/github/org/b:1",
    ]
    assert can_first_pull(stack, role, "github/org/b") == []


def test_rewrites_codebuild_public_images_with_service_role_credentials():
    stack, cache = make()
    project = codebuild.Project(
        stack,
        "Build",
        build_spec=codebuild.BuildSpec.from_object({"version": "0.2"}),
        environment=codebuild.BuildEnvironment(
            build_image=codebuild.LinuxBuildImage.from_docker_registry("python:3.12")
        ),
    )
    curated = codebuild.Project(stack, "Curated", build_spec=codebuild.BuildSpec.from_object({"version": "0.2"}))
    cache.route_images(scope=stack)
    environments = {p["Environment"]["Image"]: p["Environment"] for p in resources(stack, "AWS::CodeBuild::Project")}
    routed = environments[f"{REGISTRY}/docker-hub/library/python:3.12"]
    assert routed["ImagePullCredentialsType"] == "SERVICE_ROLE"
    assert "RegistryCredential" not in routed
    assert "aws/codebuild/standard:7.0" in environments  # CodeBuild's own image stays
    assert can_first_pull(stack, project.role, "docker-hub/library/python") == []
    assert can_first_pull(stack, curated.role, "docker-hub/library/python") != []


def test_warns_on_lambda_images_under_the_cache_and_leaves_them():
    stack, cache = make()
    lambda_.CfnFunction(
        stack,
        "Fn",
        role="arn:aws:iam::111122223333:role/f",
        package_type="Image",
        code=lambda_.CfnFunction.CodeProperty(image_uri=f"{REGISTRY}/docker-hub/library/app:1"),
    )
    cache.route_images(scope=stack)
    [function] = resources(stack, "AWS::Lambda::Function")
    assert function["Code"]["ImageUri"] == f"{REGISTRY}/docker-hub/library/app:1"
    assert any("Lambda cannot pull" in w for w in warnings(stack, "lambdaCannotPullThrough"))


# ---- the Aspect and route_manifest: EKS ------------------------------------------------------------------


def cluster(stack: Stack) -> eks.ICluster:
    layer = lambda_.LayerVersion.from_layer_version_arn(
        stack, "Kubectl", f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:kubectl:1"
    )
    return eks.Cluster.from_cluster_attributes(
        stack, "Cluster", cluster_name="c", kubectl_layer=layer, kubectl_role_arn=f"arn:aws:iam::{ACCOUNT}:role/kubectl"
    )


def pod_spec(*images: str) -> dict:
    return {
        "containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)],
        "initContainers": [{"name": "init", "image": "busybox:1.36"}],
        "ephemeralContainers": [{"name": "debug", "image": "registry.k8s.io/e2e-test-images/agnhost:2.39"}],
    }


@pytest.mark.parametrize(
    ("kind", "wrap"),
    [
        ("Pod", lambda spec: {"spec": spec}),
        ("Deployment", lambda spec: {"spec": {"template": {"spec": spec}}}),
        ("StatefulSet", lambda spec: {"spec": {"template": {"spec": spec}}}),
        ("DaemonSet", lambda spec: {"spec": {"template": {"spec": spec}}}),
        ("ReplicaSet", lambda spec: {"spec": {"template": {"spec": spec}}}),
        ("Job", lambda spec: {"spec": {"template": {"spec": spec}}}),
        ("CronJob", lambda spec: {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}),
    ],
)
def test_route_manifest_covers_every_workload_kind_and_container_list(kind, wrap):
    _, cache = make()
    manifest = {"apiVersion": "v1", "kind": kind, **wrap(pod_spec("nginx:1.27", "quay.io/a/b:1"))}
    routed = cache.route_manifest(manifest)
    assert routed is not manifest and manifest == {
        "apiVersion": "v1",
        "kind": kind,
        **wrap(pod_spec("nginx:1.27", "quay.io/a/b:1")),
    }
    assert json.dumps(routed) == json.dumps(
        {
            "apiVersion": "v1",
            "kind": kind,
            **wrap(
                {
                    "containers": [
                        {"name": "c0", "image": f"{REGISTRY}/docker-hub/library/nginx:1.27"},
                        {"name": "c1", "image": "quay.io/a/b:1"},
                    ],
                    "initContainers": [{"name": "init", "image": f"{REGISTRY}/docker-hub/library/busybox:1.36"}],
                    "ephemeralContainers": [
                        {"name": "debug", "image": f"{REGISTRY}/kubernetes/e2e-test-images/agnhost:2.39"}
                    ],
                }
            ),
        }
    )


def test_route_manifest_covers_lists():
    _, cache = make()
    routed = cache.route_manifest(
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [{"kind": "Pod", "spec": {"containers": [{"name": "a", "image": "nginx"}]}}],
        }
    )
    assert routed["items"][0]["spec"]["containers"][0]["image"] == f"{REGISTRY}/docker-hub/library/nginx"


def manifest_images(stack: Stack) -> list[str]:
    [resource] = resources(stack, "Custom::AWSCDK-EKS-KubernetesResource")
    return [c["image"] for m in json.loads(resource["Manifest"]) for c in m["spec"]["template"]["spec"]["containers"]]


def test_aspect_rewrites_reachable_manifests_and_warns_about_node_roles():
    stack, cache = make()
    cluster(stack).add_manifest(
        "App",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "a"},
            "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}}},
        },
    )
    cache.route_images(scope=stack)
    assert manifest_images(stack) == [f"{REGISTRY}/docker-hub/library/nginx:1.27"]
    [warning] = warnings(stack, "nodeRolesNotGranted")
    assert "cache.grant_pull(nodegroup.role)" in warning


def test_aspect_grants_node_roles_when_given():
    stack, cache = make()
    node_role = iam.Role(stack, "Nodes", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    cluster(stack).add_manifest(
        "App",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "a"},
            "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}}},
        },
    )
    cache.route_images(scope=stack, node_roles=[node_role])
    assert manifest_images(stack) == [f"{REGISTRY}/docker-hub/library/nginx:1.27"]
    assert warnings(stack, "nodeRolesNotGranted") == []
    assert can_first_pull(stack, node_role, "docker-hub/library/nginx") == []


def test_aspect_warns_on_manifests_it_cannot_reach():
    stack, cache = make()
    bucket = iam.Role(stack, "Some", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    cluster(stack).add_manifest(
        "App", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"role": bucket.role_arn}}
    )
    cache.route_images(scope=stack)
    assert warnings(stack, "manifestNotReachable")


# ---- examples/route_images.py ----------------------------------------------------------------------------


def test_example_routes_every_public_image_and_grants_each_puller():
    from tests.oracle.oracle_apps import load_module

    app = App()
    example = load_module("route_images").RouteImagesStack(
        app, "RouteImages", env=Environment(account=ACCOUNT, region=REGION)
    )
    template = Template.from_stack(example).to_json()["Resources"]
    images = [
        c["Image"]
        for r in template.values()
        if r["Type"] == "AWS::ECS::TaskDefinition"
        for c in r["Properties"]["ContainerDefinitions"]
    ]
    images += [
        r["Properties"]["ContainerProperties"]["Image"]
        for r in template.values()
        if r["Type"] == "AWS::Batch::JobDefinition"
    ]
    images += [
        r["Properties"]["Environment"]["Image"] for r in template.values() if r["Type"] == "AWS::CodeBuild::Project"
    ]
    assert sorted(images) == sorted(
        [
            f"{REGISTRY}/docker-hub/library/nginx:1.27",
            f"{REGISTRY}/github/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector:0.104.0",
            f"{REGISTRY}/ecr-public/amazonlinux/amazonlinux:2023",
            f"{REGISTRY}/docker-hub/library/python:3.12",
        ]
    )
    oracle = AppOracle([example])
    roles = {construct.node.path: construct for construct in example.node.find_all() if isinstance(construct, iam.Role)}
    pullers = {
        "RouteImages/Web/TaskDef/ExecutionRole": ["docker-hub/library/nginx", "github/open-telemetry/x"],
        "RouteImages/JobContainer/ExecutionRole": ["ecr-public/amazonlinux/amazonlinux"],
        "RouteImages/Build/Role": ["docker-hub/library/python"],
    }
    for path, repositories in pullers.items():
        principal = oracle.principal_of(roles[path])
        for repository in repositories:
            assert oracle.denied(principal, FIRST_PULL, repository_arn(ACCOUNT, REGION, repository)) == [], path
    assert warnings(example, "imageUpstreamWithoutRule") == []


def test_example_synthesizes_environment_agnostic():
    from tests.oracle.oracle_apps import load_module

    stack = load_module("route_images").RouteImagesStack(App(), "RouteImages")
    [task] = resources(stack, "AWS::ECS::TaskDefinition")
    assert [json.dumps(c["Image"]).count("AWS::AccountId") for c in task["ContainerDefinitions"]] == [1, 1]


def test_rewrites_plain_cfn_task_definitions_and_grants_the_named_role():
    stack, cache = make()
    role = iam.Role(stack, "Execution", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    ecs.CfnTaskDefinition(
        stack,
        "Task",
        execution_role_arn=role.role_arn,
        container_definitions=[ecs.CfnTaskDefinition.ContainerDefinitionProperty(name="web", image="nginx:1.27")],
    )
    cache.route_images(scope=stack)
    assert task_images(stack) == [[f"{REGISTRY}/docker-hub/library/nginx:1.27"]]
    assert can_first_pull(stack, role, "docker-hub/library/nginx") == []


def test_warns_about_an_l1_task_definition_whose_role_it_cannot_find():
    stack, cache = make()
    ecs.CfnTaskDefinition(
        stack,
        "Task",
        execution_role_arn="arn:aws:iam::111122223333:role/elsewhere",
        container_definitions=[ecs.CfnTaskDefinition.ContainerDefinitionProperty(name="web", image="nginx:1.27")],
    )
    cache.route_images(scope=stack)
    assert task_images(stack) == [[f"{REGISTRY}/docker-hub/library/nginx:1.27"]]
    assert any("cache.grant_pull(role)" in w for w in warnings(stack, "imagePullerNotGranted"))


def test_warns_on_helm_charts_and_leaves_them():
    stack, cache = make()
    cluster(stack).add_helm_chart(
        "Ingress", chart="ingress-nginx", repository="https://kubernetes.github.io/ingress-nginx"
    )
    cache.route_images(scope=stack)
    assert any("cache.image_uri" in w for w in warnings(stack, "helmChartNotRouted"))


def test_rewrites_batch_eks_properties_and_warns_about_node_roles():
    stack, cache = make()
    properties = batch.CfnJobDefinition.EksPropertiesProperty(
        pod_properties=batch.CfnJobDefinition.PodPropertiesProperty(
            containers=[batch.CfnJobDefinition.EksContainerProperty(image="registry.k8s.io/pause:3.9", name="a")]
        )
    )
    batch.CfnJobDefinition(stack, "Job", type="container", eks_properties=properties)
    cache.route_images(scope=stack)
    [job] = resources(stack, "AWS::Batch::JobDefinition")
    assert job["EksProperties"]["PodProperties"]["Containers"][0]["Image"] == f"{REGISTRY}/kubernetes/pause:3.9"
    assert warnings(stack, "nodeRolesNotGranted")


def test_rule_image_uri_passes_tokens_through():
    stack, cache = make()
    tag = CfnParameter(stack, "Tag").value_as_string
    repository = Lazy.string(StringProducer(lambda: "bitnami/redis"))
    rule = cache.rule("docker-hub")
    assert stack.resolve(rule.image_uri("nginx", tag=tag)) == {
        "Fn::Join": ["", [f"{REGISTRY}/docker-hub/library/nginx:", {"Ref": "Tag"}]]
    }
    assert stack.resolve(rule.image_uri(repository, tag="7")) == f"{REGISTRY}/docker-hub/bitnami/redis:7"


def test_rewrites_each_container_at_its_index_in_the_synthesized_container_definitions():
    stack, cache = make()
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("first", image=ecs.ContainerImage.from_registry("registry.example.com/first:1"))
    task.add_firelens_log_router(
        "router",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"),
        firelens_config=ecs.FirelensConfig(type=ecs.FirelensLogRouterType.FLUENTBIT),
    )
    ecs.ContainerDefinition(task, "direct", task_definition=task, image=ecs.ContainerImage.from_registry("nginx:1.27"))
    task.obtain_execution_role()  # a child between the containers
    task.add_container("last", image=ecs.ContainerImage.from_registry("ghcr.io/org/last:1"))
    cache.route_images(scope=stack)
    (definition,) = resources(stack, "AWS::ECS::TaskDefinition")
    assert {c["Name"]: c["Image"] for c in definition["ContainerDefinitions"]} == {
        "first": "registry.example.com/first:1",
        "router": f"{REGISTRY}/ecr-public/aws-observability/aws-for-fluent-bit:stable",
        "direct": f"{REGISTRY}/docker-hub/library/nginx:1.27",
        "last": f"{REGISTRY}/github/org/last:1",
    }


def test_leaves_a_task_definition_with_a_container_defined_outside_it_and_says_why():
    stack, cache = make()
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container("first", image=ecs.ContainerImage.from_registry("registry.example.com/first:1"))
    ecs.ContainerDefinition(
        stack, "Outside", task_definition=task, image=ecs.ContainerImage.from_registry("nginx:1.27")
    )
    task.add_container("last", image=ecs.ContainerImage.from_registry("ghcr.io/org/last:1"))
    other = ecs.FargateTaskDefinition(stack, "Other")
    other.add_container("only", image=ecs.ContainerImage.from_registry("public.ecr.aws/org/only:1"))
    cache.route_images(scope=stack)
    assert task_images(stack) == [
        ["registry.example.com/first:1", "nginx:1.27", "ghcr.io/org/last:1"],
        [f"{REGISTRY}/ecr-public/org/only:1"],
    ]
    (warning,) = warnings(stack, "containerOutsideTaskDefinition")
    assert "Test/Outside is defined outside it, so its place" in warning and "task.add_container" in warning


def test_fails_on_a_token_tag_after_a_reference_with_a_tag():
    stack, cache = make()
    with pytest.raises(ValueError, match=r"^\[Test/Cache/docker-hub\] the reference has a tag or digest"):
        cache.rule("docker-hub").image_uri("nginx:1", tag=CfnParameter(stack, "Tag").value_as_string)


def test_node_role_warning_names_the_node_groups_of_the_manifests_cluster():
    stack, cache = make()
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["us-east-1a"],
        private_subnet_ids=["subnet-0123456789abcdef0"],
        private_subnet_route_table_ids=["rtb-0123456789abcdef0"],
    )
    layer = lambda_.LayerVersion.from_layer_version_arn(
        stack, "Kubectl", f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:kubectl:1"
    )
    imported = eks.Cluster.from_cluster_attributes(
        stack,
        "Cluster",
        cluster_name="c",
        vpc=vpc,
        kubectl_layer=layer,
        kubectl_role_arn=f"arn:aws:iam::{ACCOUNT}:role/kubectl",
    )
    eks.Nodegroup(stack, "Nodes", cluster=imported)
    imported.add_manifest(
        "Pod",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]},
        },
    )
    cache.route_images(scope=stack)
    [warning] = warnings(stack, "nodeRolesNotGranted")
    assert "['Test/Nodes']" in warning
