"""Markdown and JSON rendering of the report."""

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from cdk_ecr_ptc.report import to_json, to_markdown
from cdk_ecr_ptc.report.render import cell


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(resources.files("cdk_ecr_ptc.report").joinpath("schema.json").read_text())


@pytest.fixture(scope="module")
def markdown(report: dict[str, Any]) -> list[str]:
    return to_markdown(report).splitlines()


def test_markdown_has_a_section_per_stack_with_its_environment(markdown: list[str]) -> None:
    assert "## Stack PtcStack (aws://111122223333/us-east-1)" in markdown
    assert "## Stack Prod/Mirror (aws://unknown-account/unknown-region)" in markdown


def test_markdown_rules_table_renders_intrinsics(markdown: list[str]) -> None:
    assert (
        "| DockerHubRule | docker-hub | docker-hub | registry-1.docker.io | – "
        "| Ref:DockerHubSecret0A1B2C3D (AWS::SecretsManager::Secret) | – | DockerHubTemplate |"
    ) in markdown
    assert (
        "| RootRule | ROOT | ecr | 444455556666.dkr.ecr.us-west-2.${AWS::URLSuffix} | – | – "
        "| arn:aws:iam::111122223333:role/ptc-upstream | RootTemplate |"
    ) in markdown


def test_markdown_templates_table(markdown: list[str]) -> None:
    assert (
        "| DockerHubTemplate | docker-hub | docker-hub | PULL_THROUGH_CACHE | MUTABLE | AES256 "
        "| team=platform | #1 expire untagged older than 14 days, #2 expire any beyond 50 images | – "
        "| GetAtt:TemplateRoleA1B2C3D4.Arn | – |"
    ) in markdown
    assert "None: cache repositories get ECR's defaults." in markdown


def test_markdown_matrix_rows(markdown: list[str]) -> None:
    assert "| Principal | docker-hub | ecr-public | ROOT |" in markdown
    assert (
        "| NodeRole4D5E6F70 (role) "
        "| ❌ missing: ecr:CreateRepository, ecr:TagResource (registry policy or identity) "
        "| ✅ | ❌ missing: ecr:CreateRepository (registry policy or identity) |"
    ) in markdown
    assert (
        "| DeniedRole3C4D5E6F (role) | ❌ denied: ecr:BatchImportUpstreamImage (identity) "
        "| ❌ denied: ecr:BatchImportUpstreamImage (identity) "
        "| ❌ denied: ecr:BatchImportUpstreamImage (identity) |"
    ) in markdown
    assert "| MirrorPullerC0FFEE01 (role) | ✅ |" in markdown


def test_markdown_matrix_marks_identity_outside_the_template(markdown: list[str]) -> None:
    (row,) = [line for line in markdown if line.startswith("| account 222233334444 (account) |")]

    assert row.split(" | ")[2] == "✅ (identity: outside this template)"


def test_markdown_notes_group_rules_and_say_each_reason_once(markdown: list[str]) -> None:
    assert (
        "- DeniedRole3C4D5E6F via docker-hub, ecr-public, ROOT: ecr:BatchImportUpstreamImage denied by "
        "DeniedRole3C4D5E6F inline policy NoUpstreamImport (DenyImport)"
    ) in markdown
    assert (
        "- account 444455556666 via quay: identity: outside this template (needs ecr:GetAuthorizationToken, "
        "ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, ecr:BatchImportUpstreamImage, ecr:CreateRepository)"
        in markdown
    )
    vpc = (
        "- Allow not counted: registry policy EcrRegistryPolicy (VpcOnly): "
        "condition StringEquals aws:SourceVpce not evaluated"
    )
    assert markdown.count(vpc) == 1


def test_cells_escape_pipes_and_show_absent_values() -> None:
    assert cell("a|b") == "a\\|b"
    assert cell(None) == cell([]) == "–"
    assert cell(["x", "y"]) == "x, y"


def test_json_matches_the_schema(report: dict[str, Any], schema: dict[str, Any]) -> None:
    document = json.loads(to_json(report))

    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    assert document == report


def test_schema_rejects_an_access_entry_without_a_boolean_verdict(report: dict[str, Any], schema) -> None:
    document = json.loads(to_json(report))
    document["stacks"][0]["access"][0]["allowed"] = "yes"

    with pytest.raises(jsonschema.ValidationError, match="'yes' is not of type 'boolean'"):
        jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
