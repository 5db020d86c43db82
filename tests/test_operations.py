"""The opt-in validation after deploy (the deploying role's policy is in test_deployment_policy.py)."""

import json

from aws_cdk.assertions import Annotations, Match

from cdk_ecr_ptc import (
    PullThroughCache,
    Upstream,
    UpstreamCredentials,
)
from tests.support import as_list, resources

HUB_ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:ecr-pullthroughcache/hub-AbCdEf"


def test_validation_after_deploy_is_off_by_default(stack):
    PullThroughCache(
        stack, "C", upstreams=[Upstream.docker_hub(credentials=UpstreamCredentials.from_secret_complete_arn(HUB_ARN))]
    )

    assert resources(stack, "AWS::Lambda::Function") == {}
    assert resources(stack, "Custom::PullThroughCacheRuleValidation") == {}


def test_validation_after_deploy_shares_one_provider_and_adds_a_check_per_rule(stack):
    creds = UpstreamCredentials.from_secret_complete_arn(HUB_ARN)
    cache = PullThroughCache(
        stack,
        "C",
        upstreams=[
            Upstream.docker_hub(credentials=creds, validate_after_deploy=True),
            Upstream.github(credentials=creds, validate_after_deploy=True),
            Upstream.quay(),
        ],
    )

    functions = resources(stack, "AWS::Lambda::Function")
    assert len(functions) == 2  # the handler and the Provider framework, whatever the number of rules
    checks = resources(stack, "Custom::PullThroughCacheRuleValidation")
    assert sorted(c["Properties"]["EcrRepositoryPrefix"] for c in checks.values()) == ["docker-hub", "github"]
    hub_rule = stack.get_logical_id(cache.rule("docker-hub").node.default_child)
    assert any(hub_rule in c.get("DependsOn", []) for c in checks.values())
    framework = {c["Properties"]["ServiceToken"]["Fn::GetAtt"][0] for c in checks.values()}
    assert len(framework) == 1 and framework <= set(functions)


def test_validation_never_leaves_cloudformation_waiting(stack):
    PullThroughCache(
        stack,
        "C",
        upstreams=[
            Upstream.docker_hub(
                credentials=UpstreamCredentials.from_secret_complete_arn(HUB_ARN), validate_after_deploy=True
            )
        ],
    )

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
    PullThroughCache(
        stack,
        "C",
        upstreams=[
            Upstream.docker_hub(
                credentials=UpstreamCredentials.from_secret_complete_arn(HUB_ARN), validate_after_deploy=True
            )
        ],
    )

    roles = resources(stack, "AWS::IAM::Role")
    assert len(roles) == 2
    for role in roles.values():
        assert role["Properties"]["RoleName"].startswith("cdk-ecr-ptc-us-east-1-")
        assert "Path" not in role["Properties"]
    functions = resources(stack, "AWS::Lambda::Function")
    (handler,) = [f for f in functions.values() if f["Properties"]["Handler"] == "validate_rule.on_event"]
    handler_role = handler["Properties"]["Role"]["Fn::GetAtt"][0]
    granted = {
        action
        for policy in resources(stack, "AWS::IAM::Policy").values()
        if {"Ref": handler_role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
    }
    assert granted == {"ecr:ValidatePullThroughCacheRule", "logs:CreateLogStream", "logs:PutLogEvents"}
    assert not any("secretsmanager" in json.dumps(p) for p in resources(stack, "AWS::IAM::Policy").values())


def test_validating_a_new_placeholder_secret_is_warned(stack):
    creds = UpstreamCredentials.new_secret(stack, "Hub", name="docker-hub", username="me")
    PullThroughCache(stack, "C", upstreams=[Upstream.docker_hub(credentials=creds, validate_after_deploy=True)])

    Annotations.from_stack(stack).has_warning(
        "/Test/C/docker-hub", Match.string_like_regexp("placeholder token until you put the real one")
    )


def test_validation_and_deployment_policy_pass_cdk_nag():
    from aws_cdk import App, Environment, Stack, Validations
    from cdk_nag import AwsSolutionsChecks

    from cdk_ecr_ptc import PullThroughCacheDeploymentPolicy

    app = App()
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    env = Environment(account="111122223333", region="us-east-1")
    cache = Stack(app, "Cache", env=env)
    PullThroughCache(
        cache,
        "C",
        upstreams=[
            Upstream.docker_hub(
                credentials=UpstreamCredentials.from_secret_complete_arn(HUB_ARN), validate_after_deploy=True
            )
        ],
    )
    PullThroughCacheDeploymentPolicy(Stack(app, "Deploy", env=env), "Policy", cache_stack=cache)

    app.synth()  # raises ValidationFailed on any unacknowledged finding
