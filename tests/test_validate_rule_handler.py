"""The post-deploy validation handler, run against botocore's Stubber (no network)."""

import botocore.session
import pytest
from botocore.stub import Stubber

from cdk_ecr_ptc.handlers import validate_rule

EVENT = {
    "RequestType": "Create",
    "ResourceProperties": {"EcrRepositoryPrefix": "docker-hub"},
    "StackId": "s",
    "RequestId": "r",
    "LogicalResourceId": "l",
}
ANSWER = {
    "ecrRepositoryPrefix": "docker-hub",
    "registryId": "111122223333",
    "upstreamRegistryUrl": "registry-1.docker.io",
}


@pytest.fixture
def ecr():
    client = botocore.session.get_session().create_client(
        "ecr", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_a_valid_rule_succeeds_with_one_physical_id_per_prefix(ecr):
    client, stubber = ecr
    stubber.add_response(
        "validate_pull_through_cache_rule", ANSWER | {"isValid": True}, {"ecrRepositoryPrefix": "docker-hub"}
    )

    answer = validate_rule.validate(EVENT, client)

    assert answer == {
        "PhysicalResourceId": "validate-docker-hub",
        "Data": {"UpstreamRegistryUrl": "registry-1.docker.io"},
    }


def test_an_invalid_rule_raises_with_the_service_failure_text(ecr):
    client, stubber = ecr
    stubber.add_response(
        "validate_pull_through_cache_rule",
        ANSWER | {"isValid": False, "failure": "Unable to authenticate: 401 Unauthorized"},
        {"ecrRepositoryPrefix": "docker-hub"},
    )

    with pytest.raises(
        RuntimeError,
        match=r"^ValidatePullThroughCacheRule docker-hub: .*"
        r"Unable to authenticate: 401 Unauthorized$",
    ):
        validate_rule.validate(EVENT | {"RequestType": "Update"}, client)


def test_a_service_error_propagates_so_the_provider_reports_it(ecr):
    client, stubber = ecr
    stubber.add_client_error(
        "validate_pull_through_cache_rule",
        "PullThroughCacheRuleNotFoundException",
        "The pull through cache rule with prefix 'docker-hub' does not exist",
    )

    with pytest.raises(client.exceptions.PullThroughCacheRuleNotFoundException, match="does not exist"):
        validate_rule.validate(EVENT, client)


def test_delete_calls_nothing_and_keeps_the_physical_id(monkeypatch):
    import boto3

    monkeypatch.setattr(boto3, "client", lambda *a, **k: pytest.fail("Delete must not call ECR"))

    answer = validate_rule.on_event(EVENT | {"RequestType": "Delete", "PhysicalResourceId": "validate-docker-hub"})

    assert answer == {"PhysicalResourceId": "validate-docker-hub"}


def test_the_entry_point_validates_with_an_ecr_client(monkeypatch, ecr):
    import boto3

    client, stubber = ecr
    stubber.add_response(
        "validate_pull_through_cache_rule", ANSWER | {"isValid": True}, {"ecrRepositoryPrefix": "docker-hub"}
    )
    monkeypatch.setattr(boto3, "client", lambda service: client if service == "ecr" else pytest.fail(service))

    assert validate_rule.on_event(EVENT)["PhysicalResourceId"] == "validate-docker-hub"


def test_the_handler_imports_only_boto3_and_the_standard_library():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(validate_rule.__file__).read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= {"__future__", "typing", "boto3"}
