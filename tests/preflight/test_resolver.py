"""The resolver: what CloudFormation passes to the handlers, for each intrinsic and each modelled resource type."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cdk_ecr_ptc.preflight.assembly import AGNOSTIC_ACCOUNT, Stack, read_stacks
from cdk_ecr_ptc.preflight.resolve import NO_VALUE, Resolver, Unresolved, generated_name

from .conftest import ACCOUNT, REGION, resource, write_assembly


def resolver(
    template: dict[str, Any],
    *,
    name: str = "Cache",
    account: str = ACCOUNT,
    region: str = REGION,
    parameters: dict[str, Any] | None = None,
) -> Resolver:
    return Resolver(
        Stack(name=name, display_name=name, account=account, region=region, agnostic=False, template=template),
        parameters,
    )


def test_pseudo_parameters():
    r = resolver({"Resources": {}}, region="cn-north-1")
    assert r.value({"Ref": "AWS::AccountId"}) == ACCOUNT
    assert r.value({"Ref": "AWS::Region"}) == "cn-north-1"
    assert r.value({"Ref": "AWS::Partition"}) == "aws-cn"
    assert r.value({"Ref": "AWS::URLSuffix"}) == "amazonaws.com.cn"
    assert r.value({"Ref": "AWS::StackName"}) == "Cache"
    assert re.fullmatch(
        r"arn:aws-cn:cloudformation:cn-north-1:111122223333:stack/Cache/[0-9a-f-]{36}", r.value({"Ref": "AWS::StackId"})
    )
    assert r.value({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_parameters_take_their_default_or_the_given_value():
    template = {
        "Parameters": {
            "Prefix": {"Type": "String", "Default": "quay"},
            "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"},
            "Bootstrap": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk/v"},
            "Required": {"Type": "String"},
        },
        "Resources": {},
    }
    r = resolver(template)
    assert r.value({"Ref": "Prefix"}) == "quay"
    assert r.value({"Ref": "Zones"}) == ["a", "b"]
    with pytest.raises(Unresolved):
        r.value({"Ref": "Bootstrap"})  # SSM: known only at deploy
    with pytest.raises(Unresolved):
        r.value({"Ref": "Required"})
    assert resolver(template, parameters={"Required": "x"}).value({"Ref": "Required"}) == "x"


def test_join_sub_select_split():
    r = resolver({"Resources": {}})
    assert (
        r.value({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ecr:", {"Ref": "AWS::Region"}]]})
        == "arn:aws:ecr:eu-west-1"
    )
    assert (
        r.value({"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${!Literal}"})
        == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/${{Literal}}"
    )
    assert r.value({"Fn::Sub": ["${A}-${B}", {"A": "x", "B": {"Ref": "AWS::Region"}}]}) == f"x-{REGION}"
    assert r.value({"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}) == "b"
    assert r.value({"Fn::Select": ["0", {"Fn::GetAZs": ""}]}) == f"{REGION}a"
    with pytest.raises(Unresolved):
        r.value({"Fn::Select": [5, ["a"]]})


def test_conditions_and_if():
    template = {
        "Parameters": {"Env": {"Type": "String", "Default": "prod"}},
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
            "Both": {"Fn::And": [{"Condition": "IsProd"}, {"Fn::Or": [{"Condition": "NotProd"}, "true"]}]},
        },
        "Resources": {"Gone": {"Type": "AWS::SNS::Topic", "Condition": "NotProd"}},
    }
    r = resolver(template)
    assert r.value({"Fn::If": ["IsProd", "a", "b"]}) == "a"
    assert r.value({"Fn::If": ["NotProd", "a", "b"]}) == "b"
    assert r.condition("Both") is True
    assert r.exists("Gone") is False
    assert r.value({"A": {"Fn::If": ["NotProd", "x", {"Ref": "AWS::NoValue"}]}, "B": 1}) == {"B": 1}


def test_find_in_map_and_to_json_string():
    r = resolver({"Mappings": {"M": {"eu-west-1": {"Size": "large"}}}, "Resources": {}})
    assert r.value({"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "Size"]}) == "large"
    assert r.value({"Fn::ToJsonString": {"a": {"Ref": "AWS::Region"}}}) == '{"a":"eu-west-1"}'


def test_role_arn_keeps_its_path_and_ref_is_the_name():
    r = resolver(
        {
            "Resources": {
                "Named": resource("AWS::IAM::Role", {"RoleName": "cdk-ecr-ptc-x", "Path": "/cdk-ecr-ptc/"}),
                "Generated": resource("AWS::IAM::Role", {}),
            }
        }
    )
    assert r.value({"Fn::GetAtt": ["Named", "Arn"]}) == "arn:aws:iam::111122223333:role/cdk-ecr-ptc/cdk-ecr-ptc-x"
    assert r.value({"Ref": "Named"}) == "cdk-ecr-ptc-x"
    generated = r.value({"Fn::GetAtt": "Generated.Arn"})
    assert re.fullmatch(r"arn:aws:iam::111122223333:role/Cache-Generated-[A-Z0-9]{13}", generated)
    assert r.value({"Fn::GetAtt": ["Named", "RoleId"]}).startswith("AROA")


def test_generated_names_follow_cloudformation_form_and_truncate():
    assert re.fullmatch(r"Stack-Logical-[A-Z0-9]{13}", generated_name("Stack", "Logical", 64))
    long = generated_name("A" * 60, "B" * 60, 64)
    assert len(long) == 64 and long.startswith("A" * 24 + "-" + "B" * 25 + "-")
    assert generated_name("S", "L", 64) == generated_name("S", "L", 64)  # deterministic
    assert generated_name("Stack", "Repo", 256, lower=True).islower()


def test_secret_arn_has_the_six_character_suffix():
    r = resolver(
        {
            "Resources": {
                "Secret": resource("AWS::SecretsManager::Secret", {"Name": "ecr-pullthroughcache/x"}),
                "Unnamed": resource("AWS::SecretsManager::Secret", {}),
            }
        }
    )
    assert re.fullmatch(
        r"arn:aws:secretsmanager:eu-west-1:111122223333:secret:ecr-pullthroughcache/x-[A-Za-z0-9]{6}",
        r.value({"Ref": "Secret"}),
    )
    assert re.fullmatch(
        r"arn:aws:secretsmanager:eu-west-1:111122223333:secret:Unnamed-[A-Za-z0-9]{12}-[A-Za-z0-9]{6}",
        r.value({"Ref": "Unnamed"}),
    )


def test_kms_key_id_and_arn():
    r = resolver({"Resources": {"Key": resource("AWS::KMS::Key", {})}})
    key_id = r.value({"Ref": "Key"})
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", key_id)
    assert r.value({"Fn::GetAtt": ["Key", "Arn"]}) == f"arn:aws:kms:eu-west-1:111122223333:key/{key_id}"
    assert r.value({"Fn::GetAtt": ["Key", "KeyId"]}) == key_id


def test_other_modelled_types():
    r = resolver(
        {
            "Resources": {
                "Fn": resource("AWS::Lambda::Function", {"FunctionName": "f"}),
                "Logs": resource("AWS::Logs::LogGroup", {}),
                "Rule": resource("AWS::ECR::PullThroughCacheRule", {"EcrRepositoryPrefix": "quay"}),
                "Policy": resource("AWS::IAM::ManagedPolicy", {"ManagedPolicyName": "p", "Path": "/x/"}),
                "Repo": resource("AWS::ECR::Repository", {}),
            }
        }
    )
    assert r.value({"Fn::GetAtt": ["Fn", "Arn"]}) == "arn:aws:lambda:eu-west-1:111122223333:function:f"
    assert re.fullmatch(
        r"arn:aws:logs:eu-west-1:111122223333:log-group:Cache-Logs-[A-Z0-9]{13}:\*",
        r.value({"Fn::GetAtt": ["Logs", "Arn"]}),
    )
    assert r.value({"Ref": "Rule"}) == "quay"
    assert r.value({"Ref": "Policy"}) == "arn:aws:iam::111122223333:policy/x/p"
    assert r.value({"Ref": "Repo"}).islower()


def test_what_deploy_decides_stays_unresolved_and_tree_keeps_it():
    r = resolver({"Resources": {"Custom": resource("Custom::Thing", {})}})
    for node in (
        {"Ref": "Custom"},
        {"Fn::GetAtt": ["Custom", "Out"]},
        {"Fn::ImportValue": "x"},
        {"Fn::Join": ["", ["a", {"Ref": "Custom"}]]},
    ):
        with pytest.raises(Unresolved):
            r.value(node)
    kept = {"Fn::GetAtt": ["Custom", "Out"]}
    assert r.tree({"A": kept, "B": {"Ref": "AWS::Region"}}) == {"A": kept, "B": REGION}


def test_assembly_stacks_carry_their_cloudformation_name_and_agnostic_ones_a_stand_in(tmp_path):
    write_assembly(tmp_path / "a", {"Cache": {"Resources": {}}}, stage="prod")
    write_assembly(tmp_path / "b", {"Cache": {"Resources": {}}}, environment="aws://unknown-account/unknown-region")
    (stage,) = read_stacks(tmp_path / "a")
    assert (stage.name, stage.display_name, stage.agnostic) == ("prod-Cache", "prod/Cache", False)
    (agnostic,) = read_stacks(tmp_path / "b")
    assert (agnostic.account, agnostic.agnostic) == (AGNOSTIC_ACCOUNT, True)


def test_a_directory_of_get_template_output(tmp_path):
    (tmp_path / "Cache.json").write_text('{"TemplateBody": {"Resources": {}}}')
    (tmp_path / "Other.template.json").write_text('{"Resources": {}}')
    assert [s.name for s in read_stacks(tmp_path)] == ["Cache", "Other"]
