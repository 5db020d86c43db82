"""The apps the oracle suite synthesizes: ``examples/app.py`` and a rich fixture app.

Each builder makes a fresh ``App`` (synthesis is one-shot) and returns the stacks and the
constructs the tests ask about.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from aws_cdk import App, Duration, Environment, PhysicalName, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from cdk_ecr_ptc import (
    PullThroughCache,
    RegistryPolicy,
    RegistryPolicyScope,
    RepositorySettings,
    Upstream,
    UpstreamCredentials,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def _cfn_lint_runner(region: str):
    """A cfn-lint runner for ``region``; loading its rules costs ~2 s, so it is built once."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner.cli import Runner

    return Runner(ConfigMixIn(regions=[region]))


def cfn_lint_errors(template: dict, region: str = "us-east-1") -> list[str]:
    """cfn-lint 1.58's error-level findings (``E...``) for a template dict."""
    return [
        str(match) for match in _cfn_lint_runner(region).validate_template(template) if match.rule.id.startswith("E")
    ]


CACHE_ACCOUNT, CACHE_REGION = "111122223333", "us-east-1"
OTHER_ACCOUNT = "222233334444"  # granted with AccountPrincipal
CONSUMER_ACCOUNT = "333344445555"  # holds a role defined in the app, in its own stack
STRANGER_ACCOUNT = "777788889999"  # granted nothing
ORG_MEMBER_ACCOUNT = "555566667777"
UPSTREAM_ACCOUNT, UPSTREAM_REGION = "999988887777", "eu-west-1"
#: Prefixes of the rich app's rules whose creation template tags repositories.
TAGGED_PREFIXES = ("quay", "docker-hub")
#: The brief's ``o-abc123`` is rejected by CDK (``^o-[a-z0-9]{10,32}$``), so a conforming id is used.
ORG_ID = "o-abc123defg"
USER_ARN = f"arn:aws:iam::{CACHE_ACCOUNT}:user/x"


def load_module(name: str) -> ModuleType:
    """Imports ``examples/<name>.py`` from the repository root, without running its ``main``."""
    spec = importlib.util.spec_from_file_location(f"cdk_ecr_ptc_example_{name}", REPO_ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_app(env: Environment | None = None, *, app: App | None = None) -> tuple[App, Stack]:
    """Synthesizable example app: the example stack, environment-agnostic unless ``env`` is given."""
    app = app or App()
    stack = load_module("app").PullThroughCacheStack(app, "EcrPullThroughCache", env=env)
    return app, stack


@dataclass
class RichApp:
    """The rich fixture app and the constructs whose permissions the tests check."""

    app: App
    cache_stack: Stack
    consumer_stack: Stack
    upstream_stack: Stack
    cache: PullThroughCache
    early_role: iam.Role  # cache.grant_pull before kubernetes was added
    late_role: iam.Role  # cache.grant_pull after every upstream was added
    quay_only: iam.Role  # rule("quay").grant_pull_through only
    hub_puller: iam.IRole  # an imported role, rule("docker-hub").grant_pull
    idle_role: iam.Role  # granted nothing; has an unrelated policy
    consumer_role: iam.Role  # a role of another account, in another stack of the app

    @property
    def stacks(self) -> list[Stack]:
        return [self.cache_stack, self.consumer_stack, self.upstream_stack]


def rich_app() -> RichApp:
    """Every kind of grantee, grants before and after ``add_upstream``, ECR-to-ECR with both sides, and
    creation templates declared before the grants (quay: tags), after them (docker-hub: tags) and as
    the ROOT fallback (no tags)."""
    app = App()
    stack = Stack(app, "Cache", env=Environment(account=CACHE_ACCOUNT, region=CACHE_REGION))
    consumer = Stack(app, "Consumer", env=Environment(account=CONSUMER_ACCOUNT, region=CACHE_REGION))
    upstream = Stack(app, "Upstream", env=Environment(account=UPSTREAM_ACCOUNT, region=UPSTREAM_REGION))

    hub = UpstreamCredentials.new_secret(stack, "Hub", name="docker-hub", username="u")
    cache = PullThroughCache(
        stack,
        "Cache",
        upstreams=[
            Upstream.ecr_public(),
            Upstream.quay(),
            Upstream.docker_hub(credentials=hub),
            Upstream.ecr(account=UPSTREAM_ACCOUNT, region=UPSTREAM_REGION),
            Upstream.ecr(
                account=UPSTREAM_ACCOUNT, region=UPSTREAM_REGION, prefix="team-a", upstream_repository_prefix="team-a"
            ),
        ],
        registry_policy_scope=RegistryPolicyScope.V2,
    )
    cache.add_repository_settings(RepositorySettings(resource_tags={"cache": "quay"}), prefix="quay")

    def role(id: str) -> iam.Role:
        return iam.Role(stack, id, assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))

    early_role, late_role, quay_only, idle_role = role("Early"), role("Late"), role("QuayOnly"), role("Idle")
    idle_role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::b/*"]))
    consumer_role = iam.Role(
        consumer,
        "Puller",
        assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
        role_name=PhysicalName.GENERATE_IF_NEEDED,
    )
    hub_puller = iam.Role.from_role_arn(stack, "HubPuller", f"arn:aws:iam::{CACHE_ACCOUNT}:role/hub-puller")

    cache.grant_pull(early_role)
    cache.grant_pull(iam.AccountPrincipal(OTHER_ACCOUNT))
    cache.grant_pull(iam.OrganizationPrincipal(ORG_ID))
    cache.grant_pull(iam.ArnPrincipal(USER_ARN))
    cache.grant_pull(consumer_role)
    cache.add_upstream(Upstream.kubernetes())  # gets every grant above
    cache.grant_pull(late_role)
    cache.rule("quay").grant_pull_through(quay_only)
    cache.rule("docker-hub").grant_pull(hub_puller)
    cache.add_repository_settings(RepositorySettings(resource_tags={"cache": "hub"}), prefix="docker-hub")
    cache.add_repository_settings(RepositorySettings(keep_last_images=10), prefix="ROOT")

    RegistryPolicy.of(upstream, registry_policy_scope=RegistryPolicyScope.V2).grant_downstream_cache(CACHE_ACCOUNT)
    return RichApp(
        app, stack, consumer, upstream, cache, early_role, late_role, quay_only, hub_puller, idle_role, consumer_role
    )


def catalog_app() -> tuple[App, list[Stack]]:
    """One rule for every upstream factory and every way of passing credentials, a ROOT rule, and
    creation templates: one with every setting, one with a lifecycle policy only."""
    app = App()
    stack = Stack(app, "Catalog", env=Environment(account=CACHE_ACCOUNT, region=CACHE_REGION))
    new = UpstreamCredentials.new_secret(stack, "Hub", name="docker-hub", username="u")
    by_name = UpstreamCredentials.from_secret_name("ecr-pullthroughcache/github")
    by_arn = UpstreamCredentials.from_secret_complete_arn(
        f"arn:aws:secretsmanager:{CACHE_REGION}:{CACHE_ACCOUNT}:secret:ecr-pullthroughcache/gitlab-AbC123"
    )
    cache = PullThroughCache(
        stack,
        "Cache",
        upstreams=[
            Upstream.ecr_public(),
            Upstream.kubernetes(),
            Upstream.quay(prefix="quay/io"),
            Upstream.docker_hub(credentials=new),
            Upstream.github(credentials=by_name),
            Upstream.gitlab(credentials=by_arn),
            Upstream.chainguard(credentials=new, prefix="cgr"),
            Upstream.azure(registry_name="myregistry", credentials=by_name),
            Upstream.ecr(
                account=UPSTREAM_ACCOUNT, region=UPSTREAM_REGION, prefix="team-a/", upstream_repository_prefix="team-a"
            ),
            Upstream.ecr(account=CACHE_ACCOUNT, region="us-west-2", prefix="ROOT"),
        ],
    )
    key = kms.Key.from_key_arn(
        stack, "Key", f"arn:aws:kms:{CACHE_REGION}:{CACHE_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    cache.add_repository_settings(
        RepositorySettings(
            description="every setting",
            keep_last_images=20,
            expire_untagged_after=Duration.days(7),
            image_tag_mutability=ecr.TagMutability.MUTABLE_WITH_EXCLUSION,
            image_tag_mutability_exclusion_filters=["release-*", "v1.0"],
            encryption_key=key,
            resource_tags={"team": "platform", "cost-center": "42"},
        ),
        prefix="quay/io",
    )
    cache.add_repository_settings(RepositorySettings(keep_last_images=5), prefix="kubernetes")
    cache.grant_pull(iam.AccountPrincipal(OTHER_ACCOUNT))
    cache.grant_pull(iam.OrganizationPrincipal(ORG_ID))
    cache.grant_pull(iam.Role(stack, "Puller", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")))
    return app, [stack]
