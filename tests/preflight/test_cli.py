"""The command line and the Python API's contract: exit codes, formats, the JSON schema, the optional extra."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files

import jsonschema
import pytest

from cdk_ecr_ptc.__main__ import main as dispatch
from cdk_ecr_ptc.preflight import cli

from .conftest import creation_template, registry_policy, role, rule, template


@pytest.fixture
def clean(assembly):
    return assembly(template(Rule=rule(), Policy=registry_policy("ecr:CreateRepository")))


@pytest.fixture
def dirty(assembly):
    return assembly(template(Rule=rule(), Template=creation_template(), TemplateRole=role(path="/x/")))


def test_exit_0_when_clean(clean, capsys):
    assert dispatch(["preflight", str(clean)]) == 0
    assert "No findings" in capsys.readouterr().out


def test_exit_1_on_findings_with_path_value_and_fix(dirty, capsys):
    assert dispatch(["preflight", str(dirty)]) == 1
    out = capsys.readouterr().out
    assert "## schema: Cache Cache/quay/Template/Resource" in out and "- Fix: " in out
    assert "arn:aws:iam::111122223333:role/x/Cache-TemplateRole-" in out


def test_exit_2_on_usage_errors(tmp_path, capsys):
    assert cli.main(["preflight", str(tmp_path / "missing")]) == 2
    assert cli.main(["preflight", "--format", "yaml"]) == 2
    assert cli.main(["preflight", str(tmp_path), "--parameter", "novalue"]) == 2


def test_json_matches_its_schema(dirty, clean, tmp_path, capsys):
    schema = json.loads(files("cdk_ecr_ptc.preflight").joinpath("schema.json").read_text())
    for directory in (dirty, clean):
        cli.main(["preflight", str(directory), "--format", "json", "--baseline", str(clean)])
        report = json.loads(capsys.readouterr().out)
        jsonschema.validate(report, schema)
    assert report["baseline"] == str(clean) and "replacement" in report["checks"]


def test_says_how_to_install_the_extra_when_cfn_lint_is_missing(clean, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cfnlint", None)
    assert cli.main(["preflight", str(clean)]) == 2
    assert "pip install 'cdk-ecr-ptc[preflight]'" in capsys.readouterr().err


def test_runs_as_a_module_without_the_cdk_runtime(dirty):
    code = (
        "import sys; from cdk_ecr_ptc.__main__ import main; rc = main(['preflight', sys.argv[1]]); "
        "assert 'jsii' not in sys.modules and 'aws_cdk' not in sys.modules, 'imported the CDK'; sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code, str(dirty)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
