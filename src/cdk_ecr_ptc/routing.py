"""Routing an app's public images through a pull-through cache: the ``PullThroughCacheImages`` Aspect,
Kubernetes manifest rewriting, and the choice of a cache's rule by an image's upstream host.

The Aspect reads each resource's image references where CDK has rendered them (the L2 container
definitions of ECS, the L1 properties of Batch and CodeBuild, the manifest of an EKS manifest resource),
rewrites them with property overrides on the L1, and grants the role that pulls. Lazy container
definitions are never resolved: the overrides name the container's index.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import jsii
from aws_cdk import Annotations, CfnResource, IAspect, Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ._env import resolved
from ._validation import GRANTEE, Interface, Items, check_arguments, fail
from .image_uri import DIGEST_MESSAGE, DIGEST_WARNING
from .images import DOCKER_HUB, ImageReference, InvalidImageReference, canonical_host, is_ecr_host, parse

if TYPE_CHECKING:
    from .cache import PullThroughCache
    from .rule import PullThroughCacheRule

#: Warning ids of the Aspect (each can be acknowledged with ``Annotations.of(scope).acknowledge_warning``).
NO_RULE = "cdk-ecr-ptc:imageUpstreamWithoutRule"
DRY_RUN = "cdk-ecr-ptc:imageRouteDryRun"
LAMBDA = "cdk-ecr-ptc:lambdaCannotPullThrough"
HELM = "cdk-ecr-ptc:helmChartNotRouted"
UNREACHABLE = "cdk-ecr-ptc:manifestNotReachable"
NODE_ROLES = "cdk-ecr-ptc:nodeRolesNotGranted"
NO_ROLE = "cdk-ecr-ptc:imagePullerNotGranted"
OUTSIDE = "cdk-ecr-ptc:containerOutsideTaskDefinition"

#: The upstream factory that caches a host, for the no-rule warning.
FACTORIES = {
    DOCKER_HUB: "Upstream.docker_hub(credentials=...)",
    "quay.io": "Upstream.quay()",
    "registry.k8s.io": "Upstream.kubernetes()",
    "public.ecr.aws": "Upstream.ecr_public()",
    "ghcr.io": "Upstream.github(credentials=...)",
    "registry.gitlab.com": "Upstream.gitlab(credentials=...)",
    "cgr.dev": "Upstream.chainguard(credentials=...)",
}
#: Pod-spec paths of the Kubernetes workload kinds, and the container lists of a pod spec.
POD_SPECS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
#: CodeBuild's curated images (``aws/codebuild/...``) are CodeBuild's own, not Docker Hub's.
CODEBUILD_CURATED = "aws/codebuild/"


def factory_for(host: str) -> str | None:
    """The :class:`Upstream` factory that would cache ``host``, or ``None`` when pull-through cache has none."""
    if host in FACTORIES:
        return FACTORIES[host]
    if host.endswith(".azurecr.io"):
        return f"Upstream.azure(registry_name={host.removesuffix('.azurecr.io')!r}, credentials=...)"
    if is_ecr_host(host):
        account, _, _, region = host.split(".")[:4]
        return f"Upstream.ecr(account={account!r}, region={region!r})"
    return None


def rules_by_host(cache: PullThroughCache) -> dict[str, list[PullThroughCacheRule]]:
    """The cache's rules by the host of their upstream (``docker.io`` for Docker Hub)."""
    hosts: dict[str, list[PullThroughCacheRule]] = {}
    for rule in cache.rules:
        if resolved(rule.upstream.url):
            hosts.setdefault(canonical_host(rule.upstream.url), []).append(rule)
    return hosts


def pick_rule(rules: Sequence[PullThroughCacheRule], image: ImageReference) -> PullThroughCacheRule | None:
    """The rule of ``rules`` (all of one host) that caches ``image``: the one with the longest upstream
    repository prefix that holds the image, else one without such a prefix."""
    best, best_length = None, -1
    for rule in rules:
        under = rule.upstream.upstream_repository_prefix
        if under in (None, "ROOT"):
            length = 0
        elif image.repository.startswith(under.rstrip("/") + "/"):
            length = len(under)
        else:
            continue
        if length > best_length:
            best, best_length = rule, length
    return best


def rule_for(cache: PullThroughCache, reference: str) -> tuple[PullThroughCacheRule, ImageReference]:
    """The rule of ``cache`` whose upstream is ``reference``'s host (``nginx:1.27`` being Docker Hub's),
    and the parsed reference; fails with the hosts the cache has rules for."""
    check_arguments(cache, reference=(reference, str))
    if not resolved(reference):
        raise fail(
            cache,
            "the cache picks the rule by the reference's host, so the reference must be concrete",
            reference,
            "Pass a literal reference, or use cache.rule(prefix).image_uri(...).",
        )
    try:
        image = parse(reference)
    except InvalidImageReference as error:
        raise fail(cache, error.problem, error.value, error.fix) from None
    hosts = rules_by_host(cache)
    rule = pick_rule(hosts.get(image.host or DOCKER_HUB, []), image)
    if rule is None:
        factory = factory_for(image.host or DOCKER_HUB)
        raise fail(
            cache,
            "the cache has no rule for this image's upstream",
            image.host,
            f"The cache has rules for {sorted(hosts)}. "
            + (f"Add {factory}." if factory else "Pull-through cache does not support this registry."),
        )
    return rule, image


def route_manifest(
    cache: PullThroughCache, manifest: Mapping[str, Any], on_image: Callable[[str], str | None] | None = None
) -> dict[str, Any]:
    """A copy of ``manifest`` whose container images are routed through ``cache``.

    Args:
        cache: the cache.
        manifest: a Kubernetes object (a ``List`` too).
        on_image: returns the new image of an image, or ``None`` to keep it. Default: - the cache's URI for
            images of its upstreams, the others kept.
    """
    check_arguments(cache, manifest=(manifest, Mapping))
    router = on_image or (lambda image: _route_quietly(cache, image))
    routed = copy.deepcopy(dict(manifest))
    for container in _manifest_containers(routed):
        image = container.get("image")
        if isinstance(image, str):
            new = router(image)
            if new is not None:
                container["image"] = new
    return routed


def _route_quietly(cache: PullThroughCache, image: str) -> str | None:
    try:
        reference = parse(image)
    except InvalidImageReference:
        return None
    if is_ecr_host(reference.host):
        return None
    rule = pick_rule(rules_by_host(cache).get(reference.host or DOCKER_HUB, []), reference)
    return rule.image_uri(str(reference)) if rule is not None else None


def _manifest_containers(manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every container dict of the workloads in ``manifest`` (``List`` items included)."""
    if manifest.get("kind") == "List" or (manifest.get("kind", "").endswith("List") and "items" in manifest):
        for item in manifest.get("items") or []:
            if isinstance(item, dict):
                yield from _manifest_containers(item)
        return
    spec: Any = manifest
    for key in POD_SPECS.get(manifest.get("kind", ""), ()):
        spec = spec.get(key) if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or manifest.get("kind") not in POD_SPECS:
        return
    for field in CONTAINER_LISTS:
        for container in spec.get(field) or []:
            if isinstance(container, dict):
                yield container


@dataclass(frozen=True)
class RoutedImage:
    """One image the Aspect rewrote (or, in a dry run, would rewrite).

    Attributes:
        path: the construct path of the resource.
        field: the property path of the image in the resource.
        image: the image as written.
        uri: its URI through the cache.
    """

    path: str
    field: str
    image: str
    uri: str


#: What was routed already, per app, L1 resource path and field, across Aspect instances and synths
#: (idempotency). Keyed by the app (a Python object): jsii's proxies of L1s that CDK created come and go.
_ROUTED: weakref.WeakKeyDictionary[Any, dict[str, dict[str, str]]] = weakref.WeakKeyDictionary()


def _routed(cfn: CfnResource, path: str) -> dict[str, str]:
    """The fields of ``cfn`` (at ``path``) routed already, and their URIs."""
    return _ROUTED.setdefault(cfn.node.root, {}).setdefault(path, {})


@jsii.implements(IAspect)
class PullThroughCacheImages:
    """Routes the public images under a scope through a pull-through cache, and grants their pullers.

    Add it at ``AspectPriority.MUTATING``: ``Aspects.of(scope).add(cache.route_images(),
    priority=AspectPriority.MUTATING)``, or ``cache.route_images(scope=scope)``, which does that. What it
    rewrites, grants and warns about is in the README ("Routing every image through the cache").
    """

    def __init__(
        self,
        cache: PullThroughCache,
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        rewrite: bool = True,
        node_roles: Sequence[iam.IGrantable] = (),
    ) -> None:
        """
        Args:
            cache: the cache whose rules the images are routed through.
            include: only images whose host or ``host/repository`` matches one of these glob patterns
                (``docker.io/*``, ``quay.io``, ``*/nginx``). Default: - every image of the cache's upstreams.
            exclude: images matching one of these patterns are left alone. Default: - none.
            rewrite: ``False`` rewrites and grants nothing, and warns once per image that would be
                rewritten (a dry run). Default: ``True``.
            node_roles: the roles of the Kubernetes nodes that pull the manifests' images; they are
                granted when a manifest is rewritten. Default: - none; a warning names the node groups.
        """
        check_arguments(
            "PullThroughCacheImages",
            cache=(cache, Interface("PullThroughCache", "route_images")),
            include=(include, Items(str)),
            exclude=(exclude, Items(str)),
            rewrite=(rewrite, bool),
            node_roles=(node_roles, Items(GRANTEE)),
        )
        self._cache = cache
        self._include = tuple(include)
        self._exclude = tuple(exclude)
        self._rewrite = rewrite
        self._node_roles = tuple(node_roles)
        self._hosts: dict[str, list[PullThroughCacheRule]] | None = None
        self._granted: set[tuple[str, str]] = set()
        self._outside: dict[str, list[str]] | None = None
        self.routed: list[RoutedImage] = []

    # ---- dispatch ---------------------------------------------------------------------------

    def visit(self, node: IConstruct) -> None:
        check_arguments(self._cache, node=(node, Interface("IConstruct", "node")))
        handler = _handler(node)
        if handler is not None:
            handler(self, cast(CfnResource, node))  # handlers are only found for L1 resources

    # ---- routing one image ------------------------------------------------------------------

    def _rules(self) -> dict[str, list[PullThroughCacheRule]]:
        if self._hosts is None:
            self._hosts = rules_by_host(self._cache)
        return self._hosts

    def _selected(self, image: ImageReference) -> bool:
        names = (image.host or DOCKER_HUB, f"{image.host}/{image.repository}", str(image))

        def matches(patterns: tuple[str, ...]) -> bool:
            return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns for name in names)

        return (not self._include or matches(self._include)) and not matches(self._exclude)

    def _route(
        self, scope: IConstruct, image: object, *, codebuild: bool = False
    ) -> tuple[str, PullThroughCacheRule] | None:
        """The cache URI of ``image`` and its rule; ``None`` (with a warning where one is due) when the
        image stays: a token (ECR repositories, assets), an ECR image, an upstream without a rule."""
        if not isinstance(image, str) or not resolved(image):
            return None
        if codebuild and image.startswith(CODEBUILD_CURATED):
            return None
        try:
            reference = parse(image)
        except InvalidImageReference as error:
            raise fail(scope, f"the image reference is not valid: {error.problem}", image, error.fix) from None
        host = reference.host or DOCKER_HUB
        if is_ecr_host(host) and not self._rules().get(host) or not self._selected(reference):
            return None
        rule = pick_rule(self._rules().get(host, []), reference)
        if rule is None:
            factory = factory_for(host)
            Annotations.of(scope).add_warning_v2(
                NO_RULE,
                (
                    f"{image} is not routed through the cache: it has no rule for {host}"
                    + (
                        f"; add {factory} to cover it."
                        if factory
                        else "; pull-through cache does not support this registry."
                    )
                ),
            )
            return None
        uri = rule.image_uri(str(reference))  # warns on the rule for a digest
        if reference.digest is not None:
            Annotations.of(scope).add_warning_v2(DIGEST_WARNING, f"{image} -> {uri}: {DIGEST_MESSAGE}.")
        return uri, rule

    def _apply(self, cfn: CfnResource, field: str, image: str, uri: str) -> bool:
        """Overrides ``field`` of ``cfn`` with ``uri``, once per app however often the Aspect runs; in a dry
        run, warns instead. Tells whether the image is rewritten now."""
        path = cfn.node.path
        done = _routed(cfn, path)
        key = field if self._rewrite else f"dry-run:{field}"
        if done.get(key) == uri:  # routed already, by this Aspect or another
            return False
        done[key] = uri
        self.routed.append(RoutedImage(path, field, image, uri))
        if not self._rewrite:
            Annotations.of(cfn).add_warning_v2(DRY_RUN, f"would route {field} {image} through the cache: {uri}")
            return False
        cfn.add_property_override(field, uri)
        return True

    def _grant(
        self, grantee: iam.IGrantable | None, rules: Sequence[PullThroughCacheRule], scope: IConstruct, what: str
    ) -> None:
        if not self._rewrite or not rules:
            return
        if grantee is None:
            Annotations.of(scope).add_warning_v2(
                NO_ROLE,
                (
                    f"{what} pulls images through the cache, and its role is not known here; grant it with "
                    "cache.grant_pull(role)."
                ),
            )
            return
        who = grantee.node.path if hasattr(grantee, "node") else str(id(grantee))
        for rule in {rule.node.path: rule for rule in rules}.values():
            key = (who, rule.node.path)
            if key not in self._granted:
                self._granted.add(key)
                rule.grant_pull(grantee)

    # ---- resource kinds ---------------------------------------------------------------------

    def _ecs_task_definition(self, cfn: CfnResource) -> None:
        from aws_cdk import aws_ecs as ecs

        task = cfn.node.scope
        if not isinstance(task, ecs.TaskDefinition):
            self._ecs_l1_task_definition(cfn)
            return
        containers = self._containers_of(task)
        if containers is None:
            return
        rules = []
        for index, container in enumerate(containers):
            image = container.image_name
            routed = self._route(container, image)
            if routed is not None and self._apply(cfn, f"ContainerDefinitions.{index}.Image", image, routed[0]):
                cfn.add_property_deletion_override(f"ContainerDefinitions.{index}.RepositoryCredentials")
                rules.append(routed[1])
        if rules:
            self._grant(task.obtain_execution_role(), rules, task, "the task definition")

    def _containers_of(self, task: Any) -> list[Any] | None:
        """The container definitions of ``task`` in the order CloudFormation receives them, or ``None`` (with a
        warning) when that order is not known.

        A task definition renders its containers in the order they were defined. Those defined with
        ``task.add_container`` (or with the task as their scope) are its construct children, in that order. A
        container defined under another scope has no public position among them (CDK's list is protected), so
        the task is left alone rather than risk rewriting the wrong container's image.
        """
        from aws_cdk import aws_ecs as ecs

        children = [child for child in task.node.children if isinstance(child, ecs.ContainerDefinition)]
        if self._outside is None:  # once per Aspect: the whole app is built when Aspects run
            self._outside = _containers_outside_their_task(self._cache.node.root)
        elsewhere = self._outside.get(task.node.path, []) if self._outside else []
        if elsewhere:
            Annotations.of(task).add_warning_v2(
                OUTSIDE,
                (
                    f"the task definition's images are not routed: {', '.join(elsewhere)} "
                    f"{'is' if len(elsewhere) == 1 else 'are'} defined outside it, so "
                    f"{'its place' if len(elsewhere) == 1 else 'their places'} in its "
                    "ContainerDefinitions is not known; define them with task.add_container(...), or give them "
                    "image=cache.container_image(...)."
                ),
            )
            return None
        return children

    def _ecs_l1_task_definition(self, cfn: CfnResource) -> None:
        from aws_cdk import aws_ecs as ecs

        assert isinstance(cfn, ecs.CfnTaskDefinition)
        definitions = cfn.container_definitions
        if not isinstance(definitions, list):
            return
        rules = []
        for index, definition in enumerate(definitions):
            image = _get(definition, "image")
            routed = self._route(cfn, image)
            if routed is not None and self._apply(cfn, f"ContainerDefinitions.{index}.Image", str(image), routed[0]):
                rules.append(routed[1])
        self._grant(_role_by_arn(cfn, cfn.execution_role_arn), rules, cfn, "the task definition's execution role")

    def _batch_job_definition(self, cfn: CfnResource) -> None:
        from aws_cdk import aws_batch as batch

        assert isinstance(cfn, batch.CfnJobDefinition)
        parent = cfn.node.scope
        container = cfn.container_properties
        if container is not None and not jsii_resolvable(container):
            image = _get(container, "image")
            routed = self._route(cfn, image)
            if routed is not None and self._apply(cfn, "ContainerProperties.Image", str(image), routed[0]):
                role = (
                    parent.container.execution_role
                    if isinstance(parent, batch.EcsJobDefinition)
                    else _role_by_arn(cfn, _get(container, "execution_role_arn"))
                )
                self._grant(role, [routed[1]], cfn, "the job definition's execution role")
        ecs_properties = cfn.ecs_properties
        for t, task in enumerate(_list(_get(ecs_properties, "task_properties"))):
            rules = []
            for c, definition in enumerate(_list(_get(task, "containers"))):
                image = _get(definition, "image")
                routed = self._route(cfn, image)
                if routed is not None and self._apply(
                    cfn, f"EcsProperties.TaskProperties.{t}.Containers.{c}.Image", str(image), routed[0]
                ):
                    rules.append(routed[1])
            self._grant(
                _role_by_arn(cfn, _get(task, "execution_role_arn")),
                rules,
                cfn,
                f"task {t} of the job definition's ECS properties",
            )
        pod = _get(cfn.eks_properties, "pod_properties")
        rules = []
        for field, containers in (
            ("Containers", _get(pod, "containers")),
            ("InitContainers", _get(pod, "init_containers")),
        ):
            for c, definition in enumerate(_list(containers)):
                image = _get(definition, "image")
                routed = self._route(cfn, image)
                if routed is not None and self._apply(
                    cfn, f"EksProperties.PodProperties.{field}.{c}.Image", str(image), routed[0]
                ):
                    rules.append(routed[1])
        self._nodes(cfn, rules, None)  # the pods run on the compute environment's EKS nodes

    def _codebuild_project(self, cfn: CfnResource) -> None:
        from aws_cdk import aws_codebuild as codebuild

        assert isinstance(cfn, codebuild.CfnProject)
        environment = cfn.environment
        image = _get(environment, "image")
        routed = self._route(cfn, image, codebuild=True)
        if routed is None or not self._apply(cfn, "Environment.Image", str(image), routed[0]):
            return
        cfn.add_property_override("Environment.ImagePullCredentialsType", "SERVICE_ROLE")
        cfn.add_property_deletion_override("Environment.RegistryCredential")
        parent = cfn.node.scope
        role = parent.role if isinstance(parent, codebuild.Project) else _role_by_arn(cfn, cfn.service_role)
        self._grant(role, [routed[1]], cfn, "the CodeBuild project's service role")

    def _kubernetes_manifest(self, cfn: CfnResource) -> None:
        properties = cfn._cfn_properties  # CfnResource's protected ``cfnProperties``: the custom resource's
        text = Stack.of(cfn).resolve(properties.get("Manifest"))
        if not isinstance(text, str):
            Annotations.of(cfn).add_warning_v2(
                UNREACHABLE,
                (
                    "the manifest holds values known only at deploy time, so its images cannot be routed at synth; "
                    "build it with cache.route_manifest(manifest) before cluster.add_manifest(...)."
                ),
            )
            return
        rules: list[PullThroughCacheRule] = []
        routed: list[RoutedImage] = []
        path = cfn.node.path

        def router(image: str) -> str | None:
            found = self._route(cfn, image)
            if found is None:
                return None
            rules.append(found[1])
            routed.append(RoutedImage(path, "Manifest", image, found[0]))
            return found[0]

        rendered = json.dumps(
            [route_manifest(self._cache, item, router) for item in json.loads(text)], separators=(",", ":")
        )
        done = _routed(cfn, path)
        key = "Manifest" if self._rewrite else "dry-run:Manifest"
        if not rules or done.get(key) == rendered:  # nothing to route, or routed already
            return
        done[key] = rendered
        self.routed.extend(routed)
        if not self._rewrite:
            for item in routed:
                Annotations.of(cfn).add_warning_v2(DRY_RUN, f"would route {item.image} through the cache: {item.uri}")
            return
        cfn.add_property_override("Manifest", rendered)
        self._nodes(cfn, rules, properties.get("ClusterName"))

    def _nodes(self, scope: IConstruct, rules: Sequence[PullThroughCacheRule], cluster_name: object) -> None:
        """Grants the node roles given, or warns with the node groups of the cluster to grant."""
        if not rules or not self._rewrite:
            return
        if self._node_roles:
            for role in self._node_roles:
                self._grant(role, rules, scope, "the node role")
            return
        from aws_cdk import aws_eks as eks

        groups = [
            group.node.path
            for group in Stack.of(scope).node.find_all()
            if isinstance(group, eks.Nodegroup) and group.cluster.cluster_name == cluster_name
        ]
        Annotations.of(scope).add_warning_v2(
            NODE_ROLES,
            (
                "the images are routed through the cache, and the nodes that pull them are not granted: "
                + (f"grant the node groups {groups} with " if groups else "grant the node roles with ")
                + "cache.grant_pull(nodegroup.role), or pass node_roles= to route_images()."
            ),
        )

    def _helm_chart(self, cfn: CfnResource) -> None:
        Annotations.of(cfn).add_warning_v2(
            HELM,
            (
                "a Helm chart's images are rendered at deploy time, so they are not routed; pass "
                "cache.image_uri(...) in the chart's values (see the README)."
            ),
        )

    def _lambda_function(self, cfn: CfnResource) -> None:
        from aws_cdk import aws_lambda as lambda_

        assert isinstance(cfn, lambda_.CfnFunction)
        image = _get(cfn.code, "image_uri")
        if not isinstance(image, str) or not resolved(image):
            return
        try:
            reference = parse(image)
        except InvalidImageReference:
            return
        if reference.host in self._rules() or reference.host == self._cache.registry_host:
            Annotations.of(cfn).add_warning_v2(
                LAMBDA,
                (
                    f"{image} is not routed: Lambda cannot pull container images through a pull-through cache; "
                    "copy the image into an ECR repository of your own, or warm the cache before the deploy."
                ),
            )


def _containers_outside_their_task(root: IConstruct) -> dict[str, list[str]]:
    """The paths of the ECS container definitions under ``root`` that are not children of their task definition,
    by the task definition's path. Containers are counted first, so that the usual app, whose containers are
    all children of their tasks, costs one walk and no call per container."""
    from aws_cdk import aws_ecs as ecs

    nodes = root.node.find_all()
    containers = sum(isinstance(node, ecs.ContainerDefinition) for node in nodes)
    children = sum(
        isinstance(child, ecs.ContainerDefinition)
        for node in nodes
        if isinstance(node, ecs.TaskDefinition)
        for child in node.node.children
    )
    if containers == children:
        return {}
    outside: dict[str, list[str]] = {}
    for node in nodes:
        if isinstance(node, ecs.ContainerDefinition):
            task, scope = node.task_definition.node.path, node.node.scope
            if scope is None or scope.node.path != task:
                outside.setdefault(task, []).append(node.node.path)
    return outside


def jsii_resolvable(value: object) -> bool:
    """Whether ``value`` is a CDK token object (an ``IResolvable``), not a struct."""
    return hasattr(value, "resolve") and not hasattr(value, "_values")


def _get(value: object, name: str) -> Any:
    """``name`` of a struct or dict (``snake_case`` or ``camelCase``), or ``None``."""
    if value is None:
        return None
    if isinstance(value, dict):
        camel = name.split("_")[0] + "".join(part.title() for part in name.split("_")[1:])
        return value.get(name, value.get(camel))
    return getattr(value, name, None)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _role_by_arn(scope: IConstruct, arn: object) -> iam.IRole | None:
    """The role of ``scope``'s stack whose ``role_arn`` is ``arn`` (the same token), or ``None``."""
    if not isinstance(arn, str):
        return None
    for construct in Stack.of(scope).node.find_all():
        if isinstance(construct, iam.Role) and construct.role_arn == arn:
            return construct
    return None


_Handler = Callable[[PullThroughCacheImages, CfnResource], None]
#: The handler of each L1 class, by its Python module and name.
_BY_CLASS: dict[str, _Handler] = {
    "aws_cdk.aws_ecs.CfnTaskDefinition": PullThroughCacheImages._ecs_task_definition,
    "aws_cdk.aws_batch.CfnJobDefinition": PullThroughCacheImages._batch_job_definition,
    "aws_cdk.aws_codebuild.CfnProject": PullThroughCacheImages._codebuild_project,
    "aws_cdk.aws_lambda.CfnFunction": PullThroughCacheImages._lambda_function,
}
#: The handler of each resource type: the custom resources CDK renders as a plain ``CfnResource``, and
#: the types of :data:`_BY_CLASS` for subclasses of their L1 classes defined outside aws_cdk.
_BY_TYPE: dict[str, _Handler] = {
    "Custom::AWSCDK-EKS-KubernetesResource": PullThroughCacheImages._kubernetes_manifest,
    "Custom::AWSCDK-EKS-HelmChart": PullThroughCacheImages._helm_chart,
    "AWS::ECS::TaskDefinition": PullThroughCacheImages._ecs_task_definition,
    "AWS::Batch::JobDefinition": PullThroughCacheImages._batch_job_definition,
    "AWS::CodeBuild::Project": PullThroughCacheImages._codebuild_project,
    "AWS::Lambda::Function": PullThroughCacheImages._lambda_function,
}


def _handler(node: IConstruct) -> _Handler | None:
    """The handler of ``node``: by its Python class where that is an aws_cdk L1 (no call into jsii, no
    import of the L1's module), else by its resource type."""
    cls = type(node)
    handler = _BY_CLASS.get(f"{cls.__module__}.{cls.__qualname__}")
    if handler is not None or not isinstance(node, CfnResource):
        return handler
    if cls is not CfnResource and cls.__module__.startswith("aws_cdk."):
        return None  # another L1 of aws_cdk
    return _BY_TYPE.get(node.cfn_resource_type)
