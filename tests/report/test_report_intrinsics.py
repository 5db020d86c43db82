"""Reading CloudFormation values: display of intrinsics, resolution for evaluation, JSON strings."""

import pytest

from cdk_ecr_ptc.report.intrinsics import Env, Resolver

PARTITION = {"Ref": "AWS::Partition"}
TEMPLATE = {
    "Resources": {
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
        "Named": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "puller", "Path": "/ci/"}},
        "Plain": {"Type": "AWS::IAM::User", "Properties": {}},
    },
    "Parameters": {"Prefix": {"Type": "String"}},
}


@pytest.fixture
def concrete() -> Resolver:
    return Resolver(TEMPLATE, Env.parse("aws://111122223333/cn-north-1"))


@pytest.fixture
def agnostic() -> Resolver:
    return Resolver(TEMPLATE, Env.parse("aws://unknown-account/unknown-region"))


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("unknown-region", "aws"),
    ],
)
def test_partition_is_derived_from_region(region: str, partition: str) -> None:
    assert Env.parse(f"aws://111122223333/{region}").partition == partition


def test_display_names_the_type_of_a_referenced_resource(concrete: Resolver) -> None:
    assert concrete.display({"Ref": "Secret"}) == "Ref:Secret (AWS::SecretsManager::Secret)"
    assert concrete.display({"Ref": "Prefix"}) == "Ref:Prefix (parameter)"
    assert concrete.display({"Fn::GetAtt": ["Named", "Arn"]}) == "GetAtt:Named.Arn"


def test_display_joins_with_placeholders(concrete: Resolver) -> None:
    value = {"Fn::Join": ["", ["arn:", PARTITION, ":iam::", {"Fn::GetAtt": "Named.Arn"}]]}

    assert concrete.display(value) == "arn:${AWS::Partition}:iam::${Named.Arn}"


def test_resolve_substitutes_pseudo_parameters(concrete: Resolver, agnostic: Resolver) -> None:
    value = {"Fn::Join": [":", [PARTITION, {"Ref": "AWS::Region"}, {"Ref": "AWS::AccountId"}]]}

    assert concrete.resolve(value) == "aws-cn:cn-north-1:111122223333"
    assert agnostic.resolve(value) == "aws:unknown-region:unknown-account"


def test_resolve_synthesizes_iam_arns_of_template_principals(concrete: Resolver) -> None:
    assert concrete.resolve({"Fn::GetAtt": ["Named", "Arn"]}) == "arn:aws-cn:iam::111122223333:role/ci/puller"
    assert concrete.resolve({"Fn::GetAtt": ["Plain", "Arn"]}) == "arn:aws-cn:iam::111122223333:user/Plain"
    assert concrete.resolve({"Ref": "Named"}) == "puller"


def test_resolve_leaves_other_intrinsics_as_placeholders(concrete: Resolver) -> None:
    assert concrete.resolve({"Ref": "Secret"}) == "{Ref:Secret}"
    assert concrete.resolve({"Fn::GetAtt": ["Secret", "Id"]}) == "{GetAtt:Secret.Id}"
    assert concrete.resolve({"Fn::If": ["C", "a", "b"]}) == "{Fn::If}"


def test_resolve_sub_replaces_variables(concrete: Resolver) -> None:
    value = {
        "Fn::Sub": [
            "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${P}/*",
            {"P": "x"},
        ]
    }

    assert concrete.resolve(value) == "arn:aws-cn:ecr:cn-north-1:111122223333:repository/x/*"


def test_json_document_parses_a_joined_json_string(concrete: Resolver) -> None:
    value = {
        "Fn::Join": [
            "",
            ['{"Principal":{"AWS":"arn:', PARTITION, ':iam::1:root"},"Ref":"', {"Ref": "Secret"}, '"}'],
        ]
    }

    assert concrete.json_document(value) == {
        "Principal": {"AWS": "arn:aws-cn:iam::1:root"},
        "Ref": "{Ref:Secret}",
    }


def test_json_document_resolves_intrinsics_inside_objects(concrete: Resolver) -> None:
    value = {"Statement": [{"Principal": {"AWS": {"Fn::GetAtt": ["Plain", "Arn"]}}}]}

    document = concrete.json_document(value)

    assert document == {"Statement": [{"Principal": {"AWS": "arn:aws-cn:iam::111122223333:user/Plain"}}]}


def test_json_document_is_none_for_text_that_is_not_an_object(concrete: Resolver) -> None:
    assert concrete.json_document("[1, 2]") is None
    assert concrete.json_document({"Fn::Join": ["", ["{", {"Ref": "Secret"}]]}) is None
