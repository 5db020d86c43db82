"""Synth cost regressions, counted rather than timed: jsii round trips per grant, and what an import loads.

Time depends on the machine and its load; the number of requests the library sends to the jsii kernel
(each one a message to Node.js and its answer) and the modules it imports do not. ``scripts/bench``
measures the time. The counter wraps the kernel provider's methods in this test process only.
"""

from __future__ import annotations

import collections
import contextlib
import subprocess
import sys
from collections.abc import Iterator

import jsii
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from cdk_ecr_ptc import PullThroughCache, RegistryPolicyScope, RepositorySettings, Upstream

#: The requests of a jsii kernel provider; ``sync_complete`` answers a callback from Node.js into Python.
KERNEL_REQUESTS = ("create", "get", "set", "sget", "sset", "invoke", "sinvoke", "complete", "sync_complete")


@contextlib.contextmanager
def round_trips() -> Iterator[collections.Counter[str]]:
    """Counts the requests sent to the jsii kernel inside the block, by kind."""
    provider = jsii.kernel.provider
    counts: collections.Counter[str] = collections.Counter()
    originals = {name: getattr(provider, name) for name in KERNEL_REQUESTS}

    def counting(name: str):  # type: ignore[no-untyped-def]
        def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            counts[name] += 1
            return originals[name](*args, **kwargs)

        return counted

    for name in KERNEL_REQUESTS:
        setattr(provider, name, counting(name))
    try:
        yield counts
    finally:
        for name in KERNEL_REQUESTS:
            delattr(provider, name)  # the instance attribute; the class's method shows again


def cache(rules: int = 5) -> tuple[Stack, PullThroughCache]:
    stack = Stack(
        App(builtin_cloud_formation_validation=False),
        "Cost",
        env=Environment(account="111122223333", region="us-east-1"),
    )
    factories = (Upstream.ecr_public, Upstream.quay, Upstream.kubernetes)
    return stack, PullThroughCache(
        stack,
        "Cache",
        upstreams=[factories[i % len(factories)](prefix=f"p{i:02d}") for i in range(rules)],
        registry_policy_scope=RegistryPolicyScope.V2,
    )


def test_the_counter_counts():
    with round_trips() as counts:
        account = iam.AccountPrincipal("222233334444").account_id
    assert account == "222233334444" and counts["create"] == 1 and counts["get"] == 1
    assert "get" not in vars(jsii.kernel.provider)


def test_an_account_grant_costs_three_round_trips_and_one_callback():
    """The account id, the grant (CDK builds its statement), and the registry policy taking the statement (a
    callback; the policy's account is CDK's own, asked without one). The engine before this test made 12 (it read
    the account id 5 times), then 4 (it built the statement in a call of its own)."""
    stack, pull_cache = cache()
    principals = [iam.AccountPrincipal(str(200_000_000_000 + i)) for i in range(10)]
    pull_cache.grant_pull(principals[0])  # defines the registry policy

    with round_trips() as counts:
        grants = [pull_cache.grant_pull(principal) for principal in principals[1:]]

    assert sum(counts.values()) <= 3 * len(grants), counts
    assert counts["sync_complete"] <= len(grants), counts
    for grant in grants:
        assert grant.success and grant.resource_statement is not None
        grant.assert_success()


def role_grant_round_trips(*, tagging: bool) -> float:
    """The mean jsii round trips of granting a role on a cache of five rules (after a first grant, which asks what
    is asked once per process or stack), in an app with or without a creation template that tags."""
    stack, pull_cache = cache()
    if tagging:
        pull_cache.add_repository_settings(RepositorySettings(resource_tags={"team": "a"}), prefix="p00")
    roles = [
        iam.Role(stack, f"Puller{i}", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")) for i in range(11)
    ]
    pull_cache.grant_pull(roles[0])

    with round_trips() as counts:
        grants = [pull_cache.grant_pull(role) for role in roles[1:]]

    for grant in grants:
        assert grant.success and grant.principal_statement is not None
        grant.assert_success()
    return sum(counts.values()) / len(grants)


def test_a_role_grant_costs_six_round_trips_in_an_app_without_a_tagging_template():
    """Two identity statements (pull, GetAuthorizationToken), their combined grant, the role's account, and
    the cdk-nag acknowledgments on its policy (two calls, where cdk-nag is loaded; see test_nag_deferred.py). The
    engine before this test made 9.5 on average."""
    assert role_grant_round_trips(tagging=False) <= 6


def test_a_role_grant_costs_thirteen_round_trips_in_an_app_with_a_tagging_template():
    """Seven more than without one, for the ``ecr:TagResource`` that follows the templates at synth (issue 11
    §5-§6): the lazy action folded into the pull statement, and the remainder statement with its two lazy lists
    (two calls per lazy value, one for the statement). Their values are produced at synth."""
    assert role_grant_round_trips(tagging=True) <= 13


def test_rendering_a_registry_policy_reads_its_statements_in_one_call():
    def synth_round_trips(grantees: int) -> int:
        stack, pull_cache = cache()
        for i in range(grantees):
            pull_cache.grant_pull(iam.AccountPrincipal(str(200_000_000_000 + i)))
        with round_trips() as counts:
            Template.from_stack(stack)
        return sum(counts.values())

    assert synth_round_trips(40) == synth_round_trips(10)


def test_a_rule_costs_two_round_trips():
    """The rule's construct and its CfnPullThroughCacheRule; its stack's facts come from its parent."""

    def build_round_trips(rules: int) -> int:
        with round_trips() as counts:
            cache(rules)
        return sum(counts.values())

    assert build_round_trips(15) - build_round_trips(5) <= 2 * 10


def test_a_cache_with_grants_imports_no_module_it_does_not_use():
    """aws_secretsmanager (which brings in aws_ec2), aws_lambda and aws_logs load only when a rule has
    credentials or a custom resource is defined: importing them costs about 0.2 s per process. What
    aws_ecr and aws_iam load themselves (aws_events) is the floor."""
    script = """
import sys
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ecr, aws_iam as iam
def loaded():
    return {m for m in sys.modules if m.startswith("aws_cdk.aws_") and "." not in m[len("aws_cdk."):]}
floor = loaded()
from cdk_ecr_ptc import PullThroughCache, Upstream
stack = Stack(App(), "S", env=Environment(account="111122223333", region="us-east-1"))
cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(), Upstream.kubernetes()])
cache.grant_pull(iam.AccountPrincipal("222233334444"))
cache.grant_pull(iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")))
print(" ".join(sorted(loaded() - floor)))
"""
    extra = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert extra == []


def test_partitions_agree_with_aws_cdk_lib_for_every_region_it_knows():
    from aws_cdk.region_info import RegionInfo

    from cdk_ecr_ptc._env import partition_of, url_suffix_of

    regions = RegionInfo.regions
    assert len(regions) > 40
    for region in regions:
        assert (partition_of(region.name), url_suffix_of(region.name)) == (region.partition, region.domain_suffix)


def test_the_partition_of_a_region_is_known_without_asking_aws_cdk_lib():
    """RegionInfo's facts table costs about 0.1 s of Node.js time to load, in every process that asks."""
    script = """
import jsii
from cdk_ecr_ptc._env import partition_of, url_suffix_of
calls = []
for name in ("sinvoke", "sget", "get", "invoke", "create"):
    method = getattr(jsii.kernel.provider, name)
    setattr(jsii.kernel.provider, name, lambda *a, _m=method, _n=name, **k: calls.append(_n) or _m(*a, **k))
print(partition_of("eu-west-3"), url_suffix_of("cn-north-1"), partition_of("us-gov-west-1"), len(calls))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["aws", "amazonaws.com.cn", "aws-us-gov", "0"]


def test_acknowledgments_are_recorded_as_validations_acknowledge_records_them():
    """One metadata entry per grant instead of one per ARN, with the same rule IDs and reasons, on the same
    construct, in a concrete and an environment-agnostic stack (ARNs with tokens)."""
    import cdk_nag  # noqa: F401  # the acknowledgments are written at the grant where cdk-nag is loaded
    from aws_cdk import Acknowledgment, Validations

    from cdk_ecr_ptc._nag import REPOSITORY_WILDCARD_REASON, nag_form

    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    for env in (Environment(account="111122223333", region="us-east-1"), None):
        stack = Stack(App(), "Acks", env=env)
        pull_cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(), Upstream.kubernetes()])
        ours = iam.Role(stack, "Ours", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
        reference = iam.Role(stack, "Reference", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
        pull_cache.grant_pull(ours)
        Validations.of(reference).acknowledge(
            *(
                Acknowledgment(
                    id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_form(stack, rule.repository_arn_pattern)}]",
                    reason=REPOSITORY_WILDCARD_REASON,
                )
                for rule in pull_cache.rules
            )
        )

        def recorded(role: iam.Role) -> dict[str, str]:
            return {k: v for entry in role.node.metadata if entry.type == key for k, v in entry.data.items()}

        assert recorded(ours) == recorded(reference) and len(recorded(ours)) == 2
        assert len([entry for entry in ours.node.metadata if entry.type == key]) == 1
