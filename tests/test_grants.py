"""Where each grant lands: identity policies, the registry policy, or both."""

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam

from cdk_ecr_ptc import PullThroughCache, PullThroughCacheRule, RegistryPolicyScope, Upstream
from tests.support import as_list, flatten, identity_statements, registry_policy, resources

PULL_THROUGH = ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
PULL = PULL_THROUGH + ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
QUAY = "arn:aws:ecr:us-east-1:111122223333:repository/quay/*"
ECR_PUBLIC = "arn:aws:ecr:us-east-1:111122223333:repository/ecr-public/*"


def role(scope, id="Puller") -> iam.Role:
    return iam.Role(scope, id, assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))


def test_aws_documented_registry_policy_statement_comes_out_exactly(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.ecr_public())

    rule.grant_pull_through(iam.ArnPrincipal("arn:aws:iam::111122223333:user/ecr-pull-through-cache-user"))

    assert registry_policy(stack) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:user/ecr-pull-through-cache-user"},
                "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
                "Resource": "arn:aws:ecr:us-east-1:111122223333:repository/ecr-public/*",
            }
        ],
    }


def test_grant_pull_through_on_a_role_adds_exactly_two_actions_to_its_policy(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay())

    grant = rule.grant_pull_through(role(stack))

    assert grant.success
    assert identity_statements(stack) == [{"Action": PULL_THROUGH, "Effect": "Allow", "Resource": QUAY}]
    assert resources(stack, "AWS::ECR::RegistryPolicy") == {}


def test_grant_pull_on_a_role_adds_pull_actions_and_the_token(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay())

    rule.grant_pull(role(stack))

    assert identity_statements(stack) == [
        {"Action": PULL, "Effect": "Allow", "Resource": QUAY},
        {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"},
    ]


def test_grants_on_many_rules_merge_into_one_statement_per_action_set(stack):
    cache = PullThroughCache(stack, "Cache")
    puller = role(stack)
    for index in range(20):
        cache.add_upstream(Upstream.quay(prefix=f"quay{index:02d}")).grant_pull(puller)

    statements = identity_statements(stack)
    assert len(statements) == 2
    assert len(statements[0]["Resource"]) == 20


def test_cache_grant_applies_to_rules_added_later(stack):
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])
    cache.grant_pull_through(role(stack))

    cache.add_upstream(Upstream.ecr_public())

    assert identity_statements(stack) == [{"Action": PULL_THROUGH, "Effect": "Allow", "Resource": [QUAY, ECR_PUBLIC]}]


def test_cache_grant_before_any_rule_is_a_dropped_grant_until_rules_come(stack):
    cache = PullThroughCache(stack, "Cache")

    grant = cache.grant_pull_through(role(stack))
    cache.add_upstream(Upstream.quay())

    assert grant.principal_statements == []
    assert identity_statements(stack) == [{"Action": PULL_THROUGH, "Effect": "Allow", "Resource": QUAY}]


def test_user_and_group_get_identity_statements(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay())

    rule.grant_pull_through(iam.User(stack, "User"))
    rule.grant_pull_through(iam.Group(stack, "Group"))

    policies = resources(stack, "AWS::IAM::Policy").values()
    attached = sorted(key for policy in policies for key in ("Users", "Groups") if key in policy["Properties"])
    assert attached == ["Groups", "Users"]


def test_ecs_task_definition_and_codebuild_project_are_granted_through_their_roles(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay())
    task = ecs.FargateTaskDefinition(stack, "Task")
    project = codebuild.PipelineProject(stack, "Build")

    assert rule.grant_pull(task.task_role).success
    assert rule.grant_pull(task.obtain_execution_role()).success
    assert rule.grant_pull(project).success
    assert sum(s["Resource"] == QUAY for s in identity_statements(stack)) == 3
    assert resources(stack, "AWS::ECR::RegistryPolicy") == {}


def test_account_principal_of_another_account_goes_to_the_registry_policy(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay())

    grant = rule.grant_pull(iam.AccountPrincipal("222233334444"))

    assert grant.success
    assert registry_policy(stack)["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::222233334444:root"},
            "Action": PULL_THROUGH,
            "Resource": QUAY,
        }
    ]
    assert identity_statements(stack) == []


def test_organization_principal_uses_principal_org_id(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay())

    rule.grant_pull_through(iam.OrganizationPrincipal("o-abc123def4"))

    assert registry_policy(stack)["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": PULL_THROUGH,
            "Resource": QUAY,
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}},
        }
    ]


def test_role_of_another_account_in_the_app_gets_both_sides():
    app = App()
    cache_stack = Stack(app, "Cache", env=Environment(account="111122223333", region="us-east-1"))
    workload = Stack(app, "Workload", env=Environment(account="222233334444", region="us-east-1"))
    cache = PullThroughCache(cache_stack, "Cache", upstreams=[Upstream.quay()])
    puller = iam.Role(workload, "Puller", role_name="puller", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))

    cache.grant_pull(puller)

    assert identity_statements(workload) == [
        {"Action": PULL, "Effect": "Allow", "Resource": QUAY},
        {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"},
    ]
    (statement,) = registry_policy(cache_stack)["Statement"]
    assert flatten(statement["Principal"]["AWS"]) == "arn:TOKEN:iam::222233334444:role/puller"
    assert statement["Resource"] == QUAY


def test_imported_role_of_another_account_goes_to_the_registry_policy(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay())
    imported = iam.Role.from_role_arn(stack, "Imported", "arn:aws:iam::222233334444:role/ci")

    rule.grant_pull(imported)

    assert identity_statements(stack) == []
    (statement,) = registry_policy(stack)["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::222233334444:role/ci"}


def test_registry_policy_merges_principals_with_the_same_grants(stack):
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(), Upstream.ecr_public()])

    for account in ("222233334444", "333344445555", "222233334444"):
        cache.grant_pull(iam.AccountPrincipal(account))

    (statement,) = registry_policy(stack)["Statement"]
    assert statement["Principal"] == {"AWS": ["arn:aws:iam::222233334444:root", "arn:aws:iam::333344445555:root"]}
    assert statement["Resource"] == [ECR_PUBLIC, QUAY]


def test_registry_policy_keeps_different_action_sets_apart(stack):
    cache = PullThroughCache(
        stack, "Cache", upstreams=[Upstream.quay(), Upstream.ecr_public()], registry_policy_scope=RegistryPolicyScope.V2
    )

    cache.rule("quay").grant_pull(iam.AccountPrincipal("222233334444"))
    cache.rule("ecr-public").grant_pull_through(iam.AccountPrincipal("222233334444"))

    statements = registry_policy(stack)["Statement"]
    assert {(str(s["Resource"]), len(as_list(s["Action"]))) for s in statements} == {(QUAY, 5), (ECR_PUBLIC, 2)}


def test_grants_in_agnostic_stacks_stay_on_the_identity_side(agnostic_stack):
    rule = PullThroughCacheRule(agnostic_stack, "Rule", upstream=Upstream.quay())

    rule.grant_pull(role(agnostic_stack))

    assert len(identity_statements(agnostic_stack)) == 2
    assert resources(agnostic_stack, "AWS::ECR::RegistryPolicy") == {}
