"""Property-based fuzzing: random valid configurations synthesize, lint clean and grant exactly what was
asked; random invalid prefixes are rejected with a ``ValueError`` naming the construct path.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

import pytest
from aws_cdk import App, Environment, PhysicalName, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from oracle import (
    AGNOSTIC_ACCOUNT,
    AGNOSTIC_REGION,
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
    Principal,
    covers,
    external,
    repository_arn,
    sample_repository,
)
from oracle_apps import CACHE_ACCOUNT, CACHE_REGION, UPSTREAM_ACCOUNT, UPSTREAM_REGION, cfn_lint_errors

from cdk_ecr_ptc import (
    PullThroughCache,
    PullThroughCacheRule,
    RegistryPolicy,
    RegistryPolicyScope,
    RepositorySettings,
    Upstream,
    UpstreamCredentials,
)

#: EcrRepositoryPrefix of the CloudFormation schema and the ECR API (FACTS §1.1), written out here.
PREFIX = re.compile(r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*/?|ROOT)$")
MAX_REGISTRY_POLICY = 10_240
#: CI explores the same examples every run (no flaky gate); elsewhere each run explores new ones.
#: FUZZ_EXAMPLES=500 explores longer.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    **({"derandomize": True, "database": None} if os.environ.get("CI") else {}),
)


def valid_prefix(value: str) -> bool:
    return 2 <= len(value) <= 30 and PREFIX.fullmatch(value) is not None


# ---- strategies ---------------------------------------------------------------------------------

_alnum = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=5)
_component = st.builds(
    lambda head, tail: head + "".join(s + a for s, a in tail),
    _alnum,
    st.lists(st.tuples(st.sampled_from([".", "_", "__", "-", "---"]), _alnum), max_size=2),
)
prefixes = st.one_of(
    st.just("ROOT"),
    st.builds(
        lambda parts, slash: "/".join(parts) + slash,
        st.lists(_component, min_size=1, max_size=3),
        st.sampled_from(["", "/"]),
    ),
).filter(valid_prefix)

UPSTREAMS = (
    "ecr-public",
    "kubernetes",
    "quay",
    "docker-hub",
    "github",
    "gitlab",
    "chainguard",
    "azure",
    "ecr",
    "ecr-prefixed",
    "ecr-same-account",
)
GRANTEES = ("role", "user", "imported-role", "arn-user", "account", "organization", "arn-other-role", "consumer-role")


@dataclass
class Grant:
    where: str  # "cache-before" (before the later upstreams are added), "cache-after", "rule"
    pull: bool  # grant_pull, else grant_pull_through
    rule: int  # index of the rule for "rule" grants


@dataclass
class Config:
    agnostic: bool
    upstreams: list[tuple[str, str]]  # (kind, prefix)
    initial: int  # upstreams passed to the constructor; the rest go through add_upstream
    grantees: list[tuple[str, list[Grant]]] = field(default_factory=list)
    # Repository settings (creation templates): None, "tags" (needs ecr:TagResource) or "plain".
    cache_settings: str | None = None  # for every rule, given to the constructor
    added_settings: list[str | None] = field(default_factory=list)  # add_upstream(..., repository_settings)
    root_settings: str | None = None  # cache.add_repository_settings(prefix="ROOT"), when no rule is ROOT
    root_after_grants: bool = False


@st.composite
def configs(draw) -> Config:
    agnostic = draw(st.booleans())
    chosen = draw(st.lists(prefixes, min_size=1, max_size=5, unique_by=lambda p: p.rstrip("/")))
    upstreams = []
    for prefix in chosen:
        kind = draw(st.sampled_from(UPSTREAMS))
        if prefix == "ROOT" and kind not in ("ecr", "ecr-same-account"):
            kind = "ecr"  # the library allows ROOT only for ECR upstreams
        upstreams.append((kind, prefix))
    grants = st.lists(
        st.builds(
            Grant,
            st.sampled_from(["cache-before", "cache-after", "rule"]),
            st.booleans(),
            st.integers(0, len(upstreams) - 1),
        ),
        min_size=1,
        max_size=2,
    )
    grantees = draw(st.lists(st.tuples(st.sampled_from(GRANTEES), grants), max_size=5))
    if agnostic:  # cross-environment roles need a concrete environment
        grantees = [("account" if k in ("consumer-role", "imported-role") else k, g) for k, g in grantees]
    initial = draw(st.integers(0, len(upstreams)))
    choice = st.sampled_from([None, "tags", "plain"])
    has_root = any(prefix == "ROOT" for _, prefix in upstreams)
    return Config(
        agnostic,
        upstreams,
        initial,
        grantees,
        draw(choice),
        [draw(choice) for _ in upstreams[initial:]],
        None if has_root else draw(choice),
        draw(st.booleans()),
    )


def settings_of(kind: str | None) -> RepositorySettings | None:
    return {
        None: None,
        "tags": RepositorySettings(resource_tags={"cache": "fuzz"}),
        "plain": RepositorySettings(keep_last_images=5),
    }[kind]


# ---- building -----------------------------------------------------------------------------------


def make_upstream(stack: Stack, index: int, kind: str, prefix: str) -> Upstream:
    def creds() -> UpstreamCredentials:
        if index % 2:
            return UpstreamCredentials.from_secret_name(f"ecr-pullthroughcache/n{index}")
        return UpstreamCredentials.new_secret(stack, f"Creds{index}", name=f"n{index}", username="u")

    if kind in ("ecr-public", "kubernetes", "quay"):
        return {"ecr-public": Upstream.ecr_public, "kubernetes": Upstream.kubernetes, "quay": Upstream.quay}[kind](
            prefix=prefix
        )
    if kind in ("docker-hub", "github", "gitlab", "chainguard"):
        return {
            "docker-hub": Upstream.docker_hub,
            "github": Upstream.github,
            "gitlab": Upstream.gitlab,
            "chainguard": Upstream.chainguard,
        }[kind](credentials=creds(), prefix=prefix)
    if kind == "azure":
        return Upstream.azure(registry_name=f"registry{index}", credentials=creds(), prefix=prefix)
    account = CACHE_ACCOUNT if kind == "ecr-same-account" else UPSTREAM_ACCOUNT
    return Upstream.ecr(
        account=account,
        region=UPSTREAM_REGION,
        prefix=prefix,
        upstream_repository_prefix="team-a" if kind == "ecr-prefixed" else None,
    )


@dataclass
class Built:
    app: App
    stacks: list[Stack]
    cache: PullThroughCache
    account: str
    region: str
    pullers: list[tuple[str, object, list[Grant]]]  # (kind, oracle Principal or role/user construct, grants)


def build(config: Config) -> Built:
    app = App()
    env = None if config.agnostic else Environment(account=CACHE_ACCOUNT, region=CACHE_REGION)
    stack = Stack(app, "Cache", env=env)
    stacks = [stack]
    account, region = (AGNOSTIC_ACCOUNT, AGNOSTIC_REGION) if config.agnostic else (CACHE_ACCOUNT, CACHE_REGION)
    upstreams = [make_upstream(stack, i, kind, prefix) for i, (kind, prefix) in enumerate(config.upstreams)]
    cache = PullThroughCache(
        stack, "Cache", upstreams=upstreams[: config.initial], repository_settings=settings_of(config.cache_settings)
    )

    consumer = None
    pullers = []
    for n, (kind, grants) in enumerate(config.grantees):
        if kind == "role":
            grantee = target = iam.Role(stack, f"Role{n}", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
        elif kind == "user":
            grantee = target = iam.User(stack, f"User{n}")
        elif kind == "imported-role":
            grantee = target = iam.Role.from_role_arn(stack, f"Imported{n}", f"arn:aws:iam::{account}:role/imp{n}")
        elif kind == "consumer-role":
            consumer = consumer or Stack(app, "Consumer", env=Environment(account="333344445555", region=region))
            grantee = target = iam.Role(
                consumer,
                f"Role{n}",
                assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
                role_name=PhysicalName.GENERATE_IF_NEEDED,
            )
        elif kind == "arn-user":
            grantee = iam.ArnPrincipal(f"arn:aws:iam::{account}:user/u{n}")
            target = external(grantee.arn, TOKEN_ONLY)
        elif kind == "account":
            other = f"2222333344{n:02d}"
            grantee, target = iam.AccountPrincipal(other), external(f"arn:aws:iam::{other}:role/theirs")
        elif kind == "organization":
            org = f"o-fuzzorg{n:04d}"
            grantee = iam.OrganizationPrincipal(org)
            target = external(f"arn:aws:iam::55556666{n:04d}:role/member", org_id=org)
        else:  # arn-other-role
            grantee = iam.ArnPrincipal(f"arn:aws:iam::4444555566{n:02d}:role/r{n}")
            target = external(grantee.arn)
        pullers.append((kind, grantee, target, grants))

    def apply(where: str) -> None:
        for _, grantee, _, grants in pullers:
            for grant in grants:
                if grant.where == where == "rule":
                    rule = cache.rules[grant.rule]
                    rule.grant_pull(grantee) if grant.pull else rule.grant_pull_through(grantee)
                elif grant.where == where:
                    cache.grant_pull(grantee) if grant.pull else cache.grant_pull_through(grantee)

    def root_template() -> None:
        if config.root_settings is not None:
            cache.add_repository_settings(settings_of(config.root_settings), prefix="ROOT")

    if not config.root_after_grants:
        root_template()
    apply("cache-before")
    for upstream, chosen in zip(upstreams[config.initial :], config.added_settings, strict=True):
        cache.add_upstream(upstream, repository_settings=settings_of(chosen))
    apply("cache-after")
    apply("rule")
    if config.root_after_grants:
        root_template()
    if consumer is not None:
        stacks.append(consumer)
    if not config.agnostic:
        upstream_stack = Stack(app, "Upstream", env=Environment(account=UPSTREAM_ACCOUNT, region=UPSTREAM_REGION))
        RegistryPolicy.of(upstream_stack, registry_policy_scope=RegistryPolicyScope.V2).grant_downstream_cache(
            CACHE_ACCOUNT
        )
        stacks.append(upstream_stack)
    return Built(app, stacks, cache, account, region, [(k, t, g) for k, _, t, g in pullers])


def granted_prefixes(config: Config, grants: list[Grant], *, pull: bool) -> list[str]:
    """The prefixes of the rules a grantee was granted (``pull``: with ordinary pull)."""
    every = [prefix for _, prefix in config.upstreams]
    return [p for g in grants if g.pull or not pull for p in (every if g.where != "rule" else [every[g.rule]])]


# ---- valid configurations -----------------------------------------------------------------------


@FUZZ
@given(configs())
def test_random_valid_configurations_synthesize_lint_and_grant_exactly(config):
    built = build(config)
    try:
        built.app.synth()
    except RuntimeError as error:  # the one failure a valid configuration may meet: too many principals
        assert re.search(r"the (registry|repository) policy would be \d+ characters; ECR allows 10240", str(error)), (
            str(error)
        )
        return
    oracle = AppOracle(built.stacks)

    for stack in built.stacks:
        template = Template.from_stack(stack).to_json()
        assert cfn_lint_errors(template, built.region) == [], stack.stack_name
    for source in oracle.policies:
        if source.kind == "registry":
            assert len(json.dumps(source.document, separators=(",", ":"))) <= MAX_REGISTRY_POLICY

    assert oracle.wildcard_ecr_grants() == []
    prefixes = [prefix for _, prefix in config.upstreams]
    repositories = [sample_repository(prefix) for prefix in prefixes]
    for kind, target, grants in built.pullers:
        principal = target if isinstance(target, Principal) else oracle.principal_of(target)
        pull = granted_prefixes(config, grants, pull=True)
        through = granted_prefixes(config, grants, pull=False)
        for repository in repositories:
            arn = repository_arn(built.account, built.region, repository)
            want_pull = any(covers(p, repository) for p in pull)
            want_through = any(covers(p, repository) for p in through)
            got = {a: oracle.allows(principal, a, arn) for a in PULL + PULL_THROUGH}
            assert got == {**dict.fromkeys(PULL, want_pull), **dict.fromkeys(PULL_THROUGH, want_through)}, (
                kind,
                grants,
                repository,
            )
            if TAG_RESOURCE in oracle.first_pull_actions(arn):
                # The repository's own rule is the most specific prefix covering it; a grant on an
                # enclosing rule covers it through the IAM wildcard but is not a grant of this rule.
                owner = max(
                    (p for p in prefixes if covers(p, repository)),
                    key=lambda p: -1 if p == "ROOT" else len(p.rstrip("/")),
                )
                tags = oracle.allows(principal, TAG_RESOURCE, arn)
                # Registry-policy scope V1 cannot grant ecr:TagResource on the resource side (AWS documents it
                # as identity-only): principals of other accounts, and those the app holds no policy of, depend
                # on their own identity policy and on ECR (the library warns) [UNVERIFIED].
                outside = kind in ("arn-user", "account", "organization", "arn-other-role", "consumer-role")
                assert tags or owner not in through or outside, (kind, grants, repository, "needs ecr:TagResource")
                assert not tags or want_through, (kind, grants, repository, "ecr:TagResource without a grant")
        if pull and kind in ("role", "user", "imported-role", "consumer-role"):
            assert oracle.allows(principal, AUTH_TOKEN, "*"), kind

    nobody = [
        external("arn:aws:iam::777788889999:role/anyone"),
        external("arn:aws:iam::777788889999:role/member", org_id="o-nobodynobody"),
    ]
    for principal in nobody:
        for repository in repositories:
            arn = repository_arn(built.account, built.region, repository)
            assert oracle.allowed(principal, FIRST_PULL + (TAG_RESOURCE,), arn) == [], (principal.label, repository)
            assert oracle.allowed(principal, PULL, arn, existing=True) == [], (principal.label, repository)

    for rule in built.cache.rules:
        if rule.role is None:
            continue
        role = oracle.principal_of(rule.role)
        own = sample_repository(rule.prefix)
        assert oracle.denied(role, ECR_TO_ECR_WRITE, repository_arn(built.account, built.region, own)) == []
        for repository in repositories:
            if not covers(rule.prefix, repository):
                arn = repository_arn(built.account, built.region, repository)
                assert oracle.allowed(role, ECR_TO_ECR_ROLE, arn) == [], (rule.prefix, repository)
        if not config.agnostic:
            upstream_image = "team-a/app" if rule.upstream.upstream_repository_prefix else "any/app"
            upstream_arn = repository_arn(UPSTREAM_ACCOUNT, UPSTREAM_REGION, upstream_image)
            assert oracle.denied(role, DOWNSTREAM_CACHE, upstream_arn) == []


# ---- invalid prefixes ---------------------------------------------------------------------------

invalid_prefixes = st.one_of(st.text(max_size=40), st.text("abcAB0/._-\n ", max_size=35)).filter(
    lambda value: not valid_prefix(value)
)


def define(mode: str, prefix: str) -> Stack:
    """Defines a rule with ``prefix`` in one of the ways a prefix reaches the library."""
    stack = Stack(App(), "Stack", env=Environment(account=CACHE_ACCOUNT, region=CACHE_REGION))
    if mode == "cache":
        PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(prefix=prefix)])
    elif mode == "rule":
        PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay(), prefix=prefix)
    elif mode == "rule-upstream":
        PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay(prefix=prefix))
    else:  # the ECR upstream_repository_prefix, same pattern
        PullThroughCacheRule(
            stack,
            "Rule",
            prefix="ecr",
            upstream=Upstream.ecr(account=UPSTREAM_ACCOUNT, region=UPSTREAM_REGION, upstream_repository_prefix=prefix),
        )
    return stack


MODES = ("cache", "rule", "rule-upstream", "ecr-upstream-prefix")


def assert_rejected(mode: str, prefix: str) -> None:
    with pytest.raises(ValueError, match=r"^\[Stack/(Cache|Rule)[^\]]*\] ") as error:
        define(mode, prefix)
    assert "Stack/" in str(error.value)


@FUZZ
@given(mode=st.sampled_from(MODES), prefix=invalid_prefixes)
@example(mode="cache", prefix="A")
@example(mode="rule", prefix="x" * 31)
@example(mode="rule-upstream", prefix="ab\n")
def test_random_invalid_prefixes_are_rejected_with_the_construct_path(mode, prefix):
    assert_rejected(mode, prefix)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("prefix", ["", "a", "ab\n", "ROOT\n", "Quay", "a//b", "/a", "a_", "a___b", "x" * 31], ids=repr)
def test_fails_when_prefix_is_invalid(mode, prefix):
    assert_rejected(mode, prefix)


@pytest.mark.parametrize("field, value", [("account", "999988887777\n"), ("region", "eu-west-1\n")])
def test_fails_when_ecr_upstream_field_has_a_trailing_newline(field, value):
    args = {"account": UPSTREAM_ACCOUNT, "region": UPSTREAM_REGION, field: value}
    stack = Stack(App(), "Stack", env=Environment(account=CACHE_ACCOUNT, region=CACHE_REGION))
    with pytest.raises(ValueError, match=r"^\[Stack/Rule\] "):
        PullThroughCacheRule(stack, "Rule", prefix="ecr", upstream=Upstream.ecr(**args))


def test_fails_when_the_registry_policy_outgrows_10240_characters():
    stack = Stack(App(), "Stack", env=Environment(account=CACHE_ACCOUNT, region=CACHE_REGION))
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(), Upstream.ecr_public()])
    for n in range(200):
        cache.rule("quay" if n % 2 else "ecr-public").grant_pull(
            iam.ArnPrincipal(f"arn:aws:iam::2222333344{n % 100:02d}:role/some-rather-long-role-name-{n}")
        )
    with pytest.raises(RuntimeError, match=r"the registry policy would be \d+ characters; ECR allows 10240"):
        stack.node.root.synth()
