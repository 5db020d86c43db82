"""Registry-policy scope: V1 (the default) keeps pull actions out of the registry policy, V2 puts them in."""

import json

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from botocore.stub import Stubber

from cdk_ecr_ptc import (
    PullThroughCache,
    PullThroughCacheRule,
    RegistryPolicy,
    RegistryPolicyScope,
    RepositorySettings,
    Upstream,
)
from cdk_ecr_ptc.handlers import registry_policy_scope as handler
from tests.support import as_list, registry_policy, resources

PULL_THROUGH = ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
REPOSITORY_PULL = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:BatchImportUpstreamImage",
    "ecr:GetDownloadUrlForLayer",
]
V1_ACTIONS = {"ecr:ReplicateImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"}
QUAY = "arn:aws:ecr:us-east-1:111122223333:repository/quay/*"
OTHER = "arn:aws:iam::222233334444:root"


def templates(stack) -> dict:
    return {
        t["Properties"]["Prefix"]: t["Properties"]
        for t in resources(stack, "AWS::ECR::RepositoryCreationTemplate").values()
    }


def registry_resource(stack) -> dict:
    (policy,) = resources(stack, "AWS::ECR::RegistryPolicy").values()
    return policy


def test_v1_registry_policy_holds_only_v1_actions_and_the_rule_template_gets_the_pulls(stack):
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])

    cache.grant_pull(iam.AccountPrincipal("222233334444"))
    cache.grant_pull(iam.OrganizationPrincipal("o-abc123def4"))
    cache.grant_pull(iam.ArnPrincipal("arn:aws:iam::333344445555:role/ci"))

    actions = {a for s in registry_policy(stack)["Statement"] for a in as_list(s["Action"])}
    assert actions <= V1_ACTIONS
    assert registry_resource(stack)["Metadata"]["cdk-ecr-ptc:registryPolicyScope"] == "V1"
    repository_policy = json.loads(templates(stack)["quay"]["RepositoryPolicy"])
    by_principal = {
        principal: s for s in repository_policy["Statement"] for principal in as_list(s["Principal"]["AWS"])
    }
    assert set(by_principal) == {"*", OTHER, "arn:aws:iam::333344445555:role/ci"}
    assert all(s["Action"] == REPOSITORY_PULL for s in by_principal.values())
    assert by_principal["*"]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}}


def test_v1_uses_the_rules_own_template_when_it_has_one(stack):
    cache = PullThroughCache(
        stack, "Cache", upstreams=[Upstream.quay()], repository_settings=RepositorySettings(keep_last_images=5)
    )

    cache.grant_pull(iam.AccountPrincipal("222233334444"))

    (template,) = templates(stack).values()
    assert "LifecyclePolicy" in template
    assert json.loads(template["RepositoryPolicy"])["Statement"][0]["Principal"] == {"AWS": OTHER}


def test_v1_template_created_for_a_rule_carries_over_the_covering_templates_settings(stack):
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])
    root = cache.add_repository_settings(
        RepositorySettings(keep_last_images=7, resource_tags={"team": "a"}), prefix="ROOT"
    )

    cache.grant_pull(iam.AccountPrincipal("222233334444"))

    found = templates(stack)
    assert set(found) == {"ROOT", "quay"}
    for key in ("LifecyclePolicy", "ResourceTags", "CustomRoleArn", "AppliedFor"):
        assert found["quay"][key] == found["ROOT"][key], key
    assert "RepositoryPolicy" not in found["ROOT"]
    assert len(resources(stack, "AWS::IAM::Role")) == 1  # the ROOT template's role is reused
    assert cache.rule("quay").template.settings.role is root.role


def test_v1_template_defined_by_a_grant_follows_a_covering_template_declared_later(stack):
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])
    cache.grant_pull(iam.AccountPrincipal("222233334444"))

    cache.add_repository_settings(RepositorySettings(keep_last_images=7, resource_tags={"team": "a"}), prefix="ROOT")

    found = templates(stack)
    assert found["quay"]["LifecyclePolicy"] == found["ROOT"]["LifecyclePolicy"]
    assert found["quay"]["ResourceTags"] == found["ROOT"]["ResourceTags"]
    assert json.loads(found["quay"]["RepositoryPolicy"])["Statement"][0]["Principal"] == {"AWS": OTHER}


def test_v1_settings_given_after_the_grant_replace_the_template_it_defined_and_keep_its_policy(stack):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay())
    rule.grant_pull(iam.AccountPrincipal("222233334444"))

    template = rule.add_repository_settings(RepositorySettings(keep_last_images=3))

    assert rule.template is template
    (found,) = templates(stack).values()
    assert "LifecyclePolicy" in found
    assert json.loads(found["RepositoryPolicy"])["Statement"][0]["Principal"] == {"AWS": OTHER}


def test_v1_identity_grants_need_no_template(stack):
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])

    cache.grant_pull(iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com")))

    assert templates(stack) == {}
    assert resources(stack, "AWS::ECR::RegistryPolicy") == {}


@pytest.mark.parametrize("declare", ["cache", "policy"])
def test_v2_puts_every_action_in_the_registry_policy_and_defines_no_template(stack, declare):
    if declare == "policy":
        RegistryPolicy.of(stack, registry_policy_scope=RegistryPolicyScope.V2)
    cache = PullThroughCache(
        stack,
        "Cache",
        upstreams=[Upstream.quay()],
        registry_policy_scope=RegistryPolicyScope.V2 if declare == "cache" else None,
    )

    cache.grant_pull(iam.AccountPrincipal("222233334444"))

    (statement,) = registry_policy(stack)["Statement"]
    assert sorted(statement["Action"]) == sorted(
        PULL_THROUGH + ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    )
    assert registry_resource(stack)["Metadata"]["cdk-ecr-ptc:registryPolicyScope"] == "V2"
    assert templates(stack) == {}


def test_fails_on_two_scopes_for_one_stack(stack):
    PullThroughCache(stack, "One", registry_policy_scope=RegistryPolicyScope.V2)

    with pytest.raises(ValueError, match=r"\[Test/Two\] the stack's registry-policy scope was declared V2 by Test/One"):
        PullThroughCache(stack, "Two", registry_policy_scope=RegistryPolicyScope.V1)


def test_fails_when_v2_is_declared_after_a_grant_routed_for_v1(stack):
    PullThroughCache(stack, "One", upstreams=[Upstream.quay()]).grant_pull(iam.AccountPrincipal("222233334444"))

    with pytest.raises(ValueError, match=r"\[Test/Two\] the registry-policy scope is declared after a grant"):
        PullThroughCache(stack, "Two", registry_policy_scope=RegistryPolicyScope.V2)


def test_fails_on_a_carried_over_statement_that_v1_rejects(stack):
    policy = RegistryPolicy.of(stack)
    policy.carry_over(
        {
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "ecr:BatchGetImage", "Resource": QUAY}
            ]
        }
    )

    with pytest.raises(RuntimeError, match=r"scope V1 rejects: got \['ecr:BatchGetImage'\]"):
        Template.from_stack(stack)


def test_fails_on_downstream_cache_grant_under_v1(stack):
    RegistryPolicy.of(stack).grant_downstream_cache("444455556666")

    with pytest.raises(RuntimeError, match="registry_policy_scope=RegistryPolicyScope.V2"):
        Template.from_stack(stack)


def test_fails_on_ensure_with_v1(stack):
    with pytest.raises(ValueError, match="ensure_registry_policy_scope sets the scope to V2"):
        PullThroughCache(
            stack, "Cache", registry_policy_scope=RegistryPolicyScope.V1, ensure_registry_policy_scope=True
        )


def test_ensure_sets_v2_before_the_registry_policy_is_written(stack):
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()], ensure_registry_policy_scope=True)
    cache.grant_pull(iam.AccountPrincipal("222233334444"))

    template = Template.from_stack(stack)
    ((setting_id, setting),) = template.find_resources("Custom::EcrRegistryPolicyScope").items()
    assert int(setting["Properties"]["ServiceTimeout"]) == 300
    policy = registry_resource(stack)
    assert policy["Metadata"]["cdk-ecr-ptc:registryPolicyScope"] == "V2"
    assert setting_id in policy["DependsOn"]
    functions = template.find_resources("AWS::Lambda::Function")
    assert any(
        f["Properties"].get("Handler") == "registry_policy_scope.on_event" and f["Properties"]["Timeout"] >= 60
        for f in functions.values()
    )
    for role in resources(stack, "AWS::IAM::Role").values():
        assert role["Properties"]["RoleName"].startswith("cdk-ecr-ptc-") and "Path" not in role["Properties"]


class _Ecr:
    def __init__(self):
        import botocore.session

        self.client = botocore.session.get_session().create_client(
            "ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        self.stub = Stubber(self.client)


def test_handler_puts_v2_when_the_account_is_on_v1():
    ecr = _Ecr()
    ecr.stub.add_response(
        "get_account_setting", {"name": "REGISTRY_POLICY_SCOPE", "value": "V1"}, {"name": "REGISTRY_POLICY_SCOPE"}
    )
    ecr.stub.add_response(
        "put_account_setting",
        {"name": "REGISTRY_POLICY_SCOPE", "value": "V2"},
        {"name": "REGISTRY_POLICY_SCOPE", "value": "V2"},
    )
    with ecr.stub:
        result = handler.on_event({"RequestType": "Create"}, client=ecr.client)
    ecr.stub.assert_no_pending_responses()
    assert result["Data"] == {"Previous": "V1", "Value": "V2"}


def test_handler_changes_nothing_when_already_v2_or_on_delete():
    ecr = _Ecr()
    ecr.stub.add_response(
        "get_account_setting", {"name": "REGISTRY_POLICY_SCOPE", "value": "V2"}, {"name": "REGISTRY_POLICY_SCOPE"}
    )
    with ecr.stub:
        handler.on_event({"RequestType": "Update", "PhysicalResourceId": "p"}, client=ecr.client)
        assert handler.on_event({"RequestType": "Delete", "PhysicalResourceId": "p"}, client=ecr.client) == {
            "PhysicalResourceId": "p"
        }
    ecr.stub.assert_no_pending_responses()


def test_handler_fails_with_the_service_error():
    ecr = _Ecr()
    ecr.stub.add_client_error("get_account_setting", "AccessDeniedException", "not allowed")
    with ecr.stub, pytest.raises(Exception, match="not allowed"):
        handler.on_event({"RequestType": "Create"}, client=ecr.client)


def test_cross_stack_role_of_another_account_lands_in_v1_template_and_registry_policy():
    app = App()
    cache_stack = Stack(app, "Cache", env=Environment(account="111122223333", region="us-east-1"))
    workload = Stack(app, "Workload", env=Environment(account="222233334444", region="us-east-1"))
    rule = PullThroughCacheRule(cache_stack, "Rule", upstream=Upstream.quay())
    puller = iam.Role(workload, "Puller", role_name="puller", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))

    rule.grant_pull(puller)

    (statement,) = registry_policy(cache_stack)["Statement"]
    assert sorted(statement["Action"]) == PULL_THROUGH
    assert "RepositoryPolicy" in templates(cache_stack)["quay"]


@pytest.mark.parametrize("template_first", [True, False])
def test_v1_grant_reaches_templates_of_more_specific_prefixes(stack, template_first):
    root = PullThroughCacheRule(
        stack, "Root", upstream=Upstream.ecr(account="111122223333", region="eu-west-1"), prefix="ROOT"
    )
    if template_first:
        PullThroughCacheRule(
            stack, "Quay", upstream=Upstream.quay(), repository_settings=RepositorySettings(keep_last_images=3)
        )
    root.grant_pull(iam.AccountPrincipal("222233334444"))
    if not template_first:
        PullThroughCacheRule(
            stack, "Quay", upstream=Upstream.quay(), repository_settings=RepositorySettings(keep_last_images=3)
        )

    for prefix in ("ROOT", "quay"):
        statements = json.loads(templates(stack)[prefix]["RepositoryPolicy"])["Statement"]
        assert [s["Principal"] for s in statements] == [{"AWS": OTHER}], prefix
