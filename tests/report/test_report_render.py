"""Markdown and JSON rendering of the report."""

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from cdk_ecr_ptc.report import to_json, to_markdown, to_mermaid
from cdk_ecr_ptc.report.render import cell


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(resources.files("cdk_ecr_ptc.report").joinpath("schema.json").read_text())


@pytest.fixture(scope="module")
def markdown(report: dict[str, Any]) -> list[str]:
    return to_markdown(report).splitlines()


def test_markdown_has_a_section_per_registry_and_lists_the_stacks(markdown: list[str]) -> None:
    assert "## Registry 111122223333/us-east-1" in markdown
    assert "## Registry stack Prod/Mirror" in markdown
    assert markdown[2] == (
        "Stacks: PtcStack (aws://111122223333/us-east-1), Prod/Mirror (aws://unknown-account/unknown-region)."
    )


def test_markdown_header_says_what_the_evaluator_understands(markdown: list[str]) -> None:
    assert (
        "- Only StringEquals/StringLike on aws:PrincipalOrgID and aws:PrincipalAccount are evaluated; other "
        "conditions count as not allowed (and as denying, on a Deny)."
    ) in markdown


def test_markdown_rules_table_renders_intrinsics(markdown: list[str]) -> None:
    assert (
        "| DockerHubRule | docker-hub | docker-hub | registry-1.docker.io | – "
        "| Ref:DockerHubSecret0A1B2C3D (AWS::SecretsManager::Secret) | – | DockerHubTemplate |"
    ) in markdown
    assert (
        "| RootRule | ROOT | ecr | 444455556666.dkr.ecr.us-west-2.${AWS::URLSuffix} | – | – "
        "| arn:aws:iam::111122223333:role/ptc-upstream | RootTemplate |"
    ) in markdown


def test_markdown_templates_table_says_lifecycle_rules_in_words(markdown: list[str]) -> None:
    assert (
        "| DockerHubTemplate | docker-hub | docker-hub | PULL_THROUGH_CACHE | MUTABLE | AES256 "
        "| team=platform | expire untagged after 14 days, keep the last 50 images | – "
        "| GetAtt:TemplateRoleA1B2C3D4.Arn | – |"
    ) in markdown
    assert "None: cache repositories get ECR's defaults." in markdown


def test_markdown_cells_say_allowed_or_the_first_blocking_side(markdown: list[str]) -> None:
    assert "| Principal | docker-hub | ecr-public | ROOT |" in markdown
    assert "| NodeRole4D5E6F70 (role in PtcStack, 111122223333) | ❌ identity | ✅ | ❌ identity |" in markdown
    assert (
        "| DeniedRole3C4D5E6F (role in PtcStack, 111122223333) | ❌ explicit deny | ❌ explicit deny "
        "| ❌ explicit deny |"
    ) in markdown
    assert "| MirrorPullerC0FFEE01 (role in Prod/Mirror) | ✅ |" in markdown
    (row,) = [line for line in markdown if line.startswith("| account 222233334444 (account) |")]
    assert row.split(" | ")[2] == "✅ (identity outside the assembly)"


def test_markdown_lists_missing_actions_once_per_principal(markdown: list[str]) -> None:
    assert (
        "- NodeRole4D5E6F70: ecr:CreateRepository (identity) on docker-hub, ROOT; ecr:TagResource (identity) "
        "on docker-hub" in markdown
    )
    assert "- DeniedRole3C4D5E6F: ecr:BatchImportUpstreamImage (explicit deny)" in markdown


def test_markdown_notes_name_the_principal_and_the_statement_once(markdown: list[str]) -> None:
    deny = (
        "- DeniedRole3C4D5E6F: ecr:BatchImportUpstreamImage denied by DeniedRole3C4D5E6F inline policy "
        "NoUpstreamImport (DenyImport)"
    )
    assert markdown.count(deny) == 2  # once per registry
    assert (
        "- account 444455556666: identity outside the assembly: its own account must grant "
        "ecr:GetAuthorizationToken, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, ecr:BatchImportUpstreamImage, "
        "ecr:CreateRepository"
    ) in markdown
    vpc = (
        "- anyone (*): ecr:BatchGetImage: Allow not counted: registry policy EcrRegistryPolicy (VpcOnly): "
        "condition StringEquals aws:SourceVpce not evaluated"
    )
    assert markdown.count(vpc) == 1


def test_markdown_lists_not_pullers_and_hidden_principals(markdown: list[str]) -> None:
    assert "## Not pullers" in markdown
    assert any(line.endswith(": TemplateRoleA1B2C3D4, IdleRole2B3C4D5E.") for line in markdown)
    assert any(
        line.startswith("Not shown: 1 roles and users") and line.endswith(": LonelyUser5EED1234.") for line in markdown
    )


def test_markdown_embeds_the_mermaid_diagram(report: dict[str, Any], markdown: list[str]) -> None:
    start = markdown.index("```mermaid")
    end = markdown.index("```", start + 1)

    assert "\n".join(markdown[start + 1 : end]) + "\n" == to_mermaid(report)


def test_cells_escape_pipes_and_show_absent_values() -> None:
    assert cell("a|b") == "a\\|b"
    assert cell(None) == cell([]) == "–"
    assert cell(["x", "y"]) == "x, y"


def test_json_matches_the_schema(report: dict[str, Any], schema: dict[str, Any]) -> None:
    document = json.loads(to_json(report))

    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    assert document == report
    assert document["version"] == 2 and schema["properties"]["version"] == {"const": 2}


def test_schema_rejects_a_version_1_document(report: dict[str, Any], schema: dict[str, Any]) -> None:
    document = json.loads(to_json(report)) | {"version": 1}

    with pytest.raises(jsonschema.ValidationError, match="2 was expected"):
        jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


def test_schema_rejects_an_access_entry_without_a_boolean_verdict(report: dict[str, Any], schema) -> None:
    document = json.loads(to_json(report))
    document["registries"][0]["access"][0]["allowed"] = "yes"

    with pytest.raises(jsonschema.ValidationError, match="'yes' is not of type 'boolean'"):
        jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
