"""Reading cloud assemblies: stacks, nested Stage assemblies, and broken directories."""

import json
from pathlib import Path

import pytest

from cdk_ecr_ptc.report import AssemblyError, read_assembly


def test_reads_stacks_and_recurses_into_stage_assemblies(app_dir: Path) -> None:
    stacks = read_assembly(app_dir)

    assert [(s.name, s.environment) for s in stacks] == [
        ("PtcStack", "aws://111122223333/us-east-1"),
        ("Prod/Mirror", "aws://unknown-account/unknown-region"),
    ]
    assert "MirrorRule" in stacks[1].template["Resources"]


def test_fails_when_manifest_is_missing(tmp_path: Path) -> None:
    with pytest.raises(AssemblyError, match="manifest.json"):
        read_assembly(tmp_path)


def test_fails_when_template_is_not_json(tmp_path: Path) -> None:
    manifest = {"artifacts": {"S": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "S.json"}}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "S.json").write_text("{not json")

    with pytest.raises(AssemblyError, match="S.json is not valid JSON"):
        read_assembly(tmp_path)


def test_fails_when_stack_artifact_names_no_template(tmp_path: Path) -> None:
    manifest = {"artifacts": {"S": {"type": "aws:cloudformation:stack", "properties": {}}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(AssemblyError, match="templateFile"):
        read_assembly(tmp_path)
