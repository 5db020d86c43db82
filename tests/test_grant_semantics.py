"""Grants that mean what they say (issue 11 §5-§6): merged identity statements, TagResource that follows the
template covering a rule now, principals of named accounts, composite principals, and a stable policy order.

Each test fails on the engine before these fixes.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, CfnParameter, Environment, Lazy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match

from cdk_ecr_ptc import (
    PullThroughCache,
    PullThroughCacheRule,
    RegistryPolicyScope,
    RepositorySettings,
    Upstream,
)
from cdk_ecr_ptc._jsii import StringProducer
from cdk_ecr_ptc._statements import deployed_length
from tests.support import as_list, registry_policy, resources

ACCOUNT = "111122223333"
OTHER = "222233334444"
TAGS = RepositorySettings(resource_tags={"team": "platform"})
PULL = [
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
]


def arn(prefix: str) -> str:
    return f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{prefix}/*"


ENV = Environment(account=ACCOUNT, region="us-east-1")


def new_stack(env: Environment | None = ENV) -> Stack:
    return Stack(App(), "Test", env=env)


def policy_of(stack: Stack, owner: str) -> dict:
    """The synthesized document of ``owner``'s own policy (DefaultPolicy or, for imports, Policy)."""
    [policy] = [r for key, r in resources(stack, "AWS::IAM::Policy").items() if key.startswith(owner)]
    return policy["Properties"]["PolicyDocument"]


def tagged_cache(stack: Stack, rules: int, **kwargs) -> PullThroughCache:
    return PullThroughCache(
        stack,
        "Cache",
        upstreams=[Upstream.quay(prefix=f"quay-mirror-{i:02d}") for i in range(rules)],
        repository_settings=TAGS,
        **kwargs,
    )


# ---- §5: one statement per action set, TagResource folded -------------------------------------------------


def test_tag_resource_folds_into_the_pull_statement_so_a_user_fits_fifteen_tagged_rules():
    stack = new_stack()
    user = iam.User(stack, "User")
    tagged_cache(stack, 15).grant_pull(user)

    document = policy_of(stack, "User")
    pull, token = document["Statement"]
    assert pull["Action"] == [*PULL, "ecr:TagResource"]
    assert len(pull["Resource"]) == 15
    assert token == {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"}
    assert deployed_length(document) <= 2_048


def test_mixed_tagging_keeps_one_statement_per_action_set_and_tag_resource_on_the_tagged_rules_only():
    stack = new_stack()
    role = iam.Role(stack, "Puller", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(), Upstream.ecr_public(), Upstream.kubernetes()])
    cache.add_repository_settings(TAGS, prefix="quay")
    cache.grant_pull(role)

    pull, tag, token = policy_of(stack, "Puller")["Statement"]
    assert (pull["Action"], pull["Resource"]) == (PULL, [arn("quay"), arn("ecr-public"), arn("kubernetes")])
    assert (tag["Action"], tag["Resource"]) == (["ecr:TagResource"], [arn("quay")])
    assert token["Action"] == "ecr:GetAuthorizationToken"


def build_in_order(grant_first: bool, settings: list[tuple[str, RepositorySettings]], composite: bool = False) -> str:
    """A cache of three rules, an account and a role (or both in a ``CompositePrincipal``) granted before or after
    the repository settings: the role's statements (in any order) and the registry policy."""
    stack = new_stack()
    role = iam.Role(stack, "Puller", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    cache = PullThroughCache(
        stack,
        "Cache",
        upstreams=[Upstream.quay(), Upstream.ecr_public(), Upstream.kubernetes()],
        registry_policy_scope=RegistryPolicyScope.V2,
    )

    def grant() -> None:
        if composite:
            cache.grant_pull(iam.CompositePrincipal(role, iam.AccountPrincipal(OTHER)))
        else:
            cache.grant_pull(role)
            cache.grant_pull(iam.AccountPrincipal(OTHER))

    if grant_first:
        grant()
    for prefix, setting in settings:
        cache.add_repository_settings(setting, prefix=prefix)
    if not grant_first:
        grant()
    # The statements of the role's policy as a set: where the TagResource remainder of a mixed statement stands
    # (before or after the GetAuthorizationToken statement) follows declaration order, and IAM gives it no meaning.
    statements = sorted(json.dumps(statement, sort_keys=True) for statement in policy_of(stack, "Puller")["Statement"])
    return json.dumps([statements, registry_policy(stack)], sort_keys=True)


ORDERS = {
    "all-tagged-by-root": [("ROOT", TAGS)],
    "mixed": [("quay", TAGS), ("ecr-public", RepositorySettings(keep_last_images=5))],
    "root-tags-then-own-untagged": [("ROOT", TAGS), ("quay", RepositorySettings(keep_last_images=5))],
    "root-untagged-then-own-tags": [("ROOT", RepositorySettings(keep_last_images=5)), ("quay", TAGS)],
}


@pytest.mark.parametrize("composite", [False, True], ids=["alone", "composite"])
@pytest.mark.parametrize("settings", ORDERS.values(), ids=ORDERS.keys())
def test_grants_before_or_after_the_templates_render_the_same(settings, composite):
    assert build_in_order(True, settings, composite) == build_in_order(False, settings, composite)


def test_a_composite_renders_as_its_members_granted_alone():
    settings = ORDERS["root-tags-then-own-untagged"]
    assert build_in_order(True, settings, composite=True) == build_in_order(True, settings)


# ---- §6: TagResource follows the template that covers the rule now ----------------------------------------------


@pytest.mark.parametrize("scope", [RegistryPolicyScope.V1, RegistryPolicyScope.V2])
def test_an_own_untagged_template_that_replaces_a_tagging_root_template_takes_tag_resource_away(scope):
    stack = new_stack()
    role = iam.Role(stack, "Puller", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    cache = PullThroughCache(
        stack, "Cache", upstreams=[Upstream.quay(), Upstream.ecr_public()], registry_policy_scope=scope
    )
    cache.add_repository_settings(TAGS, prefix="ROOT")
    cache.grant_pull(role)
    cache.grant_pull(iam.AccountPrincipal(OTHER))

    cache.rule("quay").add_repository_settings(RepositorySettings(keep_last_images=5))

    statements = policy_of(stack, "Puller")["Statement"] + registry_policy(stack)["Statement"]
    tagged = {r for s in statements if "ecr:TagResource" in as_list(s["Action"]) for r in as_list(s["Resource"])}
    assert arn("quay") not in tagged
    assert arn("ecr-public") in tagged


def test_an_own_tagging_template_that_replaces_an_untagged_root_template_adds_tag_resource():
    stack = new_stack()
    role = iam.Role(stack, "Puller", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])
    cache.add_repository_settings(RepositorySettings(keep_last_images=5), prefix="ROOT")
    cache.grant_pull(role)

    cache.rule("quay").add_repository_settings(TAGS)

    pull, _ = policy_of(stack, "Puller")["Statement"]
    assert (pull["Action"], pull["Resource"]) == ([*PULL, "ecr:TagResource"], arn("quay"))


@pytest.mark.parametrize("composite", [False, True], ids=["alone", "in-a-composite"])
@pytest.mark.parametrize("grant_first", [True, False])
def test_a_same_account_arn_principal_on_a_tagging_rule_is_warned_that_its_own_policy_needs_tag_resource(
    grant_first, composite
):
    stack = new_stack()
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay())
    principal = iam.ArnPrincipal(f"arn:aws:iam::{ACCOUNT}:role/ci")
    if composite:
        principal = iam.CompositePrincipal(principal, iam.AccountPrincipal(OTHER))
    if grant_first:
        rule.grant_pull(principal)
    rule.add_repository_settings(TAGS)
    if not grant_first:
        rule.grant_pull(principal)

    Annotations.from_stack(stack).has_warning(
        "/Test/Rule", Match.string_like_regexp(f"arn:aws:iam::{ACCOUNT}:role/ci .*identity policy must allow")
    )


def test_no_tag_resource_warning_for_principals_of_other_accounts_or_untagged_rules():
    stack = new_stack()
    tagged = PullThroughCacheRule(stack, "Tagged", upstream=Upstream.quay(), repository_settings=TAGS)
    plain = PullThroughCacheRule(stack, "Plain", upstream=Upstream.ecr_public())
    tagged.grant_pull(iam.ArnPrincipal(f"arn:aws:iam::{OTHER}:role/ci"))
    plain.grant_pull(iam.ArnPrincipal(f"arn:aws:iam::{ACCOUNT}:role/ci"))

    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("policy of an ArnPrincipal"))
    assert warnings == []


@pytest.mark.parametrize("settings_first", [True, False])
def test_settings_given_later_to_a_root_rule_reach_the_template_defined_for_another_rule(settings_first):
    """Under scope V1 a grant to an imported immutable role defines a template for quay (for its repository policy),
    with the settings of the template that covers quay; settings given to the ROOT rule later replace that one."""
    stack = new_stack()
    cache = PullThroughCache(
        stack, "Cache", upstreams=[Upstream.quay(), Upstream.ecr(account=OTHER, region="eu-west-1", prefix="ROOT")]
    )
    immutable = iam.Role.from_role_arn(stack, "Imm", f"arn:aws:iam::{ACCOUNT}:role/imm", mutable=False)
    if settings_first:
        cache.add_repository_settings(TAGS, prefix="ROOT")
    cache.grant_pull_through(immutable)
    if not settings_first:
        cache.add_repository_settings(TAGS, prefix="ROOT")

    templates = {
        t["Properties"]["Prefix"]: t["Properties"]
        for t in resources(stack, "AWS::ECR::RepositoryCreationTemplate").values()
    }
    assert templates["quay"]["ResourceTags"] == [{"Key": "team", "Value": "platform"}]
    assert "RepositoryPolicy" in templates["quay"]


# ---- §6: principals of named accounts in environment-agnostic stacks ------------------------------------------


def test_an_imported_role_of_a_named_account_in_an_agnostic_stack_gets_the_registry_policy_and_no_identity_policy():
    stack = new_stack(env=None)
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()], registry_policy_scope=RegistryPolicyScope.V2)
    imported = iam.Role.from_role_arn(stack, "Ci", f"arn:aws:iam::{OTHER}:role/ci")

    assert cache.grant_pull(imported).success

    (statement,) = registry_policy(stack)["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{OTHER}:role/ci"}
    assert "ecr:BatchGetImage" in statement["Action"]
    assert resources(stack, "AWS::IAM::Policy") == {}  # it would attach to a role named ci in any account
    Annotations.from_stack(stack).has_warning("/Test/Cache/quay", Match.string_like_regexp(f"names account {OTHER}"))


def test_a_role_defined_in_an_agnostic_stack_stays_on_the_identity_side():
    stack = new_stack(env=None)
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()], registry_policy_scope=RegistryPolicyScope.V2)

    cache.grant_pull(iam.Role(stack, "Puller", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com")))

    assert resources(stack, "AWS::ECR::RegistryPolicy") == {}


def test_a_role_of_a_stack_with_an_account_granted_from_an_agnostic_cache_fails_naming_the_fix():
    """The cache's repository ARNs hold its stack's pseudo parameters, which in the role's stack would name the
    role's own account's repositories (fuzz F7)."""
    app = App()
    agnostic = Stack(app, "Agnostic")
    workload = Stack(app, "Workload", env=Environment(account=OTHER, region="us-east-1"))
    role = iam.Role(workload, "Puller", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    cache = PullThroughCache(agnostic, "Cache", upstreams=[Upstream.quay()])

    with pytest.raises(ValueError, match=rf"\[Agnostic/Cache/quay\] .*Workload/Puller .*: got '{OTHER}'\. Give"):
        cache.grant_pull(role)


def test_a_role_of_another_agnostic_stack_is_granted_on_its_identity_side():
    app = App()
    cache = PullThroughCache(Stack(app, "Agnostic"), "Cache", upstreams=[Upstream.quay()])
    workload = Stack(app, "Workload")

    cache.grant_pull(iam.Role(workload, "Puller", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com")))

    assert len(policy_of(workload, "Puller")["Statement"]) == 2


# ---- §6: composite principals --------------------------------------------------------------------------------


def test_a_composite_principal_grants_each_member_as_if_alone_and_warns_for_members_without_a_policy():
    stack = new_stack()
    role = iam.Role(stack, "Puller", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    composite = iam.CompositePrincipal(role, iam.ArnPrincipal(f"arn:aws:iam::{OTHER}:role/ci"))
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()], repository_settings=TAGS)

    assert cache.grant_pull(composite).success

    assert policy_of(stack, "Puller")["Statement"] == [
        {"Action": [*PULL, "ecr:TagResource"], "Effect": "Allow", "Resource": arn("quay")},
        {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"},
    ]
    (statement,) = registry_policy(stack)["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{OTHER}:role/ci"}
    Annotations.from_stack(stack).has_warning(
        "/Test/Cache", Match.string_like_regexp(f"arn:aws:iam::{OTHER}:role/ci.*ecr:GetAuthorizationToken")
    )


@pytest.mark.parametrize("scope", [RegistryPolicyScope.V1, RegistryPolicyScope.V2])
def test_a_composite_of_a_service_and_an_account_limits_only_the_service_to_the_source_account(scope):
    """aws:SourceAccount is sent only on requests a service makes for an account: in a statement that also names
    an account, that account could never use the grant."""
    stack = new_stack()
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()], registry_policy_scope=scope)

    cache.grant_pull(
        iam.CompositePrincipal(iam.ServicePrincipal("codebuild.amazonaws.com"), iam.AccountPrincipal(OTHER))
    )

    def deployed(value) -> dict:  # the policy text with the stack's account for AWS::AccountId
        if "Fn::Join" in value:
            value = "".join(part if isinstance(part, str) else ACCOUNT for part in value["Fn::Join"][1])
        else:
            value = json.dumps(value).replace('{"Ref": "AWS::AccountId"}', f'"{ACCOUNT}"')
        return json.loads(value)

    policies = [registry_policy(stack)] + [
        template["Properties"]["RepositoryPolicy"]
        for template in resources(stack, "AWS::ECR::RepositoryCreationTemplate").values()
    ]
    statements = [statement for policy in policies for statement in deployed(policy)["Statement"]]
    for statement in statements:
        kinds = set(statement["Principal"])
        if "Service" in kinds:
            assert kinds == {"Service"}, statement
            assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}, statement
        else:
            assert statement["Principal"] == {"AWS": f"arn:aws:iam::{OTHER}:root"}, statement
            assert "Condition" not in statement, statement
    assert {kind for statement in statements for kind in statement["Principal"]} == {"AWS", "Service"}


def test_a_composite_of_one_role_grants_the_role_as_if_alone():
    stack = new_stack()
    role = iam.Role(stack, "Puller", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])

    assert cache.grant_pull_through(iam.CompositePrincipal(role)).success

    assert policy_of(stack, "Puller")["Statement"] == [{"Action": PULL[:2], "Effect": "Allow", "Resource": arn("quay")}]


def test_a_group_granted_on_a_cache_without_rules_yet_synthesizes():
    stack = new_stack()
    cache = PullThroughCache(stack, "Cache")
    group = iam.Group(stack, "Group")

    assert cache.grant_pull_through(group).success
    cache.add_upstream(Upstream.quay())

    assert policy_of(stack, "Group")["Statement"] == [{"Action": PULL[:2], "Effect": "Allow", "Resource": arn("quay")}]


def test_pull_through_after_pull_on_the_same_rules_adds_no_statement():
    stack = new_stack()
    user = iam.User(stack, "User")
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(), Upstream.ecr_public()])

    cache.grant_pull(user)
    cache.grant_pull_through(user)

    pull, token = policy_of(stack, "User")["Statement"]
    assert pull["Action"] == PULL and token["Action"] == "ecr:GetAuthorizationToken"


# ---- §6: merged principals ordered by what they deploy as -------------------------------------------------------


def unrelated_constructs(stack: Stack, count: int) -> None:
    """Roles, parameters and lazy values that have nothing to do with the cache, but draw token numbers."""
    for index in range(count):
        kind = index % 3
        if kind == 0:
            iam.Role(stack, f"Unrelated{index}", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
        elif kind == 1:
            CfnParameter(stack, f"Unrelated{index}").value_as_string  # noqa: B018
        else:
            Lazy.string(StringProducer(lambda: "unrelated"))


#: Ten roles, granted in an order that is not their names' (nor their ARNs'): in a fresh process their token
#: numbers straddle 100, so ordering by token string puts them in yet another order.
NAMES = ("zeta", "mid", "alpha", "kappa", "beta", "omega", "delta", "iota", "gamma", "eta")


def policies_text(unrelated: int) -> tuple[str, str]:
    """The registry policy (scope V2) and a repository policy (scope V1) granting principals whose token
    strings sort in another order than what they deploy as."""
    app = App()
    v2 = Stack(app, "V2", env=Environment(account=ACCOUNT, region="us-east-1"))
    v1 = Stack(app, "V1", env=Environment(account=ACCOUNT, region="eu-west-1"))
    workload = Stack(app, "Workload", env=Environment(account=OTHER, region="us-east-1"))
    unrelated_constructs(workload, unrelated)
    caches = [
        PullThroughCache(v2, "Cache", upstreams=[Upstream.quay()], registry_policy_scope=RegistryPolicyScope.V2),
        PullThroughCache(v1, "Cache", upstreams=[Upstream.quay()]),
    ]
    for name in NAMES:
        role = iam.Role(workload, name, role_name=name, assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
        for cache in caches:
            cache.grant_pull(role)
    for stack in (v2, v1):
        account = CfnParameter(stack, "Account").value_as_string
        for cache in caches:
            if cache.node.scope is stack:
                cache.grant_pull(iam.AccountPrincipal(account))
    [template] = resources(v1, "AWS::ECR::RepositoryCreationTemplate").values()
    return json.dumps(registry_policy(v2)), json.dumps(template["Properties"]["RepositoryPolicy"])


def test_policies_are_byte_identical_whether_or_not_unrelated_constructs_come_first():
    registry, repository = policies_text(0)
    (statement,) = json.loads(registry)["Statement"]
    ends = [principal["Fn::Join"][1][-1] for principal in statement["Principal"]["AWS"]]
    names = [end.rsplit("/", 1)[-1] for end in ends if "role/" in end]
    assert names == sorted(NAMES), "principals are ordered by what they deploy as"

    assert (registry, repository) == policies_text(100)


def test_policies_are_byte_identical_in_fresh_processes_whether_or_not_unrelated_constructs_come_first():
    """Token numbers start afresh in a new process: this is the case a user's ``cdk synth`` sees."""
    code = "import sys; from tests.test_grant_semantics import policies_text; print(policies_text(int(sys.argv[1])))"
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(n)],
            cwd=Path(__file__).parent.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        for n in (0, 100)
    ]
    without, with_unrelated = (run.communicate(timeout=300)[0] for run in runs)
    assert without and without == with_unrelated


def test_the_repository_policy_orders_principals_by_what_they_deploy_as():
    _, text = policies_text(0)
    positions = [text.index(f"role/{name}") for name in sorted(NAMES)]
    assert positions == sorted(positions)
