"""The ``report`` command line: formats, ``--fail-on``, ``--all-principals``, ``--baseline`` and exit codes."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cdk_ecr_ptc.report.cli import main, split_fail_on

V2 = ("--registry-policy-scope", "V2")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_writes_markdown_by_default(capsys, app_dir: Path) -> None:
    code, out, err = run(capsys, "report", str(app_dir))

    assert code == 0 and err == ""
    assert out.startswith("# ECR pull-through cache access report\n")
    assert "```mermaid\nflowchart LR\n" in out


def test_mermaid_format_prints_the_diagram_alone(capsys, app_dir: Path) -> None:
    code, out, _ = run(capsys, "report", str(app_dir), "--format", "mermaid")

    assert code == 0 and out.startswith("flowchart LR\n") and "```" not in out


def test_reads_cdk_out_in_the_working_directory_by_default(capsys, app_dir: Path, tmp_path: Path, monkeypatch) -> None:
    shutil.copytree(app_dir, tmp_path / "cdk.out")
    monkeypatch.chdir(tmp_path)

    code, out, _ = run(capsys, "report", "--format", "json")

    assert code == 0
    assert [s["name"] for s in json.loads(out)["stacks"]] == ["PtcStack", "Prod/Mirror"]


def test_registry_policy_scope_defaults_to_v1_without_metadata(capsys, app_dir: Path) -> None:
    default = json.loads(run(capsys, "report", str(app_dir), "--format", "json")[1])
    forced = json.loads(run(capsys, "report", str(app_dir), "--format", "json", *V2)[1])

    assert default["registries"][0]["registry_policy_scope"] == "V1"
    assert forced["registries"][0]["registry_policy_scope"] == "V2"
    assert "judged as scope V1" in default["registries"][0]["notes"][0]
    assert default["registries"][0]["notes"][1] == (
        "the registry policy names ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, which a registry on scope V1 "
        "rejects: deploying it fails there"
    )


def test_all_principals_adds_the_rows_without_ecr_permissions(capsys, app_dir: Path) -> None:
    rows = json.loads(run(capsys, "report", str(app_dir), "--format", "json", "--all-principals")[1])

    assert "IdleRole2B3C4D5E" in rows["registries"][0]["principals"]
    assert rows["hidden"] == rows["not_pullers"] == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("PullerRole8F9E0D1C", ("PullerRole8F9E0D1C", [])),
        ("PullerRole8F9E0D1C:docker-hub,ecr-public/", ("PullerRole8F9E0D1C", ["docker-hub", "ecr-public"])),
        ("arn:aws:iam::111122223333:role/eks-node", ("arn:aws:iam::111122223333:role/eks-node", [])),
        ("arn:aws:iam::111122223333:role/eks-node:quay", ("arn:aws:iam::111122223333:role/eks-node", ["quay"])),
    ],
)
def test_fail_on_values_split_into_principal_and_prefixes(value: str, expected: tuple[str, list[str]]) -> None:
    assert split_fail_on(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "PullerRole8F9E0D1C:docker-hub",
        "arn:aws:iam::111122223333:role/eks-node:ecr-public",
        "organization o-abcdef1234:ecr-public,ROOT",
        "MirrorPullerC0FFEE01",
        "MirrorPullerC0FFEE01:quay",
    ],
)
def test_fail_on_passes_when_every_named_prefix_pulls(capsys, app_dir: Path, value: str) -> None:
    code, _, err = run(capsys, "report", str(app_dir), *V2, "--fail-on", value)

    assert (code, err) == (0, "")


def test_fail_on_without_prefix_needs_every_rule_of_its_registries(capsys, app_dir: Path) -> None:
    """PullerRole pulls docker-hub only: passing for one rule is not enough."""
    code, _, err = run(capsys, "report", str(app_dir), *V2, "--fail-on", "PullerRole8F9E0D1C")

    assert code == 1
    assert err.splitlines() == [
        "FAIL PullerRole8F9E0D1C cannot first-pull through ecr-public",
        "  111122223333/us-east-1: ❌ identity: ecr:BatchGetImage (identity); ecr:GetDownloadUrlForLayer (identity); "
        "ecr:BatchImportUpstreamImage (identity); ecr:CreateRepository (identity)",
        "FAIL PullerRole8F9E0D1C cannot first-pull through ROOT",
        "  111122223333/us-east-1: ❌ identity: ecr:BatchGetImage (identity); ecr:GetDownloadUrlForLayer (identity); "
        "ecr:BatchImportUpstreamImage (identity); ecr:CreateRepository (identity)",
    ]


def test_fail_on_one_failing_prefix_fails_and_names_the_blocking_side(capsys, app_dir: Path) -> None:
    code, _, err = run(capsys, "report", str(app_dir), *V2, "--fail-on", "DeniedRole3C4D5E6F:quay")

    assert code == 1
    assert err.splitlines()[:2] == [
        "FAIL DeniedRole3C4D5E6F cannot first-pull through quay",
        "  stack Prod/Mirror: ❌ explicit deny: ecr:BatchGetImage (registry policy); ecr:GetDownloadUrlForLayer "
        "(registry policy); ecr:BatchImportUpstreamImage (explicit deny); ecr:CreateRepository (registry policy)",
    ]


def test_fail_on_is_repeatable(capsys, app_dir: Path) -> None:
    code, _, err = run(
        capsys,
        "report",
        str(app_dir),
        *V2,
        "--fail-on",
        "PullerRole8F9E0D1C:docker-hub",
        "--fail-on",
        "NodeRole4D5E6F70:ecr-public,docker-hub",
    )

    assert code == 1
    assert err.splitlines()[0] == "FAIL NodeRole4D5E6F70 cannot first-pull through docker-hub"
    assert "PullerRole8F9E0D1C" not in err


def test_fail_on_a_principal_without_ecr_permissions_checks_every_rule(capsys, app_dir: Path) -> None:
    code, _, err = run(capsys, "report", str(app_dir), *V2, "--fail-on", "LonelyUser5EED1234")

    assert code == 1
    assert [line for line in err.splitlines() if line.startswith("FAIL")] == [
        f"FAIL LonelyUser5EED1234 cannot first-pull through {prefix}"
        for prefix in ("docker-hub", "ecr-public", "ROOT", "quay")
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Nobody", "--fail-on Nobody: no principal 'Nobody' in the assembly (known: "),
        (
            "PullerRole8F9E0D1C:nope,quay",
            "--fail-on PullerRole8F9E0D1C:nope,quay: no rule with prefix nope in the "
            "assembly (prefixes: ROOT, docker-hub, ecr-public, quay)",
        ),
    ],
)
def test_fail_on_unknown_principal_or_prefix_is_a_usage_error(capsys, app_dir: Path, value: str, message: str) -> None:
    code, out, err = run(capsys, "report", str(app_dir), "--fail-on", value)

    assert (code, out) == (2, "")
    assert err.startswith(f"cdk-ecr-ptc report: {message}")


def _copy_without(app_dir: Path, tmp_path: Path, logical_id: str) -> Path:
    copy = tmp_path / "new"
    shutil.copytree(app_dir, copy)
    path = copy / "PtcStack.template.json"
    template: dict[str, Any] = json.loads(path.read_text())
    del template["Resources"][logical_id]
    path.write_text(json.dumps(template))
    return copy


def test_baseline_lists_lost_and_new_pullers_and_accounts(capsys, app_dir: Path, tmp_path: Path) -> None:
    changed = _copy_without(app_dir, tmp_path, "PullerRoleDefaultPolicy1A2B3C4D")

    code, out, _ = run(capsys, "report", str(changed), *V2, "--format", "json", "--baseline", str(app_dir))
    changes = json.loads(out)["changes"]
    assert code == 0
    assert changes == {
        "baseline": str(app_dir),
        "new_pullers": [],
        "lost_pullers": [
            {"principal": "PullerRole8F9E0D1C", "registry": "111122223333/us-east-1", "rule": "docker-hub"}
        ],
        "new_accounts": [],
    }
    _, back, _ = run(capsys, "report", str(app_dir), *V2, "--baseline", str(changed))
    assert "- New pullers: PullerRole8F9E0D1C via docker-hub (111122223333/us-east-1)" in back.splitlines()


def test_baseline_names_new_accounts(capsys, app_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "manifest.json").write_text(json.dumps({"artifacts": {}}))

    changes = json.loads(run(capsys, "report", str(app_dir), *V2, "--format", "json", "--baseline", str(empty))[1])[
        "changes"
    ]

    assert changes["lost_pullers"] == []
    assert changes["new_accounts"] == [
        "account 111122223333",
        "account 222233334444",
        "organization o-abcdef1234",
        "account of stack Prod/Mirror",
        "account 444455556666",
    ]


def test_missing_baseline_exits_2(capsys, app_dir: Path, tmp_path: Path) -> None:
    code, out, err = run(capsys, "report", str(app_dir), "--baseline", str(tmp_path / "nowhere"))

    assert (code, out) == (2, "") and "no cloud assembly file at" in err


def test_missing_assembly_exits_2(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "report", str(tmp_path / "nowhere"))

    assert (code, out) == (2, "")
    assert "no cloud assembly file at" in err


@pytest.mark.parametrize("argv", [[], ["report", "--format", "html"], ["audit"]])
def test_usage_errors_exit_2(capsys, argv: list[str]) -> None:
    assert main(argv) == 2


def test_help_exits_0(capsys) -> None:
    assert main(["report", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--fail-on PRINCIPAL[:PREFIX,...]" in out and "--baseline OLD_CDK_OUT" in out
