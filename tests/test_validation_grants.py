"""Identity policies that IAM's quotas would reject fail at synth (issue 11 §5): the path, the value, the fix,
and no template is written. Lengths count tokens at their longest and leave whitespace out, as IAM does."""

import re

import pytest
from aws_cdk import App, Aws, Environment, Fn, Stack
from aws_cdk import aws_iam as iam

from cdk_ecr_ptc import PullThroughCache, RepositorySettings, Upstream
from cdk_ecr_ptc._statements import deployed_length

ACCOUNT = "111122223333"


def cache(stack: Stack, rules: int, *, id: str = "Cache", tags: bool = False) -> PullThroughCache:
    """A cache of ``rules`` rules with 30-character prefixes (the longest ECR takes)."""
    return PullThroughCache(
        stack,
        id,
        upstreams=[Upstream.quay(prefix=f"team-{id.lower()}-quay-mirror-{i:03d}"[-30:]) for i in range(rules)],
        repository_settings=RepositorySettings(resource_tags={"team": "a"}) if tags else None,
    )


def user_with_many_rules(app: App) -> None:
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region="us-east-1"))
    cache(stack, 30, tags=True).grant_pull(iam.User(stack, "User"))


def agnostic_user(app: App) -> None:
    """Fits with this account's ARNs, not with the longest partition, Region and account."""
    stack = Stack(app, "Test")
    cache(stack, 23).grant_pull(iam.User(stack, "User"))


def user_with_join_tokens(app: App) -> None:
    """The user's own statements name resources built with ``Fn.join`` (``${Token[Fn::Join.N]}``): each counts as
    an unknown token's longest value (128), not as the 21 characters of its token string."""
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region="us-east-1"))
    user = iam.User(stack, "User")
    buckets = [Fn.join("", ["arn:", Aws.PARTITION, f":s3:::bucket-{i}/*"]) for i in range(6)]
    user.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=buckets))
    cache(stack, 12).grant_pull(user)


def group_across_regions(app: App) -> None:
    group_stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region="us-east-1"))
    group = iam.Group(group_stack, "Group")
    for region in ("us-east-1", "eu-west-1"):
        stack = Stack(app, f"Cache-{region}", env=Environment(account=ACCOUNT, region=region))
        cache(stack, 40).grant_pull(group)


def imported_role_across_regions(app: App) -> None:
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region="us-east-1"))
    role = iam.Role.from_role_arn(stack, "Nodes", f"arn:aws:iam::{ACCOUNT}:role/nodes")
    for region in ("us-east-1", "eu-west-1", "eu-central-1"):
        target = stack if region == "us-east-1" else Stack(app, region, env=Environment(account=ACCOUNT, region=region))
        cache(target, 45, id="Cache").grant_pull(role)


#: (case id, what to build, the path named, the value pattern, the fix pattern)
REJECTED = [
    ("user-over-2048", user_with_many_rules, "Test/User", r"\d{4}", r"Grant at most (\d+) of the 30 rules"),
    ("agnostic-user-at-longest", agnostic_user, "Test/User", r"2\d{3}", r"Grant at most (\d+) of the 23 rules"),
    ("user-join-tokens-at-longest", user_with_join_tokens, "Test/User", r"2\d{3}", r"Grant at most (\d+) of the 12"),
    ("group-over-5120", group_across_regions, "Test/Group", r"\d{4}", r"Grant at most (\d+) of the 80 rules"),
    ("imported-role-over-10240", imported_role_across_regions, "Test/Nodes", r"1\d{4}", r"Grant at most (\d+) of"),
]


@pytest.mark.parametrize(("build", "path", "value", "fix"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED])
def test_identity_policies_over_iam_quotas_fail_with_path_value_and_fix_and_write_no_template(
    tmp_path, build, path, value, fix
):
    app = App(outdir=str(tmp_path))
    build(app)

    with pytest.raises(RuntimeError) as error:
        app.synth()

    message = str(error.value)
    assert f"[{path}] " in message, message
    assert re.search(f"got {value}\\. ", message), message
    found = re.search(fix, message)
    assert found and int(found.group(1)) > 0, message
    assert not list(tmp_path.glob("*.template.json"))


def test_the_rules_said_to_fit_do_fit():
    app = App()
    user_with_many_rules(app)
    with pytest.raises(RuntimeError) as error:
        app.synth()
    fit = int(re.search(r"Grant at most (\d+) of", str(error.value)).group(1))

    stack = Stack(App(), "Test", env=Environment(account=ACCOUNT, region="us-east-1"))
    cache(stack, fit, tags=True).grant_pull(iam.User(stack, "User"))
    stack.node.root.synth()  # no error


def role_across_regions(app: App, tags: tuple[bool, bool, bool] = (False, False, False)) -> Stack:
    """A role of the app granted on 135 rules of three Regions (``tags``: whether each Region's rules are tagged)."""
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region="us-east-1"))
    role = iam.Role(stack, "Nodes", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    for region, tagged in zip(("us-east-1", "eu-west-1", "eu-central-1"), tags, strict=True):
        target = stack if region == "us-east-1" else Stack(app, region, env=Environment(account=ACCOUNT, region=region))
        cache(target, 45, tags=tagged).grant_pull(role)
    return stack


@pytest.mark.parametrize("tags", [(False, False, False), (True, True, True)], ids=["untagged", "tagged"])
def test_a_role_defined_in_the_app_is_split_by_cdk_into_policies_that_each_fit(tags):
    app = App()
    role_across_regions(app, tags)

    template = app.synth().get_stack_by_name("Test").template
    policies = {
        k: r
        for k, r in template["Resources"].items()
        if k.startswith("Nodes") and "PolicyDocument" in r.get("Properties", {})
    }
    assert any(key.startswith("NodesOverflowPolicy") for key in policies)
    for key, policy in policies.items():
        quota = 6_144 if policy["Type"] == "AWS::IAM::ManagedPolicy" else 10_240
        assert deployed_length(policy["Properties"]["PolicyDocument"]) <= quota, key


def role_with_its_own_statements_first(app: App, *, tags: bool) -> None:
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region="us-east-1"))
    role = iam.Role(stack, "Nodes", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    role.add_to_policy(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=[f"arn:aws:s3:::bucket-{i:03d}/*" for i in range(290)])
    )
    cache(stack, 45, tags=tags).grant_pull(role)


def test_a_role_whose_own_statements_come_first_and_fill_its_policy_is_checked_after_cdks_split(tmp_path):
    """In an app with a tagging template, CDK moves the library's statement out, but its (unused) remainder, which
    copies it, stays behind."""
    app = App(outdir=str(tmp_path))
    role_with_its_own_statements_first(app, tags=True)

    with pytest.raises(RuntimeError, match=r"\[Test\] the role Test/Nodes's inline policies .*Grant at most"):
        app.synth()
    assert not list(tmp_path.glob("*.template.json"))


def test_without_a_tagging_template_cdks_split_of_a_role_whose_own_statements_come_first_fits():
    """No remainder is written where no template tags, so CDK's split alone decides (and keeps the quotas)."""
    app = App()
    role_with_its_own_statements_first(app, tags=False)

    template = app.synth().get_stack_by_name("Test").template
    inline = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    managed = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    assert managed  # CDK moved the library's statement out
    assert sum(deployed_length(r["Properties"]["PolicyDocument"]) for r in inline) <= 10_240
    assert all(deployed_length(r["Properties"]["PolicyDocument"]) <= 6_144 for r in managed)


def test_a_role_whose_tag_resource_remainders_cdk_cannot_size_fails_with_how_many_rules_fit(tmp_path):
    app = App(outdir=str(tmp_path))
    role_across_regions(app, (True, False, True))

    with pytest.raises(RuntimeError) as error:
        app.synth()

    message = str(error.value)
    assert re.search(
        r"\[Test\] the role Test/Nodes's inline policies .*: got 1\d{4}\. Grant at most \d+ of the 135", message
    )
    assert not list(tmp_path.glob("*.template.json"))
