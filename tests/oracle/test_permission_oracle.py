"""Permission oracle: the synthesized policies, evaluated by principalmapper, allow exactly the grants.

Each check reads only templates (see ``oracle.py``); the registry policy is taken on scope V2.
"""

from __future__ import annotations

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from oracle import (
    AUTH_TOKEN,
    DOWNSTREAM_CACHE,
    ECR_TO_ECR_ROLE,
    ECR_TO_ECR_WRITE,
    FIRST_PULL,
    PULL,
    PULL_THROUGH,
    TAG_RESOURCE,
    TOKEN_ONLY,
    AppOracle,
    UnmodelledPolicy,
    external,
    repository_arn,
    sample_repository,
)
from oracle_apps import (
    CACHE_ACCOUNT,
    CACHE_REGION,
    CONSUMER_ACCOUNT,
    ORG_ID,
    ORG_MEMBER_ACCOUNT,
    OTHER_ACCOUNT,
    STRANGER_ACCOUNT,
    TAGGED_PREFIXES,
    UPSTREAM_ACCOUNT,
    UPSTREAM_REGION,
    USER_ARN,
    example_app,
    load_module,
    rich_app,
)

from cdk_ecr_ptc import PullThroughCache, RepositorySettings, Upstream

PREFIXES = ("ecr-public", "quay", "docker-hub", "ecr", "team-a", "kubernetes")


def cache_repo(prefix: str, image: str = "some/image") -> str:
    return repository_arn(CACHE_ACCOUNT, CACHE_REGION, sample_repository(prefix, image))


@pytest.fixture(scope="module")
def rich():
    return rich_app()


@pytest.fixture(scope="module")
def oracle(rich):
    return AppOracle(rich.stacks)


def assert_pulls(oracle, principal, prefixes, actions=None):
    """``principal`` may call ``actions`` (default: all a first pull needs there) on each rule's repositories."""
    for prefix in prefixes:
        arn = cache_repo(prefix)
        assert oracle.denied(principal, actions or oracle.first_pull_actions(arn), arn) == [], (principal.label, prefix)


def assert_denied(oracle, principal, prefixes, actions=FIRST_PULL + (TAG_RESOURCE,)):
    for prefix in prefixes:
        assert oracle.allowed(principal, actions, cache_repo(prefix)) == [], (principal.label, prefix)


# ---- same-account identity grants --------------------------------------------------------------


def test_cache_grant_before_add_upstream_covers_later_rules(rich, oracle):
    principal = oracle.principal_of(rich.early_role)
    assert_pulls(oracle, principal, PREFIXES)
    assert oracle.allows(principal, AUTH_TOKEN, "*")


def test_cache_grant_after_add_upstream_covers_every_rule(rich, oracle):
    principal = oracle.principal_of(rich.late_role)
    assert_pulls(oracle, principal, PREFIXES)
    assert oracle.allows(principal, AUTH_TOKEN, "*")


def test_rule_grant_pull_through_allows_only_pull_through_on_that_rule(rich, oracle):
    principal = oracle.principal_of(rich.quay_only)
    assert_pulls(oracle, principal, ["quay"], PULL_THROUGH + (TAG_RESOURCE,))
    assert_denied(oracle, principal, ["quay"], PULL)
    assert_denied(oracle, principal, set(PREFIXES) - {"quay"})
    assert not oracle.allows(principal, AUTH_TOKEN, "*")


def test_rule_grant_to_imported_role_covers_only_that_rule(rich, oracle):
    principal = oracle.principal_of(rich.hub_puller)
    assert_pulls(oracle, principal, ["docker-hub"])
    assert_denied(oracle, principal, set(PREFIXES) - {"docker-hub"})


def test_role_granted_nothing_is_denied_everywhere(rich, oracle):
    principal = oracle.principal_of(rich.idle_role)
    assert_denied(oracle, principal, PREFIXES, FIRST_PULL + (TAG_RESOURCE, "ecr:BatchCheckLayerAvailability"))
    assert not oracle.allows(principal, AUTH_TOKEN, "*")


def test_grants_stay_inside_the_cache_registry(rich, oracle):
    principal = oracle.principal_of(rich.late_role)
    elsewhere = [
        repository_arn(CACHE_ACCOUNT, CACHE_REGION, "not-a-rule/some/image"),
        repository_arn(CACHE_ACCOUNT, "eu-west-1", "quay/some/image"),
        repository_arn(OTHER_ACCOUNT, CACHE_REGION, "quay/some/image"),
    ]
    for arn in elsewhere:
        assert oracle.allowed(principal, FIRST_PULL, arn) == [], arn


# ---- principals reached through the registry policy --------------------------------------------


def test_same_account_user_by_arn_is_allowed_by_the_registry_policy_alone(oracle):
    user = external(USER_ARN, TOKEN_ONLY)
    assert_pulls(oracle, user, PREFIXES)
    assert_denied(oracle.without_registry_principal(USER_ARN), user, PREFIXES)


def test_other_account_is_allowed_and_needs_its_registry_statement(oracle):
    their_role = external(f"arn:aws:iam::{OTHER_ACCOUNT}:role/their-puller")
    assert_pulls(oracle, their_role, PREFIXES)
    assert_denied(oracle.without_registry_principal(f"arn:aws:iam::{OTHER_ACCOUNT}:root"), their_role, PREFIXES)


def test_account_granted_nothing_is_denied_everywhere(oracle):
    assert_denied(oracle, external(f"arn:aws:iam::{STRANGER_ACCOUNT}:role/anyone"), PREFIXES)


def test_organization_member_is_allowed_and_other_organizations_are_denied(oracle):
    arn = f"arn:aws:iam::{ORG_MEMBER_ACCOUNT}:role/member"
    assert_pulls(oracle, external(arn, org_id=ORG_ID), PREFIXES)
    assert_denied(oracle, external(arn, org_id="o-zzzzzzzzzz"), PREFIXES)
    assert_denied(oracle, external(arn), PREFIXES)
    assert_denied(oracle.without_registry_principal("*"), external(arn, org_id=ORG_ID), PREFIXES)


def test_role_of_another_account_in_the_app_gets_both_halves(rich, oracle):
    principal = oracle.principal_of(rich.consumer_role)
    assert principal.account == CONSUMER_ACCOUNT
    assert_pulls(oracle, principal, PREFIXES)
    assert oracle.allows(principal, AUTH_TOKEN, "*")
    assert_denied(oracle.without_registry_principal(principal.node.arn), principal, PREFIXES)


def test_role_of_another_account_without_its_identity_policy_is_denied(rich, oracle):
    bare = external(oracle.principal_of(rich.consumer_role).node.arn, {"Statement": []})
    assert_denied(oracle, bare, PREFIXES)


# ---- ECR-to-ECR ---------------------------------------------------------------------------------


def upstream_role(rich, oracle, prefix):
    return oracle.principal_of(rich.cache.rule(prefix).role)


def test_ecr_to_ecr_role_is_trusted_by_the_pull_through_cache_service(rich, oracle):
    trust = [p for p in oracle.policies if p.kind == "trust" and "UpstreamRole" in p.where]
    assert len(trust) == 2
    for source in trust:
        assert source.document["Statement"] == [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "pullthroughcache.ecr.amazonaws.com"},
            }
        ]


def test_ecr_to_ecr_role_reads_upstream_and_writes_its_own_prefix(rich, oracle):
    role = upstream_role(rich, oracle, "ecr")
    upstream_repo = repository_arn(UPSTREAM_ACCOUNT, UPSTREAM_REGION, "any/image")
    assert oracle.denied(role, DOWNSTREAM_CACHE, upstream_repo) == []
    assert oracle.denied(role, ECR_TO_ECR_WRITE, cache_repo("ecr")) == []
    assert oracle.allowed(role, DOWNSTREAM_CACHE, cache_repo("ecr")) == []  # read on the upstream only
    assert oracle.allows(role, AUTH_TOKEN, "*")


def test_ecr_to_ecr_role_is_denied_elsewhere(rich, oracle):
    role = upstream_role(rich, oracle, "ecr")
    for arn in [
        cache_repo("quay"),
        cache_repo("team-a"),
        repository_arn(CACHE_ACCOUNT, CACHE_REGION, "x/y"),
        repository_arn(OTHER_ACCOUNT, UPSTREAM_REGION, "any/image"),
        repository_arn(UPSTREAM_ACCOUNT, CACHE_REGION, "any/image"),
    ]:
        assert oracle.allowed(role, ECR_TO_ECR_ROLE, arn) == [], arn


def test_ecr_to_ecr_role_with_upstream_prefix_reads_only_that_prefix(rich, oracle):
    role = upstream_role(rich, oracle, "team-a")
    assert oracle.denied(role, DOWNSTREAM_CACHE, repository_arn(UPSTREAM_ACCOUNT, UPSTREAM_REGION, "team-a/app")) == []
    assert oracle.allowed(role, DOWNSTREAM_CACHE, repository_arn(UPSTREAM_ACCOUNT, UPSTREAM_REGION, "team-b/app")) == []
    assert oracle.denied(role, ECR_TO_ECR_WRITE, cache_repo("team-a")) == []
    assert oracle.allowed(role, ECR_TO_ECR_ROLE, cache_repo("ecr")) == []


def test_ecr_to_ecr_role_needs_the_upstream_registry_statement(rich, oracle):
    role = upstream_role(rich, oracle, "ecr")
    without = oracle.without_registry_principal(f"arn:aws:iam::{CACHE_ACCOUNT}:root")
    assert without.allowed(role, DOWNSTREAM_CACHE, repository_arn(UPSTREAM_ACCOUNT, UPSTREAM_REGION, "a/b")) == []


def test_upstream_registry_allows_only_the_downstream_account(oracle):
    stranger = external(f"arn:aws:iam::{STRANGER_ACCOUNT}:role/anyone")
    assert oracle.allowed(stranger, DOWNSTREAM_CACHE, repository_arn(UPSTREAM_ACCOUNT, UPSTREAM_REGION, "a/b")) == []


# ---- creation templates ------------------------------------------------------------------------


def test_tagging_templates_make_first_pulls_need_tag_resource(oracle):
    assert {p for p in PREFIXES if TAG_RESOURCE in oracle.first_pull_actions(cache_repo(p))} == set(TAGGED_PREFIXES)


def test_under_v1_other_accounts_pull_through_the_registry_policy_and_the_rule_template():
    """Scope V1: the registry policy allows the pull-through half, the rule's template the pulls."""
    app = App()
    stack = Stack(app, "Cache", env=Environment(account=CACHE_ACCOUNT, region=CACHE_REGION))
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(), Upstream.ecr_public()])
    cache.add_repository_settings(RepositorySettings(keep_last_images=5), prefix="ROOT")
    cache.rule("quay").grant_pull(iam.AccountPrincipal(OTHER_ACCOUNT))
    oracle = AppOracle([stack])
    their = external(f"arn:aws:iam::{OTHER_ACCOUNT}:role/their-puller")

    assert oracle.denied(their, FIRST_PULL, cache_repo("quay")) == []
    assert oracle.denied(their, PULL, cache_repo("quay"), existing=True) == []
    assert oracle.allowed(their, FIRST_PULL, cache_repo("ecr-public"), existing=True) == []
    without = oracle.without_registry_principal(f"arn:aws:iam::{OTHER_ACCOUNT}:root")
    assert without.allowed(their, PULL_THROUGH, cache_repo("quay")) == []
    registry = [p for p in oracle.policies if p.kind == "registry"]
    assert {a for p in registry for s in p.document["Statement"] for a in _listed(s["Action"])} <= set(PULL_THROUGH)


def _listed(value):
    return value if isinstance(value, list) else [value]


def test_tagging_templates_share_one_role_that_creates_and_tags_only_their_prefixes(oracle):
    (arn,) = [arn for arn in oracle.role_arns() if "Template" in arn]  # one per stack and set of needs
    trusts = [p for p in oracle.policies if p.kind == "trust" and "Template" in p.where]
    assert trusts and all(t.document["Statement"][0]["Principal"] == {"Service": "ecr.amazonaws.com"} for t in trusts)
    role = oracle.principal(arn)
    assert_pulls(oracle, role, TAGGED_PREFIXES, ("ecr:CreateRepository", TAG_RESOURCE))
    assert_denied(oracle, role, set(PREFIXES) - set(TAGGED_PREFIXES), ("ecr:CreateRepository", TAG_RESOURCE))


# ---- no wildcard -------------------------------------------------------------------------------


def test_no_ecr_action_but_the_token_is_granted_on_every_repository(oracle):
    assert oracle.wildcard_ecr_grants() == []


@pytest.mark.parametrize(
    "env", [None, Environment(account=CACHE_ACCOUNT, region=CACHE_REGION)], ids=["agnostic", "env"]
)
def test_example_app_grants_exactly_its_pullers(env):
    app, stack = example_app(env)
    oracle = AppOracle([stack])
    account = CACHE_ACCOUNT if env else "123456789012"
    prefixes = ("ecr-public", "kubernetes", "quay", "docker-hub")
    [execution_role] = [arn for arn in oracle.role_arns() if "ExecutionRole" in arn]
    ci = external(load_module("app").CI_PULLER_ROLE_ARN)
    for prefix in prefixes:
        repo = repository_arn(account, CACHE_REGION, sample_repository(prefix))
        assert oracle.denied(oracle.principal(execution_role), FIRST_PULL, repo) == [], prefix
        assert oracle.denied(ci, FIRST_PULL, repo) == [], prefix
        assert oracle.allowed(external("arn:aws:iam::444455556666:role/not-the-ci-role"), FIRST_PULL, repo) == []
    assert oracle.allows(oracle.principal(execution_role), AUTH_TOKEN, "*")
    assert oracle.wildcard_ecr_grants() == []


# ---- the oracle itself is not vacuous ---------------------------------------------------------


def test_oracle_flags_wildcard_grants():
    app = App()
    stack = Stack(app, "S", env=Environment(account=CACHE_ACCOUNT, region=CACHE_REGION))
    role = iam.Role(stack, "R", assumed_by=iam.AccountRootPrincipal())
    role.add_to_policy(iam.PolicyStatement(actions=["ecr:BatchGetImage"], resources=["*"]))
    role.add_to_policy(iam.PolicyStatement(actions=["ecr:Get*"], resources=["arn:aws:ecr:*:*:repository/*"]))
    role.add_to_policy(iam.PolicyStatement(actions=[AUTH_TOKEN, "s3:GetObject"], resources=["*"]))
    assert len(AppOracle([stack]).wildcard_ecr_grants()) == 2


def test_oracle_applies_creation_template_policies_and_tags():
    app = App()
    stack = Stack(app, "S", env=Environment(account=CACHE_ACCOUNT, region=CACHE_REGION))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                "Action": list(PULL),
                "Resource": "*",
            }
        ],
    }
    ecr.CfnRepositoryCreationTemplate(
        stack,
        "T",
        prefix="quay",
        applied_for=["PULL_THROUGH_CACHE"],
        repository_policy=stack.to_json_string(policy),
        resource_tags=[{"key": "k", "value": "v"}],
    )
    oracle = AppOracle([stack])
    their = external(f"arn:aws:iam::{OTHER_ACCOUNT}:role/r")
    assert oracle.first_pull_actions(cache_repo("quay")) == FIRST_PULL + (TAG_RESOURCE,)
    assert oracle.first_pull_actions(cache_repo("ecr-public")) == FIRST_PULL
    assert oracle.denied(their, PULL, cache_repo("quay")) == []  # the first pull creates it with the policy
    assert oracle.denied(their, PULL, cache_repo("quay"), existing=True) == []
    assert oracle.allowed(their, PULL, cache_repo("docker-hub"), existing=True) == []


def test_oracle_reads_managed_policies_and_refuses_unknown_ones():
    app = App()
    stack = Stack(app, "S", env=Environment(account=CACHE_ACCOUNT, region=CACHE_REGION))
    managed = iam.ManagedPolicy(
        stack,
        "M",
        statements=[
            iam.PolicyStatement(actions=["ecr:BatchGetImage"], resources=[cache_repo("quay").rsplit("/", 2)[0] + "/*"])
        ],
    )
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal(), managed_policies=[managed])
    aws_managed = iam.Role(
        stack,
        "AwsManaged",
        assumed_by=iam.AccountRootPrincipal(),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonEC2ContainerRegistryPullOnly")],
    )
    oracle = AppOracle([stack])
    assert oracle.denied(oracle.principal_of(reader), ["ecr:BatchGetImage"], cache_repo("quay")) == []
    assert oracle.allowed(oracle.principal_of(reader), ["ecr:BatchGetImage"], cache_repo("ecr")) == []
    with pytest.raises(UnmodelledPolicy):
        oracle.allows(oracle.principal_of(aws_managed), "ecr:BatchGetImage", cache_repo("quay"))
