"""Each single-stack check: a hand-made template that fails it, and one that passes."""

from __future__ import annotations

import json

from cfnlint.api import lint

from cdk_ecr_ptc.preflight import preflight

from .conftest import LAMBDA_TRUST, creation_template, registry_policy, resource, role, rule, template


def findings(directory, check=None):
    found = preflight(directory)["findings"]
    return [f for f in found if check is None or f["check"] == check]


# -- schema: resolved values against the registry schemas ------------------------------------------


def test_fails_a_template_role_with_a_path_that_ecr_rejects(assembly):
    cache = template(Rule=rule(), Template=creation_template(), TemplateRole=role(path="/cdk-ecr-ptc/"))

    (finding,) = findings(assembly(cache), "schema")

    assert finding["path"] == "Cache/quay/Template/Resource"
    assert finding["value"].startswith("arn:aws:iam::111122223333:role/cdk-ecr-ptc/Cache-TemplateRole-")
    assert "E3031" in finding["problem"] and "CustomRoleArn" in finding["problem"]
    assert "Cache/Role/Resource" in finding["fix"]


def test_raw_cfn_lint_cannot_see_it_because_the_getatt_is_a_token():
    cache = template(Rule=rule(), Template=creation_template(), TemplateRole=role(path="/cdk-ecr-ptc/"))
    assert not [m for m in lint(json.dumps(cache), regions=["eu-west-1"]) if m.rule.id == "E3031"]


def test_passes_a_template_role_without_a_path(assembly):
    cache = template(Rule=rule(), Template=creation_template(), TemplateRole=role(path="/"))
    assert findings(assembly(cache)) == []


def test_fails_a_resolved_prefix_that_breaks_the_pattern(assembly):
    cache = template(Rule=rule(prefix={"Fn::Join": ["", ["Quay", "_Upper"]]}))
    (finding,) = findings(assembly(cache), "schema")
    assert finding["value"] == "Quay_Upper" and "EcrRepositoryPrefix" in finding["problem"]


# -- registry-policy scope -----------------------------------------------------------------------


def test_fails_pull_actions_in_a_registry_policy_without_a_declared_scope(assembly):
    cache = template(
        Policy=registry_policy(
            "ecr:CreateRepository", "ecr:BatchImportUpstreamImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"
        )
    )
    (finding,) = findings(assembly(cache), "registry-policy-scope")
    assert json.loads(finding["value"]) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    assert finding["path"] == "Cache/RegistryPolicy/Resource"


def test_fails_a_wildcard_action_in_a_v1_registry_policy(assembly):
    cache = template(Policy=registry_policy("ecr:*", scope="V1"))
    assert [f["value"] for f in findings(assembly(cache), "registry-policy-scope")] == ['["ecr:*"]']


def test_passes_the_v1_actions_and_a_declared_v2_scope(assembly):
    v1 = template(Policy=registry_policy("ecr:CreateRepository", "ecr:BatchImportUpstreamImage", "ecr:ReplicateImage"))
    v2 = template(Policy=registry_policy("ecr:BatchGetImage", "ecr:CreateRepository", scope="V2"))
    assert findings(assembly(v1)) == []
    assert findings(assembly(v2)) == []


# -- retained resources with fixed names --------------------------------------------------------


def _secret(**attributes):
    return resource(
        "AWS::SecretsManager::Secret",
        {"Name": "ecr-pullthroughcache/docker-hub", "SecretString": "{}"},
        "Cache/Secret/Resource",
        **attributes,
    )


def test_fails_a_retained_secret_with_a_fixed_name(assembly):
    cache = template(Secret=_secret(DeletionPolicy="Retain", UpdateReplacePolicy="Retain"))
    (finding,) = findings(assembly(cache), "retained-fixed-name")
    assert finding["value"] == "ecr-pullthroughcache/docker-hub"
    assert "RETAIN_ON_UPDATE_OR_DELETE" in finding["fix"]


def test_fails_a_retained_rule_too(assembly):
    cache = template(Rule=rule() | {"DeletionPolicy": "Retain"})
    assert [f["value"] for f in findings(assembly(cache), "retained-fixed-name")] == ["quay"]


def test_passes_retain_except_on_create_and_a_generated_name(assembly):
    kept = template(Secret=_secret(DeletionPolicy="RetainExceptOnCreate", UpdateReplacePolicy="Retain"))
    unnamed = template(Secret=resource("AWS::SecretsManager::Secret", {"SecretString": "{}"}, DeletionPolicy="Retain"))
    assert findings(assembly(kept)) == []
    assert findings(assembly(unnamed)) == []


# -- custom resources ----------------------------------------------------------------------------


def _custom(function_props, custom_props):
    return template(
        HandlerRole=role(trust=LAMBDA_TRUST),
        Handler=resource(
            "AWS::Lambda::Function",
            {
                "Code": {"ZipFile": "def handler(event, context): pass"},
                "Handler": "index.handler",
                "Runtime": "python3.13",
                "Role": {"Fn::GetAtt": ["HandlerRole", "Arn"]},
                **function_props,
            },
            "Cache/Validator/Handler/Resource",
        ),
        Validate=resource(
            "AWS::CloudFormation::CustomResource",
            {"ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]}, **custom_props},
            "Cache/Validator/Resource",
        ),
    )


def test_fails_a_custom_resource_with_the_default_timeout_and_no_service_timeout(assembly):
    found = findings(assembly(_custom({}, {})), "custom-resource-timeout")
    assert sorted((f["path"], f["value"]) for f in found) == [
        ("Cache/Validator/Handler/Resource", "Timeout 3"),
        ("Cache/Validator/Resource", "ServiceTimeout absent"),
    ]


def test_fails_a_timeout_under_30_seconds_named_through_a_join(assembly):
    cache = _custom({"Timeout": 10}, {"ServiceTimeout": 300})
    cache["Resources"]["Validate"]["Properties"]["ServiceToken"] = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":lambda:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":function:",
                {"Ref": "Handler"},
            ],
        ]
    }
    assert [f["value"] for f in findings(assembly(cache), "custom-resource-timeout")] == ["Timeout 10"]


def test_passes_a_minute_and_a_service_timeout(assembly):
    assert findings(assembly(_custom({"Timeout": 60}, {"ServiceTimeout": 300})), "custom-resource-timeout") == []


def test_an_environment_agnostic_stack_is_resolved_in_a_stand_in_account_and_says_so(tmp_path):
    from .conftest import write_assembly

    cache = template(Rule=rule(), Template=creation_template(), TemplateRole=role(path="/x/"))
    directory = write_assembly(tmp_path, {"Cache": cache}, environment="aws://unknown-account/unknown-region")

    report = preflight(directory)

    assert report["notes"] == ["Cache is environment-agnostic: resolved in account 123456789012, Region us-east-1"]
    assert report["findings"][0]["value"].startswith("arn:aws:iam::123456789012:role/x/")
