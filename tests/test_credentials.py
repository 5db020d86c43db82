"""Credential secrets: the name prefix, the placeholder token, retention, and the references."""

import json

import pytest
from aws_cdk import CfnParameter
from aws_cdk.assertions import Annotations, Match, Template

from cdk_ecr_ptc import PullThroughCacheRule, Upstream, UpstreamCredentials
from tests.support import resources


def test_new_secret_is_prefixed_kept_except_on_a_failed_create_and_holds_no_credential(stack):
    creds = UpstreamCredentials.new_secret(stack, "Hub", name="docker-hub", username="me")
    PullThroughCacheRule(stack, "Rule", upstream=Upstream.docker_hub(credentials=creds))

    (secret,) = resources(stack, "AWS::SecretsManager::Secret").values()
    assert secret["Properties"]["Name"] == "ecr-pullthroughcache/docker-hub"
    # Deleted when the first create rolls back, so that a retry does not collide on the fixed name.
    assert secret["DeletionPolicy"] == "RetainExceptOnCreate"
    assert secret["UpdateReplacePolicy"] == "Retain"
    assert "SecretString" not in secret["Properties"]
    generated = secret["Properties"]["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {"username": "me"}
    assert generated["GenerateStringKey"] == "accessToken"
    assert "KmsKeyId" not in secret["Properties"]


def test_rule_references_the_new_secret_so_it_exists_first(stack):
    creds = UpstreamCredentials.new_secret(stack, "Hub", name="docker-hub", username="me")
    PullThroughCacheRule(stack, "Rule", upstream=Upstream.docker_hub(credentials=creds))

    (logical_id,) = resources(stack, "AWS::SecretsManager::Secret")
    Template.from_stack(stack).has_resource_properties(
        "AWS::ECR::PullThroughCacheRule", {"CredentialArn": {"Ref": logical_id}}
    )


def test_from_secret_name_renders_a_partial_arn_with_the_name(stack):
    PullThroughCacheRule(
        stack,
        "Rule",
        upstream=Upstream.github(credentials=UpstreamCredentials.from_secret_name("ecr-pullthroughcache/github")),
    )

    (rule,) = resources(stack, "AWS::ECR::PullThroughCacheRule").values()
    arn = rule["Properties"]["CredentialArn"]
    rendered = arn if isinstance(arn, str) else "".join(p if isinstance(p, str) else "X" for p in arn["Fn::Join"][1])
    assert rendered.endswith(":111122223333:secret:ecr-pullthroughcache/github")


def test_secret_arn_from_a_parameter_passes_validation(stack):
    arn = CfnParameter(stack, "SecretArn").value_as_string
    PullThroughCacheRule(
        stack, "Rule", upstream=Upstream.gitlab(credentials=UpstreamCredentials.from_secret_complete_arn(arn))
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::ECR::PullThroughCacheRule", {"CredentialArn": {"Ref": "SecretArn"}}
    )


def test_credentials_are_built_only_by_a_factory():
    with pytest.raises(TypeError, match=r"^\[UpstreamCredentials\] the constructor is not public: .*from_secret"):
        UpstreamCredentials()
    with pytest.raises(TypeError, match="constructor is not public"):
        UpstreamCredentials(object(), name="ecr-pullthroughcache/hub")


def test_each_factory_gives_exactly_one_source(stack):
    for creds in (
        UpstreamCredentials.from_secret_name("ecr-pullthroughcache/hub"),
        UpstreamCredentials.from_secret_complete_arn(
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:ecr-pullthroughcache/hub-AbCdEf"
        ),
        UpstreamCredentials.new_secret(stack, "Hub", name="hub", username="me"),
    ):
        assert [s is not None for s in (creds._secret, creds._name, creds._complete_arn)].count(True) == 1


def test_a_name_that_looks_suffixed_is_warned(stack):
    PullThroughCacheRule(
        stack,
        "Rule",
        upstream=Upstream.github(credentials=UpstreamCredentials.from_secret_name("ecr-pullthroughcache/gh-abc123")),
    )

    Annotations.from_stack(stack).has_warning(
        "/Test/Rule", Match.string_like_regexp("ends like a random suffix.*from_secret_complete_arn")
    )


def test_a_plain_name_is_not_warned(stack):
    PullThroughCacheRule(
        stack,
        "Rule",
        upstream=Upstream.github(credentials=UpstreamCredentials.from_secret_name("ecr-pullthroughcache/github")),
    )

    assert Annotations.from_stack(stack).find_warning("*", Match.any_value()) == []
