"""Property-based fuzzing: random valid configurations synthesize, lint clean and grant exactly what was
asked; random invalid prefixes are rejected with a ``ValueError`` naming the construct path.

A valid configuration draws rules (a few, or 12-30), grantees of every kind (roles, users, groups, imported
roles: mutable, immutable, of a named account; ARNs, accounts, organizations, roles of another stack,
``CompositePrincipal``s), grants on the cache and on rules before and after upstreams are added, the
registry-policy scope, and creation templates: per rule, as the ROOT fallback, and declared later. What each
principal is expected to reach comes from the configuration alone (who was named, on which rules, which
template covers each rule); what it reaches comes from evaluating the synthesized identity, registry and
repository policies (``oracle.py``). Each app must also fit IAM's policy quotas and synthesize byte-identically
when built again.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from aws_cdk import App, Environment, PhysicalName, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from constructs import Construct
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st
from oracle import (
    AGNOSTIC_ACCOUNT,
    AGNOSTIC_REGION,
    AUTH_TOKEN,
    DOWNSTREAM_CACHE,
    ECR_TO_ECR_ROLE,
    ECR_TO_ECR_WRITE,
    FIRST_PULL,
    INLINE_POLICY_QUOTA,
    MANAGED_POLICY_QUOTA,
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
#: FUZZ_EXAMPLES=500 explores longer; FUZZ_SHRINK=0 reports a failure as found, without minimizing it (a
#: configuration with many rules can take minutes to shrink).
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    **({"derandomize": True, "database": None} if os.environ.get("CI") else {}),
    **({"phases": [p for p in Phase if p is not Phase.shrink]} if os.environ.get("FUZZ_SHRINK") == "0" else {}),
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
GRANTEES = (
    "role",
    "user",
    "group",
    "imported-role",
    "immutable-role",
    "imported-other-role",
    "arn-user",
    "account",
    "organization",
    "arn-other-role",
    "consumer-role",
    "composite",
)
#: What a ``CompositePrincipal`` is drawn from.
COMPOSITE_MEMBERS = ("role", "user", "arn-other-role", "account")
#: Accepted synth failures of a valid configuration: a policy that would outgrow its quota.
QUOTA_FAILURE = re.compile(
    r"the (registry|repository) policy would be \d+ characters; ECR allows 10240"
    r"|polic.*\b(2048|2,048|5120|5,120|10240|10,240)\b",
    re.IGNORECASE | re.DOTALL,
)


@dataclass
class Grant:
    where: str  # "cache-before" (before the later upstreams are added), "cache-after", "rule"
    pull: bool  # grant_pull, else grant_pull_through
    rule: int  # index of the rule for "rule" grants


@dataclass
class Grantee:
    kind: str  # one of GRANTEES
    grants: list[Grant]
    members: list[str] = field(default_factory=list)  # a composite's members, of COMPOSITE_MEMBERS


@dataclass
class Config:
    agnostic: bool
    upstreams: list[tuple[str, str]]  # (kind, prefix)
    initial: int  # upstreams passed to the constructor; the rest go through add_upstream
    grantees: list[Grantee] = field(default_factory=list)
    # Repository settings (creation templates): None, "tags" (needs ecr:TagResource) or "plain".
    cache_settings: str | None = None  # for every rule, given to the constructor
    added_settings: list[str | None] = field(default_factory=list)  # add_upstream(..., repository_settings)
    root_settings: str | None = None  # cache.add_repository_settings(prefix="ROOT"), when no rule is ROOT
    root_after_grants: bool = False
    v2: bool = False  # registry_policy_scope=V2, else the default V1
    # cache.add_repository_settings(prefix=<rule's prefix>) for rules without settings, by rule index: a rule
    # template declared after (or before) the ROOT one, before the cache-after grants or after every grant.
    later_settings: dict[int, str] = field(default_factory=dict)
    later_after_grants: bool = False


def own_settings(config: Config, index: int) -> str | None:
    """The settings the user gave rule ``index`` itself (constructor, ``add_upstream`` or later)."""
    if index < config.initial:
        chosen = config.cache_settings
    else:
        chosen = config.added_settings[index - config.initial] or config.cache_settings
    return chosen or config.later_settings.get(index)


@st.composite
def configs(draw) -> Config:
    agnostic = draw(st.booleans())
    many = draw(st.booleans()) and draw(st.booleans())  # users and groups with many rules (about a quarter)
    size = st.integers(12, 30) if many else st.integers(1, 5)
    count = draw(size)
    chosen = draw(st.lists(prefixes, min_size=count, max_size=count, unique_by=lambda p: p.rstrip("/")))
    upstreams = []
    for prefix in chosen:
        kind = draw(st.sampled_from(UPSTREAMS))
        if prefix == "ROOT" and kind not in ("ecr", "ecr-same-account"):
            kind = "ecr"  # the library allows ROOT only for ECR upstreams
        upstreams.append((kind, prefix))
    grant = st.builds(
        Grant,
        st.sampled_from(["cache-before", "cache-after", "rule"]),
        st.booleans(),
        st.integers(0, len(upstreams) - 1),
    )
    grants = st.lists(grant, min_size=1, max_size=2)
    members = st.lists(st.sampled_from(COMPOSITE_MEMBERS), min_size=1, max_size=3)
    grantee = st.builds(
        lambda kind, grants, members: Grantee(kind, grants, members if kind == "composite" else []),
        st.sampled_from(GRANTEES),
        grants,
        members,
    )
    grantees = draw(st.lists(grantee, max_size=5))
    if many:
        grantees += [Grantee(kind, draw(grants)) for kind in ("user", "group")]
    initial = draw(st.integers(0, len(upstreams)))
    choice = st.sampled_from([None, "tags", "plain"])
    has_root = any(prefix == "ROOT" for _, prefix in upstreams)
    config = Config(
        agnostic,
        upstreams,
        initial,
        grantees,
        draw(choice),
        [draw(choice) for _ in upstreams[initial:]],
        None if has_root else draw(choice),
        draw(st.booleans()),
        draw(st.booleans()),
    )
    for index in range(len(upstreams)):
        if own_settings(config, index) is None and draw(st.booleans()):
            config.later_settings[index] = draw(st.sampled_from(["tags", "plain"]))
    if config.later_settings and not has_root and config.root_settings is None and draw(st.booleans()):
        config.root_settings = draw(st.sampled_from(["tags", "plain"]))  # a ROOT template the later ones replace
    config.later_after_grants = draw(st.booleans())
    return config


def refused(config: Config) -> bool:
    """Tells whether the library refuses ``config``'s grants: a role of a stack with an account on a cache of an
    environment-agnostic stack, whose repository ARNs hold pseudo parameters that in the role's policy would name
    the role's own account."""
    return config.agnostic and any(grantee.kind == "consumer-role" for grantee in config.grantees)


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
class Puller:
    """One principal whose access the oracle checks, and how it is expected to get it.

    ``side`` says what the user's grant can give it: ``"identity"``, a principal of the cache's account
    whose policy the library writes (it needs nothing from the resource side); ``"identity-other"``, an app
    role of another account (its policy is written, and the resource side must let it in); ``"token"``,
    a principal of the cache's account whose own policy allows only the token (an ARN, an immutable role);
    ``"outside"``, a principal of another account with ``ecr:*`` on its side.
    """

    kind: str
    target: object  # a role or user construct of the app, or an oracle Principal
    grants: list[Grant]
    side: str
    #: A role of the cache's account with the same name as an imported role of another account: gets nothing.
    shadow: str | None = None


@dataclass
class Built:
    app: App
    stacks: list[Stack]
    cache: PullThroughCache
    account: str
    region: str
    pullers: list[Puller]


def _role(scope: Construct, id: str, service: str = "ecs-tasks.amazonaws.com", **kwargs: object) -> iam.Role:
    return iam.Role(scope, id, assumed_by=iam.ServicePrincipal(service), **kwargs)


def _same_account_role_arn(stack: Stack, name: str) -> str:
    """A role ARN of the stack's account: a literal, or in an environment-agnostic stack a token."""
    if Token.is_unresolved(stack.account):
        return stack.format_arn(service="iam", region="", resource="role", resource_name=name)
    return f"arn:aws:iam::{stack.account}:role/{name}"


def build(config: Config) -> Built:
    app = App()
    env = None if config.agnostic else Environment(account=CACHE_ACCOUNT, region=CACHE_REGION)
    stack = Stack(app, "Cache", env=env)
    stacks = [stack]
    account, region = (AGNOSTIC_ACCOUNT, AGNOSTIC_REGION) if config.agnostic else (CACHE_ACCOUNT, CACHE_REGION)
    upstreams = [make_upstream(stack, i, kind, prefix) for i, (kind, prefix) in enumerate(config.upstreams)]
    cache = PullThroughCache(
        stack,
        "Cache",
        upstreams=upstreams[: config.initial],
        repository_settings=settings_of(config.cache_settings),
        registry_policy_scope=RegistryPolicyScope.V2 if config.v2 else None,
    )

    consumer = None
    pullers: list[Puller] = []
    granted: list[tuple[object, list[Grant]]] = []
    for n, chosen in enumerate(config.grantees):
        kind, grants = chosen.kind, chosen.grants
        if kind == "role":
            grantee = _role(stack, f"Role{n}")
            pullers.append(Puller(kind, grantee, grants, "identity"))
        elif kind == "user":
            grantee = iam.User(stack, f"User{n}")
            pullers.append(Puller(kind, grantee, grants, "identity"))
        elif kind == "group":
            grantee = iam.Group(stack, f"Group{n}")
            member = iam.User(stack, f"Member{n}")
            grantee.add_user(member) if n % 2 else member.add_to_group(grantee)
            pullers.append(Puller(kind, member, grants, "identity"))
        elif kind == "imported-role":
            grantee = iam.Role.from_role_arn(stack, f"Imported{n}", _same_account_role_arn(stack, f"imp{n}"))
            pullers.append(Puller(kind, grantee, grants, "identity"))
        elif kind == "immutable-role":
            arn = _same_account_role_arn(stack, f"imm{n}")
            grantee = iam.Role.from_role_arn(stack, f"Immutable{n}", arn, mutable=False)
            pullers.append(Puller(kind, external(f"arn:aws:iam::{account}:role/imm{n}", TOKEN_ONLY), grants, "token"))
        elif kind == "imported-other-role":  # a role of a named account; in an agnostic stack, maybe another
            arn = f"arn:aws:iam::4444555588{n:02d}:role/oth{n}"
            grantee = iam.Role.from_role_arn(stack, f"Other{n}", arn)
            pullers.append(Puller(kind, external(arn), grants, "outside", shadow=f"arn:aws:iam::{account}:role/oth{n}"))
        elif kind == "consumer-role":
            consumer = consumer or Stack(app, "Consumer", env=Environment(account="333344445555", region=region))
            grantee = _role(consumer, f"Role{n}", "ec2.amazonaws.com", role_name=PhysicalName.GENERATE_IF_NEEDED)
            pullers.append(Puller(kind, grantee, grants, "identity-other"))
        elif kind == "arn-user":
            grantee = iam.ArnPrincipal(f"arn:aws:iam::{account}:user/u{n}")
            pullers.append(Puller(kind, external(grantee.arn, TOKEN_ONLY), grants, "token"))
        elif kind == "account":
            other = f"2222333344{n:02d}"
            grantee = iam.AccountPrincipal(other)
            pullers.append(Puller(kind, external(f"arn:aws:iam::{other}:role/theirs"), grants, "outside"))
        elif kind == "organization":
            org = f"o-fuzzorg{n:04d}"
            grantee = iam.OrganizationPrincipal(org)
            member_arn = f"arn:aws:iam::55556666{n:04d}:role/member"
            pullers.append(Puller(kind, external(member_arn, org_id=org), grants, "outside"))
        elif kind == "arn-other-role":
            grantee = iam.ArnPrincipal(f"arn:aws:iam::4444555566{n:02d}:role/r{n}")
            pullers.append(Puller(kind, external(grantee.arn), grants, "outside"))
        else:  # composite: each member is checked as if it had been granted alone
            principals: list[iam.IPrincipal] = []
            for j, member_kind in enumerate(chosen.members):
                label = f"composite:{member_kind}"
                if member_kind == "role":
                    role = _role(stack, f"Composite{n}Role{j}")
                    principals.append(role)
                    pullers.append(Puller(label, role, grants, "identity"))
                elif member_kind == "user":
                    user = iam.User(stack, f"Composite{n}User{j}")
                    principals.append(user)
                    pullers.append(Puller(label, user, grants, "identity"))
                elif member_kind == "arn-other-role":
                    arn = f"arn:aws:iam::44445555{n:02d}{j:02d}:role/c{n}"
                    principals.append(iam.ArnPrincipal(arn))
                    pullers.append(Puller(label, external(arn), grants, "outside"))
                else:
                    other = f"22224444{n:02d}{j:02d}"
                    principals.append(iam.AccountPrincipal(other))
                    pullers.append(Puller(label, external(f"arn:aws:iam::{other}:role/theirs"), grants, "outside"))
            grantee = iam.CompositePrincipal(*principals)
        granted.append((grantee, grants))

    def apply(where: str) -> None:
        for grantee, grants in granted:
            for grant in grants:
                if grant.where == where == "rule":
                    rule = cache.rules[grant.rule]
                    rule.grant_pull(grantee) if grant.pull else rule.grant_pull_through(grantee)
                elif grant.where == where:
                    cache.grant_pull(grantee) if grant.pull else cache.grant_pull_through(grantee)

    def root_template() -> None:
        if config.root_settings is not None:
            cache.add_repository_settings(settings_of(config.root_settings), prefix="ROOT")

    def later_templates() -> None:
        for index, kind in sorted(config.later_settings.items()):
            cache.add_repository_settings(settings_of(kind), prefix=config.upstreams[index][1])

    if not config.root_after_grants:
        root_template()
    apply("cache-before")
    for upstream, chosen in zip(upstreams[config.initial :], config.added_settings, strict=True):
        cache.add_upstream(upstream, repository_settings=settings_of(chosen))
    if not config.later_after_grants:
        later_templates()
    apply("cache-after")
    apply("rule")
    if config.root_after_grants:
        root_template()
    if config.later_after_grants:
        later_templates()
    if consumer is not None:
        stacks.append(consumer)
    if not config.agnostic:
        upstream_stack = Stack(app, "Upstream", env=Environment(account=UPSTREAM_ACCOUNT, region=UPSTREAM_REGION))
        RegistryPolicy.of(upstream_stack, registry_policy_scope=RegistryPolicyScope.V2).grant_downstream_cache(
            CACHE_ACCOUNT
        )
        stacks.append(upstream_stack)
    return Built(app, stacks, cache, account, region, pullers)


# ---- what the configuration means ---------------------------------------------------------------


def granted_prefixes(config: Config, grants: list[Grant], *, pull: bool) -> list[str]:
    """The prefixes of the rules a grantee was granted (``pull``: with ordinary pull)."""
    every = [prefix for _, prefix in config.upstreams]
    return [p for g in grants if g.pull or not pull for p in (every if g.where != "rule" else [every[g.rule]])]


def declared_templates(config: Config) -> dict[str, str]:
    """The creation templates the user declared: normalized prefix (or ``ROOT``) -> ``"tags"``/``"plain"``."""
    templates = {
        prefix.rstrip("/"): kind for i, (_, prefix) in enumerate(config.upstreams) if (kind := own_settings(config, i))
    }
    if config.root_settings is not None:
        templates["ROOT"] = config.root_settings
    return templates


def _most_specific(templates: dict[str, str], within: Callable[[str], bool]) -> str | None:
    matching = [prefix for prefix in templates if within(prefix)]
    return templates[max(matching, key=lambda p: -1 if p == "ROOT" else len(p))] if matching else None


def template_of_repository(templates: dict[str, str], repository: str) -> str | None:
    """The settings of the template ECR applies to a new repository: the most specific prefix covering it."""
    return _most_specific(templates, lambda prefix: covers(prefix, repository))


def template_of_rule(templates: dict[str, str], rule_prefix: str) -> str | None:
    """The settings of the template that covers a rule: its own, else the most specific enclosing one, else ROOT."""
    rule = rule_prefix.rstrip("/")
    return _most_specific(
        templates, lambda p: p == "ROOT" or (rule != "ROOT" and (rule == p or rule.startswith(p + "/")))
    )


# ---- valid configurations -----------------------------------------------------------------------


def templates_json(built: Built) -> dict[str, str]:
    """Each stack's synthesized template, as text (key order kept)."""
    return {stack.stack_name: json.dumps(Template.from_stack(stack).to_json()) for stack in built.stacks}


def _cache_grant(pull: bool = True, where: str = "cache-after") -> list[Grant]:
    return [Grant(where, pull, 0)]


#: The configurations that found the defects of issue 11's grants (fuzz-findings F1-F7), always run.
FOUND = [
    # F1: a group granted on a cache without rules yet.
    Config(False, [("quay", "quay")], 0, [Grantee("group", _cache_grant(False, "cache-before"))], None, [None]),
    # F2: a CompositePrincipal of a user and an account, on a rule whose template tags (scope V1).
    Config(False, [("quay", "quay")], 1, [Grantee("composite", _cache_grant(), ["user", "account"])], "tags"),
    # F3: a user, and a group, granted on many tagged rules (the user's policy is then over its quota).
    *(
        Config(
            False, [("ecr-public", f"team{n}/images") for n in range(24)], 24, [Grantee(kind, _cache_grant())], "tags"
        )
        for kind in ("user", "group")
    ),
    # F4: an imported role of a named account, in an environment-agnostic stack.
    Config(True, [("quay", "quay")], 1, [Grantee("imported-other-role", _cache_grant())]),
    # F5: a rule's own untagged template under a tagging ROOT rule's.
    Config(
        False,
        [("ecr", "ROOT"), ("quay", "r/l")],
        1,
        [Grantee("group", [Grant("rule", True, 1)])],
        "tags",
        ["plain"],
        v2=True,
    ),
    # F6: settings given to a ROOT rule after a grant that needed the rules' repository policies (scope V1).
    Config(
        False,
        [("quay", "quay"), ("ecr", "ROOT")],
        2,
        [Grantee("immutable-role", _cache_grant(False, "cache-before"))],
        later_settings={1: "tags"},
        later_after_grants=True,
    ),
    # F7: a role of a stack with an account, granted on a cache of an environment-agnostic stack.
    Config(True, [("quay", "quay")], 1, [Grantee("consumer-role", _cache_grant())]),
]


def with_examples(found: list[Config]) -> Callable:
    """Hypothesis's ``@example`` for each configuration of ``found``."""

    def decorate(test: Callable) -> Callable:
        for config in found:
            test = example(config)(test)
        return test

    return decorate


@FUZZ
@given(configs())
@with_examples(FOUND)
def test_random_valid_configurations_synthesize_lint_and_grant_exactly(config):
    for kind in {grantee.kind for grantee in config.grantees}:  # --hypothesis-show-statistics lists what was drawn
        event(f"grantee {kind}")
    event(f"{'many' if len(config.upstreams) >= 12 else 'few'} rules, scope {'V2' if config.v2 else 'V1'}")
    if config.later_settings:
        root = config.root_settings or any(
            own_settings(config, i) for i, (_, p) in enumerate(config.upstreams) if p == "ROOT"
        )
        event(f"rule templates declared later{', and a ROOT template' if root else ''}")
    if refused(config):
        with pytest.raises(ValueError, match=r"cannot name its repositories: they would be that account's"):
            build(config)
        event("a role of a concrete stack granted on an agnostic cache: refused")
        return
    built = build(config)
    try:
        built.app.synth()
    except (RuntimeError, ValueError) as error:  # the one failure a valid configuration may meet: a quota
        assert QUOTA_FAILURE.search(str(error)), str(error)
        event("a policy over its quota: synth fails")
        return
    # Deterministic: the same configuration, built again (every token numbered differently), is byte-identical.
    assert templates_json(build(config)) == templates_json(built)
    oracle = AppOracle(built.stacks)

    for stack in built.stacks:
        template = Template.from_stack(stack).to_json()
        errors = cfn_lint_errors(template, built.region)
        if any(prefix.rstrip("/") == "false" for _, prefix in config.upstreams):
            # cfn-lint 1.58's E3019 reports a creation template with Prefix "false" as a duplicate of another one
            # (the prefixes are distinct; it is not reported with "true", "null", "no" or "off").
            errors = [error for error in errors if not error.startswith("[E3019:")]
        assert errors == [], stack.stack_name
    for source in oracle.policies:
        if source.kind == "registry":
            assert len(json.dumps(source.document, separators=(",", ":"))) <= MAX_REGISTRY_POLICY
    for entity, size in oracle.inline_policy_sizes().items():
        assert size <= INLINE_POLICY_QUOTA[entity.split(":")[5].split("/")[0]], (entity, size)
    for where, size in oracle.managed_policy_sizes().items():
        assert size <= MANAGED_POLICY_QUOTA, (where, size)

    assert oracle.wildcard_ecr_grants() == []
    prefixes = [prefix for _, prefix in config.upstreams]
    templates = declared_templates(config)
    tagging_rules = [p for p in prefixes if template_of_rule(templates, p) == "tags"]
    repositories = [sample_repository(prefix) for prefix in prefixes]
    arns = {repository: repository_arn(built.account, built.region, repository) for repository in repositories}
    for repository, arn in arns.items():
        # The template ECR applies is the one the user declared, whatever the library defined for the grants.
        tags = TAG_RESOURCE in oracle.first_pull_actions(arn)
        assert tags == (template_of_repository(templates, repository) == "tags"), (repository, templates)

    for puller in built.pullers:
        target = puller.target
        principal = target if isinstance(target, Principal) else oracle.principal_of(target)
        pull = granted_prefixes(config, puller.grants, pull=True)
        through = granted_prefixes(config, puller.grants, pull=False)
        for repository, arn in arns.items():
            want_pull = any(covers(p, repository) for p in pull)
            want_through = any(covers(p, repository) for p in through)
            where = (puller.kind, puller.grants, repository)
            got = {a: oracle.allows(principal, a, arn) for a in PULL + PULL_THROUGH}
            assert got == {**dict.fromkeys(PULL, want_pull), **dict.fromkeys(PULL_THROUGH, want_through)}, where
            # ecr:TagResource: wherever a granted rule's covering template tags, and nowhere else. AWS documents it
            # as identity-only, so under scope V1 only a policy the library writes in the cache's account holds
            # it; others depend on their own policy (the library warns) [UNVERIFIED].
            want_tags = any(covers(p, repository) for p in through if p in tagging_rules)
            if puller.side != "identity" and not config.v2:
                want_tags = False
            assert oracle.allows(principal, TAG_RESOURCE, arn) == want_tags, (*where, "ecr:TagResource", want_tags)
        if pull and puller.side in ("identity", "identity-other"):
            assert oracle.allows(principal, AUTH_TOKEN, "*"), (puller.kind, AUTH_TOKEN)
        if puller.shadow is not None:  # a same-named role of the deploying account gets nothing
            shadow = oracle.named(puller.shadow)
            for arn in arns.values():
                assert oracle.allowed(shadow, FIRST_PULL + (TAG_RESOURCE,), arn) == [], (puller.kind, puller.shadow)

    nobody = [
        external("arn:aws:iam::777788889999:role/anyone"),
        external("arn:aws:iam::777788889999:role/member", org_id="o-nobodynobody"),
    ]
    for principal in nobody:
        for repository, arn in arns.items():
            assert oracle.allowed(principal, FIRST_PULL + (TAG_RESOURCE,), arn) == [], (principal.label, repository)
            assert oracle.allowed(principal, PULL, arn, existing=True) == [], (principal.label, repository)

    for rule in built.cache.rules:
        if rule.role is None:
            continue
        role = oracle.principal_of(rule.role)
        own = sample_repository(rule.prefix)
        assert oracle.denied(role, ECR_TO_ECR_WRITE, repository_arn(built.account, built.region, own)) == []
        for repository, arn in arns.items():
            if not covers(rule.prefix, repository):
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
