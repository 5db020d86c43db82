"""Issue 11 §4: every public constructor, factory and method checks the types of its arguments.

The callables are enumerated from the package's exports with ``inspect``, so a new one must be added to
:data:`CALLS`. Each argument in turn gets a value of no type the library takes (and ``None`` where it is
required); the call must fail in the library's format, ``[path] problem: got <value>. <fix>``, never with a raw
``TypeError``, ``AttributeError`` or typeguard message from inside CDK or jsii.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager

import cdk_ecr_ptc
from cdk_ecr_ptc import (
    CacheLifecycleRule,
    CacheWarming,
    EcrUpstreamRole,
    ImportedPullThroughCache,
    ImportedPullThroughCacheRule,
    PullThroughCache,
    PullThroughCacheContainerImage,
    PullThroughCacheDeploymentPolicy,
    PullThroughCacheImages,
    PullThroughCacheRule,
    PullThroughCacheRuleBase,
    PullTimeUpdateExclusion,
    RegistryPolicy,
    RegistryPolicyScope,
    RepositoryCreationRole,
    RepositoryCreationTemplate,
    RepositorySettings,
    RuleAttributes,
    Upstream,
    UpstreamCredentials,
    UpstreamRegistry,
    WarmImage,
)
from tests.conftest import ACCOUNT, REGION

OTHER = "999988887777"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/hub-AbCdEf"
IMAGE = "quay.io/prometheus/prometheus:v2.53.0"
REPOSITORIES = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/quay/*"
MANIFEST = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "image": IMAGE}]}}
#: The library's error format: ``[path] problem: got <value>. <Fix>``.
LIBRARY_FORMAT = re.compile(r"\[[^\]\n]+\] [^\n]+: got [^\n]+\. [A-Z]")


class Wrong:
    """A value of no type any argument of the library takes."""

    def __repr__(self) -> str:
        return "<Wrong>"


WRONG = Wrong()


@dataclass
class Call:
    """One public callable: how to reach it in a stack, valid values of its required arguments, and what uses
    the value it returns where checks wait for that (an upstream is checked by the rule it is attached to)."""

    target: Callable[[Stack], Callable[..., Any]]
    valid: Callable[[Stack], dict[str, Any]] = lambda s: {}
    use: Callable[[Stack, Any], Any] | None = None
    #: Arguments given ``None`` as well as the wrong value (required ones are, unless their type takes None).
    none_too: tuple[str, ...] = field(default_factory=tuple)


def quay_rule(s: Stack) -> PullThroughCacheRule:
    return PullThroughCacheRule(s, "Rule", upstream=Upstream.quay())


def cache(s: Stack) -> PullThroughCache:
    return PullThroughCache(s, "Cache", upstreams=[Upstream.quay()])


def imported(s: Stack):
    return PullThroughCache.from_cache_attributes(
        s, "Imported", account=OTHER, region=REGION, prefixes={"quay": UpstreamRegistry.QUAY}
    )


def template(s: Stack) -> RepositoryCreationTemplate:
    return RepositoryCreationTemplate(s, "Template", prefix="team")


def role(s: Stack) -> iam.Role:
    return iam.Role(s, "Puller", assumed_by=iam.AccountRootPrincipal())


def credentials() -> UpstreamCredentials:
    return UpstreamCredentials.from_secret_complete_arn(SECRET_ARN)


def on_rule(s: Stack, upstream: Upstream) -> PullThroughCacheRule:
    return PullThroughCacheRule(s, "UsedBy", upstream=upstream)


def on_template(s: Stack, lifecycle_rule: CacheLifecycleRule) -> RepositoryCreationTemplate:
    return RepositoryCreationTemplate(s, "UsedBy", prefix="used", lifecycle_rules=[lifecycle_rule])


def on_settings(s: Stack, settings: RepositorySettings) -> PullThroughCacheRule:
    return PullThroughCacheRule(s, "UsedBy", upstream=Upstream.kubernetes(), repository_settings=settings)


def on_credentials(s: Stack, upstream_credentials: UpstreamCredentials) -> PullThroughCacheRule:
    return on_rule(s, Upstream.docker_hub(credentials=upstream_credentials))


def on_import(s: Stack, attributes: RuleAttributes) -> Any:
    imported_cache = PullThroughCache.from_cache_attributes(
        s, "UsedBy", account=OTHER, region=REGION, prefixes={"quay": attributes}
    )
    return imported_cache.rule("quay").image_uri("prometheus/prometheus", tag="v1")


def on_container(s: Stack, image: PullThroughCacheContainerImage) -> None:
    ecs.FargateTaskDefinition(s, "UsedBy").add_container("c", image=image, memory_limit_mib=512)


def on_warming(s: Stack, image: WarmImage) -> CacheWarming:
    return CacheWarming(s, "UsedBy", rules=[s.node.find_child("Rule")], images=[image])


def scoped(**more: Callable[[Stack], Any]) -> Callable[[Stack], dict[str, Any]]:
    """Valid ``scope`` and ``id``, plus ``more`` (each built from the stack)."""
    return lambda s: {"scope": s, "id": "Subject", **{name: build(s) for name, build in more.items()}}


def const(value: Any) -> Callable[[Stack], Any]:
    return lambda s: value


UPSTREAM_FACTORIES = {
    "of": dict(valid=lambda s: {"registry": UpstreamRegistry.QUAY, "url": "quay.io", "prefix": "quay"}),
    "ecr_public": {},
    "kubernetes": {},
    "quay": {},
    "docker_hub": dict(valid=lambda s: {"credentials": credentials()}),
    "github": dict(valid=lambda s: {"credentials": credentials()}),
    "gitlab": dict(valid=lambda s: {"credentials": credentials()}),
    "chainguard": dict(valid=lambda s: {"credentials": credentials()}),
    "azure": dict(valid=lambda s: {"registry_name": "myregistry", "credentials": credentials()}),
    "ecr": dict(valid=lambda s: {"account": OTHER, "region": "eu-west-1"}),
}

#: Every public callable, by ``Class.member`` (``Class.__init__`` for constructors).
CALLS: dict[str, Call] = {
    "CacheLifecycleRule.__init__": Call(
        lambda s: CacheLifecycleRule, lambda s: {"expire_if_not_pulled_for": Duration.days(30)}, use=on_template
    ),
    "CacheWarming.__init__": Call(
        lambda s: CacheWarming, scoped(rules=lambda s: [quay_rule(s)], images=const([IMAGE])), none_too=("images",)
    ),
    "EcrUpstreamRole.__init__": Call(
        lambda s: EcrUpstreamRole,
        scoped(
            upstream_account=const(OTHER),
            upstream_region=const("eu-west-1"),
            upstream_repository_prefix=const(None),
            cache_repository_arn=const(REPOSITORIES),
        ),
    ),
    "ImportedPullThroughCache.__init__": Call(
        lambda s: ImportedPullThroughCache,
        scoped(account=const(OTHER), region=const(REGION), prefixes=const({"quay": UpstreamRegistry.QUAY})),
    ),
    "ImportedPullThroughCache.grant_pull": Call(lambda s: imported(s).grant_pull, lambda s: {"grantee": role(s)}),
    "ImportedPullThroughCache.grant_pull_through": Call(
        lambda s: imported(s).grant_pull_through, lambda s: {"grantee": role(s)}
    ),
    "ImportedPullThroughCache.rule": Call(lambda s: imported(s).rule, lambda s: {"prefix": "quay"}),
    "ImportedPullThroughCacheRule.__init__": Call(
        lambda s: ImportedPullThroughCacheRule,
        scoped(
            prefix=const("quay"),
            account=const(OTHER),
            region=const(REGION),
            docker_hub=const(False),
            tags_repositories=const(False),
        ),
    ),
    "PullThroughCache.__init__": Call(lambda s: PullThroughCache, scoped()),
    "PullThroughCache.add_repository_settings": Call(
        lambda s: cache(s).add_repository_settings,
        lambda s: {"settings": RepositorySettings(), "prefix": "quay"},
        none_too=("settings",),
    ),
    "PullThroughCache.add_upstream": Call(
        lambda s: cache(s).add_upstream, lambda s: {"upstream": Upstream.kubernetes()}
    ),
    "PullThroughCache.attributes": Call(lambda s: cache(s).attributes),
    "PullThroughCache.container_image": Call(lambda s: cache(s).container_image, lambda s: {"reference": IMAGE}),
    "PullThroughCache.from_cache_attributes": Call(
        lambda s: PullThroughCache.from_cache_attributes,
        scoped(account=const(OTHER), region=const(REGION), prefixes=const({"quay": UpstreamRegistry.QUAY})),
    ),
    "PullThroughCache.grant_pull": Call(lambda s: cache(s).grant_pull, lambda s: {"grantee": role(s)}),
    "PullThroughCache.grant_pull_through": Call(lambda s: cache(s).grant_pull_through, lambda s: {"grantee": role(s)}),
    "PullThroughCache.image_uri": Call(lambda s: cache(s).image_uri, lambda s: {"reference": IMAGE}),
    "PullThroughCache.route_images": Call(lambda s: cache(s).route_images),
    "PullThroughCache.route_manifest": Call(lambda s: cache(s).route_manifest, lambda s: {"manifest": MANIFEST}),
    "PullThroughCache.rule": Call(lambda s: cache(s).rule, lambda s: {"prefix": "quay"}),
    "PullThroughCache.warm": Call(lambda s: cache(s).warm, lambda s: {"images": [IMAGE]}),
    "PullThroughCacheContainerImage.__init__": Call(
        lambda s: PullThroughCacheContainerImage,
        lambda s: {"rule": quay_rule(s), "image_uri": "x"},
        use=on_container,
    ),
    "PullThroughCacheContainerImage.bind": Call(
        lambda s: cache(s).container_image(IMAGE).bind,
        lambda s: {
            "scope": s,
            "container_definition": ecs.FargateTaskDefinition(s, "Task").add_container(
                "c", image=ecs.ContainerImage.from_registry("x"), memory_limit_mib=512
            ),
        },
    ),
    "PullThroughCacheDeploymentPolicy.__init__": Call(
        lambda s: PullThroughCacheDeploymentPolicy,
        lambda s: {"scope": Stack(s.node.root, "Deploy"), "id": "Subject", "cache_stack": s},
    ),
    "PullThroughCacheDeploymentPolicy.document": Call(
        lambda s: PullThroughCacheDeploymentPolicy(Stack(s.node.root, "Deploy"), "Policy", cache_stack=s).document
    ),
    "PullThroughCacheImages.__init__": Call(lambda s: PullThroughCacheImages, lambda s: {"cache": cache(s)}),
    "PullThroughCacheImages.visit": Call(lambda s: cache(s).route_images().visit, lambda s: {"node": s}),
    "PullThroughCacheRule.__init__": Call(lambda s: PullThroughCacheRule, scoped(upstream=lambda s: Upstream.quay())),
    "PullThroughCacheRule.add_repository_settings": Call(
        lambda s: quay_rule(s).add_repository_settings,
        lambda s: {"settings": RepositorySettings()},
        none_too=("settings",),
    ),
    "PullThroughCacheRule.warm": Call(lambda s: quay_rule(s).warm, lambda s: {"images": ["prometheus/prometheus:v1"]}),
    **{
        f"{cls}.{member}": Call(lambda s, rule=rule, member=member: getattr(rule(s), member), valid)
        for cls, rule in (
            ("PullThroughCacheRule", quay_rule),
            ("PullThroughCacheRuleBase", quay_rule),
            ("ImportedPullThroughCacheRule", lambda s: imported(s).rule("quay")),
        )
        for member, valid in (
            ("grant_pull", lambda s: {"grantee": role(s)}),
            ("grant_pull_through", lambda s: {"grantee": role(s)}),
            ("image_uri", lambda s: {"reference": "a/b"}),
        )
    },
    "PullThroughCacheRuleBase.__init__": Call(
        lambda s: PullThroughCacheRuleBase,
        scoped(prefix=const("quay"), account=const(ACCOUNT), region=const(REGION), docker_hub=const(False)),
    ),
    "PullTimeUpdateExclusion.__init__": Call(lambda s: PullTimeUpdateExclusion, scoped(principal=role)),
    "RegistryPolicy.__init__": Call(lambda s: RegistryPolicy, scoped()),
    "RegistryPolicy.add_to_resource_policy": Call(
        lambda s: RegistryPolicy.of(s).add_to_resource_policy,
        lambda s: {
            "statement": iam.PolicyStatement(
                principals=[iam.AccountPrincipal(OTHER)], actions=["ecr:CreateRepository"], resources=[REPOSITORIES]
            )
        },
    ),
    "RegistryPolicy.carry_over": Call(
        lambda s: RegistryPolicy.of(s).carry_over,
        lambda s: {
            "policy": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                        "Action": "ecr:ReplicateImage",
                        "Resource": REPOSITORIES,
                    }
                ]
            }
        },
    ),
    "RegistryPolicy.declare_scope": Call(
        lambda s: RegistryPolicy.of(s).declare_scope, lambda s: {"by": s, "scope": RegistryPolicyScope.V1}
    ),
    "RegistryPolicy.document": Call(lambda s: RegistryPolicy.of(s).document),
    "RegistryPolicy.grant_downstream_cache": Call(
        lambda s: RegistryPolicy.of(s, registry_policy_scope=RegistryPolicyScope.V2).grant_downstream_cache,
        lambda s: {"account": OTHER},
    ),
    "RegistryPolicy.of": Call(lambda s: RegistryPolicy.of, lambda s: {"scope": s}),
    "RegistryPolicy.grant_statement": Call(
        lambda s: RegistryPolicy.of(s).grant_statement,
        lambda s: {
            "grantee": iam.AccountPrincipal(OTHER),
            "principal": iam.AccountPrincipal(OTHER),
            "actions": ["ecr:CreateRepository"],
            "resources": [REPOSITORIES],
        },
    ),
    "RegistryPolicy.scope_for": Call(lambda s: RegistryPolicy.of(s).scope_for, lambda s: {"grant_of": s}),
    "RepositoryCreationRole.__init__": Call(
        lambda s: RepositoryCreationRole,
        scoped(repository_arn=const(REPOSITORIES), replication=const(False), encryption_key=const(None)),
    ),
    "RepositoryCreationRole.shared": Call(
        lambda s: RepositoryCreationRole.shared,
        lambda s: {
            "template": template(s),
            "repository_arn": REPOSITORIES,
            "replication": False,
            "encryption_key": None,
        },
    ),
    "RepositoryCreationTemplate.__init__": Call(lambda s: RepositoryCreationTemplate, scoped(prefix=const("team"))),
    "RepositoryCreationTemplate.add_to_resource_policy": Call(
        lambda s: template(s).add_to_resource_policy,
        lambda s: {
            "statement": iam.PolicyStatement(principals=[iam.AccountPrincipal(OTHER)], actions=["ecr:BatchGetImage"])
        },
    ),
    "RepositoryCreationTemplate.adopt_repository_policy": Call(
        lambda s: template(s).adopt_repository_policy,
        lambda s: {"other": RepositoryCreationTemplate(s, "Other", prefix="other")},
    ),
    "RepositoryCreationTemplate.grant_pull": Call(lambda s: template(s).grant_pull, lambda s: {"grantee": role(s)}),
    "RepositoryCreationTemplate.repository_policy": Call(lambda s: template(s).repository_policy),
    "RepositorySettings.__init__": Call(lambda s: RepositorySettings, use=on_settings),
    "RepositorySettings.as_kwargs": Call(lambda s: RepositorySettings().as_kwargs),
    "RuleAttributes.__init__": Call(
        lambda s: RuleAttributes, lambda s: {"registry": UpstreamRegistry.QUAY}, use=on_import
    ),
    "RuleAttributes.from_json": Call(lambda s: RuleAttributes.from_json, lambda s: {"value": {"registry": "quay"}}),
    "RuleAttributes.to_json": Call(lambda s: RuleAttributes(UpstreamRegistry.QUAY).to_json),
    "RuleAttributes.upstream": Call(
        lambda s: RuleAttributes(UpstreamRegistry.QUAY).upstream, lambda s: {"prefix": "q"}
    ),
    **{
        f"Upstream.{name}": Call(lambda s, name=name: getattr(Upstream, name), use=on_rule, **options)
        for name, options in UPSTREAM_FACTORIES.items()
    },
    "Upstream.validate_for": Call(
        lambda s: Upstream.quay().validate_for, lambda s: {"rule": quay_rule(s), "prefix": "quay"}
    ),
    "UpstreamCredentials.bind": Call(lambda s: credentials().bind, lambda s: {"rule": quay_rule(s)}),
    "UpstreamCredentials.from_secret": Call(
        lambda s: UpstreamCredentials.from_secret,
        lambda s: {"secret": secretsmanager.Secret(s, "Secret", secret_name="ecr-pullthroughcache/hub")},
        use=on_credentials,
    ),
    "UpstreamCredentials.from_secret_complete_arn": Call(
        lambda s: UpstreamCredentials.from_secret_complete_arn, lambda s: {"arn": SECRET_ARN}, use=on_credentials
    ),
    "UpstreamCredentials.from_secret_name": Call(
        lambda s: UpstreamCredentials.from_secret_name,
        lambda s: {"name": "ecr-pullthroughcache/hub"},
        use=on_credentials,
    ),
    "UpstreamCredentials.new_secret": Call(
        lambda s: UpstreamCredentials.new_secret,
        scoped(name=const("hub"), username=const("u")),
        use=on_credentials,
    ),
    "WarmImage.__init__": Call(
        lambda s: WarmImage, lambda s: {"rule": quay_rule(s), "repository": "a/b", "tag": "v1"}, use=on_warming
    ),
}

#: Constructors that are not public, and arguments they would take: they fail in the library's format.
NOT_PUBLIC = {
    "Upstream.__init__": {"registry": UpstreamRegistry.QUAY, "url": "quay.io", "prefix": "quay"},
    "UpstreamCredentials.__init__": {"complete_arn": SECRET_ARN},
}


def _public_callables() -> dict[str, Callable[..., Any]]:
    """``Class.member`` -> function, for every exported class's constructor and public methods (inherited ones
    too, when the library defines them), factories and property setters."""
    found: dict[str, Callable[..., Any]] = {}
    for name in cdk_ecr_ptc.__all__:
        cls = getattr(cdk_ecr_ptc, name)
        if not inspect.isclass(cls) or issubclass(cls, str):  # constants and enums
            continue
        for klass in reversed(cls.__mro__):
            if not klass.__module__.startswith("cdk_ecr_ptc"):
                continue
            for member, value in vars(klass).items():
                if member != "__init__" and member.startswith("_"):
                    continue
                function = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
                if isinstance(value, property):
                    if value.fset is not None:
                        found[f"{name}.{member}"] = value.fset
                elif inspect.isfunction(function):
                    found[f"{name}.{member}"] = function
    return found


def _parameters(name: str) -> list[inspect.Parameter]:
    function = _public_callables()[name]
    return [p for p in inspect.signature(function).parameters.values() if p.name not in ("self", "cls")]


def _cases() -> list[tuple[str, str, Any]]:
    cases = []
    for name, call in CALLS.items():
        for parameter in _parameters(name):
            cases.append((name, parameter.name, WRONG))
            required = parameter.default is inspect.Parameter.empty and "None" not in str(parameter.annotation)
            if required or parameter.name in call.none_too:
                cases.append((name, parameter.name, None))
    return cases


def _stack() -> Stack:
    return Stack(App(), "Test", env=Environment(account=ACCOUNT, region=REGION))


def _invoke(name: str, stack: Stack, overrides: dict[str, Any]) -> None:
    call = CALLS[name]
    arguments = {**call.valid(stack), **overrides}
    result = call.target(stack)(**arguments)
    if call.use is not None:
        call.use(stack, result)
    stack.node.root.synth()


def test_every_public_callable_is_in_the_table():
    assert set(_public_callables()) - set(NOT_PUBLIC) == set(CALLS)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_valid_arguments_are_accepted(name):
    _invoke(name, _stack(), {})


@pytest.mark.parametrize(("name", "parameter", "value"), _cases(), ids=[f"{n}-{p}-{v!r}" for n, p, v in _cases()])
def test_a_wrong_type_fails_in_the_library_format(name, parameter, value):
    with pytest.raises(Exception) as error:  # noqa: PT011 - what is raised is checked below
        _invoke(name, _stack(), {parameter: value})

    message = str(error.value)
    assert isinstance(error.value, (ValueError, TypeError, RuntimeError)), f"{type(error.value).__name__}: {message}"
    if isinstance(error.value, RuntimeError):
        assert "ValidationFailedWithErrors" in message, message
    assert LIBRARY_FORMAT.search(message), f"{type(error.value).__name__}: {message}"
    assert f"got {value!r}" in message or f"got {type(value).__name__!r}" in message, message


@pytest.mark.parametrize("name", sorted(NOT_PUBLIC))
def test_constructors_that_are_not_public_say_which_factory_to_use(name):
    cls = getattr(cdk_ecr_ptc, name.split(".")[0])
    with pytest.raises(TypeError, match=r"^\[\w+\] the constructor is not public: got .*\. Use "):
        cls(**NOT_PUBLIC[name])
