"""The grant engine's fixes (issue 10): each test fails on the engine before it."""

import json

import pytest
from aws_cdk import App, Aspects, Environment, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match, Template

from cdk_ecr_ptc import PullThroughCache, PullThroughCacheRule, RegistryPolicyScope, Upstream
from tests.support import identity_statements, registry_policy, resources

QUAY = "arn:aws:ecr:us-east-1:111122223333:repository/quay/*"


def v2_cache(stack, **kwargs) -> PullThroughCache:
    return PullThroughCache(
        stack, "Cache", upstreams=[Upstream.quay()], registry_policy_scope=RegistryPolicyScope.V2, **kwargs
    )


def test_service_principal_is_limited_to_the_cache_account(stack):
    v2_cache(stack).grant_pull(iam.ServicePrincipal("codebuild.amazonaws.com"))

    (statement,) = registry_policy(stack)["Statement"]
    assert statement["Principal"] == {"Service": "codebuild.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_service_principal_in_a_v1_repository_policy_is_limited_too(stack):
    PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()]).grant_pull(
        iam.ServicePrincipal("codebuild.amazonaws.com")
    )

    (template,) = resources(stack, "AWS::ECR::RepositoryCreationTemplate").values()
    text = template["Properties"]["RepositoryPolicy"]
    assert "aws:SourceAccount" in json.dumps(text)


def test_imported_immutable_role_is_granted_through_the_registry_policy_with_a_warning(stack):
    node_role = iam.Role.from_role_arn(stack, "Nodes", "arn:aws:iam::111122223333:role/nodes", mutable=False)

    grant = v2_cache(stack).grant_pull(node_role)

    assert grant.success
    (statement,) = registry_policy(stack)["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:role/nodes"}
    Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp("imported immutable role"))


def test_role_of_another_environment_without_a_physical_name_names_the_fix():
    app = App()
    cache_stack = Stack(app, "Cache", env=Environment(account="111122223333", region="us-east-1"))
    workload = Stack(app, "Workload", env=Environment(account="222233334444", region="us-east-1"))
    puller = iam.Role(workload, "Puller", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))

    with pytest.raises(
        ValueError,
        match=r"\[Cache/Rule\] the role Workload/Puller of account 222233334444 .*"
        r"PhysicalName.GENERATE_IF_NEEDED",
    ):
        PullThroughCacheRule(cache_stack, "Rule", upstream=Upstream.quay()).grant_pull(puller)


def test_reading_the_registry_policy_defines_nothing(stack):
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])

    assert cache.registry_policy.is_empty
    assert resources(stack, "AWS::ECR::RegistryPolicy") == {}


def test_grant_on_a_cache_without_rules_succeeds_and_applies_to_later_rules(stack):
    cache = PullThroughCache(stack, "Cache")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))

    grant = cache.grant_pull_through(role)
    grant.assert_success()
    cache.add_upstream(Upstream.quay())

    assert identity_statements(stack) == [
        {"Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"], "Effect": "Allow", "Resource": QUAY}
    ]


class _Nodegroup:
    """Stands for an EKS Nodegroup: not an IGrantable, but it exposes its role."""

    def __init__(self, role: iam.IRole) -> None:
        self.role = role


def test_grants_accept_anything_that_exposes_a_role(stack):
    role = iam.Role(stack, "NodeRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))

    assert PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()]).grant_pull(_Nodegroup(role)).success

    assert {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"} in identity_statements(stack)


def test_eks_nodegroup_is_granted_through_its_node_role(stack):
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_eks as eks

    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["us-east-1a"], private_subnet_ids=["subnet-1"]
    )
    cluster = eks.Cluster.from_cluster_attributes(stack, "Cluster", cluster_name="c", vpc=vpc)
    nodegroup = eks.Nodegroup(stack, "Nodes", cluster=cluster, subnets=ec2.SubnetSelection(subnets=vpc.private_subnets))

    assert PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()]).grant_pull(nodegroup).success
    assert any(s["Resource"] == QUAY for s in identity_statements(stack))


def test_fails_on_a_grantee_that_is_no_principal(stack):
    with pytest.raises(ValueError, match=r"\[Test/Cache\] a grant needs an iam.IGrantable .*: got 'NoneType'"):
        PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()]).grant_pull(None)


def test_a_condition_added_after_the_grant_reaches_the_registry_policy(stack):
    grant = v2_cache(stack).grant_pull(iam.AccountPrincipal("222233334444"))

    grant.resource_statement.add_condition("StringEquals", {"aws:PrincipalTag/team": "a"})

    statements = registry_policy(stack)["Statement"]
    assert [s.get("Condition") for s in statements] == [{"StringEquals": {"aws:PrincipalTag/team": "a"}}]


def test_a_principal_added_after_an_account_grant_reaches_the_registry_policy(stack):
    """An account grant's statement is rendered with its account's root ARN; one the user changed, as CDK renders it."""
    cache = v2_cache(stack)
    grant = cache.grant_pull(iam.AccountPrincipal("222233334444"))
    cache.grant_pull(iam.AccountPrincipal("333344445555"))

    grant.resource_statement.add_principals(iam.ArnPrincipal("arn:aws:iam::444455556666:role/extra"))

    def deployed(value):  # the stack is in us-east-1: AWS::Partition is aws
        return (
            value
            if isinstance(value, str)
            else "".join("aws" if part == {"Ref": "AWS::Partition"} else part for part in value["Fn::Join"][1])
        )

    [statement] = registry_policy(stack)["Statement"]
    assert sorted(map(deployed, statement["Principal"]["AWS"])) == [
        "arn:aws:iam::222233334444:root",
        "arn:aws:iam::333344445555:root",
        "arn:aws:iam::444455556666:role/extra",
    ]


def test_a_registry_policy_statement_without_principal_fails(stack):
    policy = v2_cache(stack).registry_policy
    policy.add_to_resource_policy(iam.PolicyStatement(actions=["ecr:BatchGetImage"], resources=[QUAY]))

    with pytest.raises(RuntimeError, match="at least one IAM principal"):
        Template.from_stack(stack)


def test_repository_wildcards_are_acknowledged_on_the_grantees_policy_not_the_app(stack):
    from aws_cdk import Validations
    from cdk_nag import AwsSolutionsChecks

    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])
    cache.grant_pull_through(iam.Role(stack, "Puller", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com")))
    mine = iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    mine.add_to_policy(iam.PolicyStatement(actions=["ecr:DeleteRepository"], resources=[QUAY]))
    Validations.of(stack.node.root).add_plugins(AwsSolutionsChecks(stack.node.root))

    with pytest.raises(RuntimeError) as error:
        stack.node.root.synth()
    message = str(error.value)
    assert "Mine/DefaultPolicy" in message and "Puller/DefaultPolicy" not in message


def test_principals_of_merged_statements_do_not_depend_on_unrelated_constructs():
    def policy_text(unrelated: int) -> str:
        app = App()
        stack = Stack(app, "Test", env=Environment(account="111122223333", region="us-east-1"))
        workload = Stack(app, "Workload", env=Environment(account="222233334444", region="us-east-1"))
        for index in range(unrelated):
            iam.Role(workload, f"Unrelated{index}", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
        cache = v2_cache(stack)
        for name in ("zeta", "alpha", "mid"):
            cache.grant_pull(
                iam.Role(workload, name, role_name=name, assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
            )
        return json.dumps(registry_policy(stack), sort_keys=True)

    assert policy_text(0) == policy_text(40)


def test_no_aspect_is_needed(stack):
    v2_cache(stack).grant_pull(iam.AccountPrincipal("222233334444"))
    assert Aspects.of(stack).all == [] and not Token.is_unresolved(registry_policy(stack))
