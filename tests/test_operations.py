"""The deploying role's policy, and the opt-in validation after deploy."""

import json

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match, Template

from cdk_ecr_ptc import (
    PullThroughCache,
    PullThroughCacheDeploymentPolicy,
    RepositorySettings,
    Upstream,
    UpstreamCredentials,
)
from tests.support import as_list, resources

ENV = Environment(account="111122223333", region="us-east-1")
HUB_ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:ecr-pullthroughcache/hub-AbCdEf"


def deployment_policy(build) -> dict[str, set[str]]:
    """Synthesizes ``build(cache_stack)`` and the deployment policy; returns actions by resource."""
    app = App()
    cache_stack = Stack(app, "Cache", env=ENV)
    build(cache_stack)
    policy_stack = Stack(app, "Deploy", env=ENV)
    PullThroughCacheDeploymentPolicy(policy_stack, "Policy", cache_stack=cache_stack)
    (policy,) = resources(policy_stack, "AWS::IAM::ManagedPolicy").values()
    by_resource: dict[str, set[str]] = {}
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        for resource in statement["Resource"]:
            by_resource.setdefault(resource, set()).update(statement["Action"])
    return by_resource


def actions(by_resource: dict[str, set[str]]) -> set[str]:
    return set().union(*by_resource.values())


def test_rules_only_need_the_rule_actions():
    policy = deployment_policy(lambda s: PullThroughCache(s, "C", upstreams=[Upstream.quay()]))

    assert policy == {"*": {"ecr:CreatePullThroughCacheRule", "ecr:DeletePullThroughCacheRule",
                            "ecr:DescribePullThroughCacheRules"},
                      "arn:aws:iam::111122223333:role/aws-service-role/pullthroughcache.ecr.amazonaws.com/*":
                          {"iam:CreateServiceLinkedRole"}}


def test_registry_policy_and_templates_add_their_handler_actions():
    def build(stack):
        cache = PullThroughCache(stack, "C", upstreams=[Upstream.quay()],
                                 repository_settings=RepositorySettings(keep_last_images=5))
        cache.grant_pull(iam.AccountPrincipal("222233334444"))

    policy = deployment_policy(build)

    assert {"ecr:GetRegistryPolicy", "ecr:PutRegistryPolicy", "ecr:DeleteRegistryPolicy",
            "ecr:CreateRepositoryCreationTemplate", "ecr:UpdateRepositoryCreationTemplate",
            "ecr:DeleteRepositoryCreationTemplate", "ecr:DescribeRepositoryCreationTemplates"} <= policy["*"]
    assert policy["arn:aws:ecr:us-east-1:111122223333:repository/*"] == {
        "ecr:CreateRepository", "ecr:PutLifecyclePolicy", "ecr:SetRepositoryPolicy"}


def test_nothing_for_resources_that_are_absent():
    policy = deployment_policy(lambda s: PullThroughCache(s, "C", upstreams=[Upstream.quay()]))

    assert not {a for a in actions(policy) if "RegistryPolicy" in a or "Template" in a or a.startswith("secrets")}
    assert "iam:PassRole" not in actions(policy)


def test_secrets_are_read_by_name_and_new_ones_managed():
    def build(stack):
        new = UpstreamCredentials.new_secret(stack, "Gh", name="github", username="me")
        PullThroughCache(stack, "C", upstreams=[
            Upstream.docker_hub(credentials=UpstreamCredentials.from_secret_complete_arn(HUB_ARN)),
            Upstream.github(credentials=new)])

    policy = deployment_policy(build)

    hub = "arn:aws:secretsmanager:us-east-1:111122223333:secret:ecr-pullthroughcache/hub-??????"
    github = "arn:aws:secretsmanager:us-east-1:111122223333:secret:ecr-pullthroughcache/github-??????"
    assert policy[hub] == {"secretsmanager:GetSecretValue"}
    assert {"secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:GetSecretValue"} <= \
        policy[github]
    assert "secretsmanager:GetRandomPassword" in policy["*"]


def test_pass_role_only_for_the_library_roles_to_ecr():
    def build(stack):
        PullThroughCache(stack, "C", upstreams=[Upstream.ecr(account="999988887777", region="eu-west-1")],
                         repository_settings=RepositorySettings(resource_tags={"a": "b"}))

    app = App()
    cache_stack = Stack(app, "Cache", env=ENV)
    build(cache_stack)
    policy = PullThroughCacheDeploymentPolicy(Stack(app, "Deploy", env=ENV), "Policy", cache_stack=cache_stack)

    (pass_role,) = [s for s in policy.document()["Statement"] if s["Action"] == ["iam:PassRole"]]
    assert pass_role == {"Effect": "Allow", "Action": ["iam:PassRole"],
                         "Resource": ["arn:aws:iam::111122223333:role/cdk-ecr-ptc/*"],
                         "Condition": {"StringEquals": {"iam:PassedToService": "ecr.amazonaws.com"}}}
    assert {"iam:CreateRole", "iam:PutRolePolicy"} <= set(next(
        s for s in policy.document()["Statement"] if "iam:CreateRole" in s["Action"])["Action"])


def test_fails_when_a_passed_role_is_outside_the_library_path():
    app = App()
    cache_stack = Stack(app, "Cache", env=ENV)
    role = iam.Role(cache_stack, "Mine", assumed_by=iam.ServicePrincipal("pullthroughcache.ecr.amazonaws.com"))
    PullThroughCache(cache_stack, "C", upstreams=[Upstream.ecr(account="999988887777", region="eu-west-1",
                                                               role=role)])
    PullThroughCacheDeploymentPolicy(Stack(app, "Deploy", env=ENV), "Policy", cache_stack=cache_stack)

    with pytest.raises(RuntimeError, match=r"the role Cache/Mine is passed to ECR but is not under the path "
                                           r"/cdk-ecr-ptc/.*path='/cdk-ecr-ptc/'"):
        app.synth()


def test_validation_after_deploy_is_off_by_default(stack):
    PullThroughCache(stack, "C", upstreams=[Upstream.docker_hub(
        credentials=UpstreamCredentials.from_secret_complete_arn(HUB_ARN))])

    assert resources(stack, "AWS::Lambda::Function") == {}
    assert resources(stack, "Custom::PullThroughCacheRuleValidation") == {}


def test_validation_after_deploy_shares_one_provider_and_adds_a_check_per_rule(stack):
    creds = UpstreamCredentials.from_secret_complete_arn(HUB_ARN)
    cache = PullThroughCache(stack, "C", upstreams=[
        Upstream.docker_hub(credentials=creds, validate_after_deploy=True),
        Upstream.github(credentials=creds, validate_after_deploy=True), Upstream.quay()])

    functions = resources(stack, "AWS::Lambda::Function")
    assert len(functions) == 2  # the handler and the Provider framework, whatever the number of rules
    checks = resources(stack, "Custom::PullThroughCacheRuleValidation")
    assert sorted(c["Properties"]["EcrRepositoryPrefix"] for c in checks.values()) == ["docker-hub", "github"]
    hub_rule = stack.get_logical_id(cache.rule("docker-hub").node.default_child)
    assert any(hub_rule in c.get("DependsOn", []) for c in checks.values())
    framework = {c["Properties"]["ServiceToken"]["Fn::GetAtt"][0] for c in checks.values()}
    assert len(framework) == 1 and framework <= set(functions)


def test_validation_never_leaves_cloudformation_waiting(stack):
    PullThroughCache(stack, "C", upstreams=[Upstream.docker_hub(
        credentials=UpstreamCredentials.from_secret_complete_arn(HUB_ARN), validate_after_deploy=True)])

    (check,) = resources(stack, "Custom::PullThroughCacheRuleValidation").values()
    assert 60 <= int(check["Properties"]["ServiceTimeout"]) <= 900
    functions = resources(stack, "AWS::Lambda::Function")
    (handler,) = [f["Properties"] for f in functions.values() if f["Properties"]["Handler"] == "validate_rule.on_event"]
    assert 60 <= handler["Timeout"] < int(check["Properties"]["ServiceTimeout"])
    log_groups = resources(stack, "AWS::Logs::LogGroup")
    for function in functions.values():
        log_group = log_groups[function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]]
        assert log_group["Properties"]["RetentionInDays"] == 30


def test_validation_roles_are_named_without_path_and_cannot_read_the_secret(stack):
    PullThroughCache(stack, "C", upstreams=[Upstream.docker_hub(
        credentials=UpstreamCredentials.from_secret_complete_arn(HUB_ARN), validate_after_deploy=True)])

    roles = resources(stack, "AWS::IAM::Role")
    assert len(roles) == 2
    for role in roles.values():
        assert role["Properties"]["RoleName"].startswith("cdk-ecr-ptc-us-east-1-")
        assert "Path" not in role["Properties"]
    functions = resources(stack, "AWS::Lambda::Function")
    (handler,) = [f for f in functions.values() if f["Properties"]["Handler"] == "validate_rule.on_event"]
    handler_role = handler["Properties"]["Role"]["Fn::GetAtt"][0]
    granted = {action for policy in resources(stack, "AWS::IAM::Policy").values()
               if {"Ref": handler_role} in policy["Properties"]["Roles"]
               for statement in policy["Properties"]["PolicyDocument"]["Statement"]
               for action in as_list(statement["Action"])}
    assert granted == {"ecr:ValidatePullThroughCacheRule", "logs:CreateLogStream", "logs:PutLogEvents"}
    assert not any("secretsmanager" in json.dumps(p) for p in resources(stack, "AWS::IAM::Policy").values())


def test_validating_a_new_placeholder_secret_is_warned(stack):
    creds = UpstreamCredentials.new_secret(stack, "Hub", name="docker-hub", username="me")
    PullThroughCache(stack, "C", upstreams=[Upstream.docker_hub(credentials=creds, validate_after_deploy=True)])

    Annotations.from_stack(stack).has_warning("/Test/C/docker-hub", Match.string_like_regexp(
        "placeholder token until you put the real one"))
