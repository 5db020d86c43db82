"""The ``report`` command line: formats, ``--fail-on`` and exit codes."""

import json
import shutil
from pathlib import Path

import pytest

from cdk_ecr_ptc.report.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_writes_markdown_by_default(capsys, app_dir: Path) -> None:
    code, out, err = run(capsys, "report", str(app_dir))

    assert code == 0 and err == ""
    assert out.startswith("# ECR pull-through cache access report\n")


def test_reads_cdk_out_in_the_working_directory_by_default(
    capsys, app_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    shutil.copytree(app_dir, tmp_path / "cdk.out")
    monkeypatch.chdir(tmp_path)

    code, out, _ = run(capsys, "report", "--format", "json")

    assert code == 0
    assert [s["name"] for s in json.loads(out)["stacks"]] == ["PtcStack", "Prod/Mirror"]


def test_fail_on_principal_that_cannot_pull_exits_1_and_says_why(capsys, app_dir: Path) -> None:
    code, _, err = run(capsys, "report", str(app_dir), "--fail-on", "IdleRole2B3C4D5E")

    assert code == 1
    assert "FAIL IdleRole2B3C4D5E in PtcStack: cannot first-pull through any rule" in err
    assert "  ecr-public: missing ecr:GetAuthorizationToken (identity); " in err


def test_fail_on_denied_principal_names_the_deny(capsys, app_dir: Path) -> None:
    code, _, err = run(capsys, "report", str(app_dir), "--fail-on", "DeniedRole3C4D5E6F")

    assert code == 1
    assert "  ROOT: denied ecr:BatchImportUpstreamImage (identity)" in err


@pytest.mark.parametrize(
    "name",
    [
        "PullerRole8F9E0D1C",
        "arn:aws:iam::111122223333:role/eks-node",
        "organization o-abcdef1234",
        "MirrorPullerC0FFEE01",
    ],
)
def test_fail_on_principal_that_can_pull_through_some_rule_exits_0(capsys, app_dir: Path, name: str) -> None:
    code, _, err = run(capsys, "report", str(app_dir), "--fail-on", name)

    assert (code, err) == (0, "")


def test_fail_on_is_repeatable(capsys, app_dir: Path) -> None:
    code, _, err = run(
        capsys, "report", str(app_dir), "--fail-on", "PullerRole8F9E0D1C", "--fail-on", "LonelyUser5EED1234"
    )

    assert code == 1
    assert "FAIL LonelyUser5EED1234 in Prod/Mirror" in err and "PullerRole8F9E0D1C" not in err


def test_fail_on_unknown_principal_is_a_usage_error(capsys, app_dir: Path) -> None:
    code, _, err = run(capsys, "report", str(app_dir), "--fail-on", "Nobody")

    assert code == 2
    assert "--fail-on Nobody: no such principal" in err


def test_missing_assembly_exits_2(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "report", str(tmp_path / "nowhere"))

    assert (code, out) == (2, "")
    assert "no cloud assembly file at" in err


@pytest.mark.parametrize("argv", [[], ["report", "--format", "html"], ["audit"]])
def test_usage_errors_exit_2(capsys, argv: list[str]) -> None:
    assert main(argv) == 2


def test_help_exits_0(capsys) -> None:
    assert main(["report", "--help"]) == 0
    assert "--fail-on PRINCIPAL" in capsys.readouterr().out
