"""The access report on every example assembly, compared as principal × rule first-pull matrices.

``examples/app.py`` is synthesized twice (no context: one environment-agnostic stack; ``-c env=all``:
the prod and staging Stages) and ``examples/central_cache.py`` once, with the real ``cdk`` CLI. The
three synths start together in one module-scoped fixture, so they cost one synth's time (~3 s). A
small in-process app adds a hand-written Deny. Reports are read the way CI would: ``cli.main`` with
``--format json``.

The examples' registry policies are judged both as the library marks them (its scope metadata, V1
without it) and as scope V2 (``--registry-policy-scope V2``), where the matrices below hold.

A matrix cell is ``{"allowed", "missing", "outside"}``: ``missing`` maps each missing action to its
blocking side, ``outside`` lists the actions whose identity side is outside the assembly.
"""

import contextlib
import io
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsonschema
import pytest
from aws_cdk import aws_iam as iam

from cdk_ecr_ptc import PullThroughCache, Upstream
from cdk_ecr_ptc.report.cli import main
from cdk_ecr_ptc.report.model import FIRST_PULL, TAG_RESOURCE

ROOT = Path(__file__).resolve().parents[2]
CDK = ROOT / "node_modules" / ".bin" / "cdk"
SYNTHS = {
    "app": [],
    "all": ["-c", "env=all"],
    "central": ["--app", f"{sys.executable} examples/central_cache.py"],
}

AUTH = FIRST_PULL[0]
V2 = ("--registry-policy-scope", "V2")

APP_RULES = [("ecr-public", "ecr-public"), ("kubernetes", "k8s"), ("quay", "quay"), ("docker-hub", "docker-hub")]
CI_ROLE = "arn:aws:iam::444455556666:role/ci-image-puller"
TASK_ROLE, EXECUTION_ROLE = "WebTaskTaskRole6A095794", "WebTaskExecutionRole28FA0566"
#: The cache warmer's roles (cache.warm in examples/app.py).
WARMER_ROLE, WARMER_FRAMEWORK_ROLE = "PullThroughCacheWarmerRoleD6146D01", "PullThroughCacheWarmerFrameworkRoleB7125E3F"
CENTRAL_RULES = ["ecr-public", "quay", "docker-hub"]
WORKLOAD_ACCOUNT, ORGANIZATION = "account 222233334444", "organization o-a1b2c3d4e5"
CENTRAL_REGISTRY = "111122223333/eu-west-1"


def allowed(*outside: str) -> dict[str, Any]:
    return {"allowed": True, "missing": {}, "outside": list(outside)}


def matrix(registry: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{principal: {rule: cell}}`` of a registry's report."""
    cells: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in registry["principals"]}
    for a in registry["access"]:
        missing = {m["action"]: m["side"] for m in a["missing"]}
        cells[a["principal"]][a["rule"]] = {
            "allowed": a["allowed"],
            "missing": missing,
            "outside": a["identity_outside"],
        }
    return cells


def run_report(directory: Path, *argv: str) -> tuple[int, str, str]:
    """``cdk-ecr-ptc report DIRECTORY ARGV…``: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["report", str(directory), *argv])
    return code, out.getvalue(), err.getvalue()


def report_of(directory: Path, *argv: str) -> dict[str, Any]:
    """The JSON report of an assembly."""
    code, out, err = run_report(directory, "--format", "json", *argv)
    assert (code, err) == (0, "")
    return json.loads(out)


def registries_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {registry["key"]: registry for registry in report["registries"]}


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three example synths, run in parallel with the npm ``cdk`` CLI, by name of ``SYNTHS``."""
    if not CDK.exists():
        pytest.skip("the npm aws-cdk CLI is not installed (run npm ci)")
    out = tmp_path_factory.mktemp("examples")
    env = {
        **os.environ,
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_VALIDATION": "false",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        # cdk.json's app is "python examples/app.py": make that the test's Python.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), str(CDK.parent), os.environ.get("PATH", "")]),
    }
    runs = {
        name: subprocess.Popen(
            [str(CDK), "synth", "--quiet", "-o", str(out / name), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in SYNTHS.items()
    }
    for name, run in runs.items():
        _, stderr = run.communicate(timeout=180)
        assert run.returncode == 0, f"cdk synth ({name}) failed:\n{stderr}"
    return {name: out / name for name in SYNTHS}


@pytest.fixture(scope="module")
def reports(assemblies: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """The JSON report of each example with its registry policies judged as scope V2."""
    return {name: report_of(directory, *V2) for name, directory in assemblies.items()}


def test_every_stack_of_every_example_is_reported(reports) -> None:
    assert {name: {s["name"]: s["environment"] for s in report["stacks"]} for name, report in reports.items()} == {
        "app": {"EcrPullThroughCache": "aws://unknown-account/unknown-region"},
        "all": {
            "prod/EcrPullThroughCache": "aws://111122223333/us-east-1",
            "prod/EcrPullThroughCacheDeployment": "aws://111122223333/us-east-1",
            "staging/EcrPullThroughCache": "aws://444455556666/eu-west-1",
            "staging/EcrPullThroughCacheDeployment": "aws://444455556666/eu-west-1",
        },
        "central": {"CentralCache": "aws://111122223333/eu-west-1", "Workload": "aws://222233334444/eu-west-1"},
    }
    assert {name: [r["key"] for r in report["registries"]] for name, report in reports.items()} == {
        "app": ["stack EcrPullThroughCache"],
        "all": ["111122223333/us-east-1", "444455556666/eu-west-1"],
        "central": [CENTRAL_REGISTRY],
    }


@pytest.mark.parametrize("assembly", SYNTHS)
@pytest.mark.parametrize("scope", [(), V2])
def test_json_matches_the_schema(assemblies, assembly: str, scope: tuple[str, ...]) -> None:
    schema = json.loads(resources.files("cdk_ecr_ptc.report").joinpath("schema.json").read_text())

    jsonschema.validate(report_of(assemblies[assembly], *scope), schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("assembly", SYNTHS)
def test_default_scope_names_a_blocking_side_for_every_refused_cell(assemblies, assembly: str) -> None:
    for registry in report_of(assemblies[assembly])["registries"]:
        assert registry["registry_policy_scope_source"] in ("metadata", "default")
        for entry in registry["access"]:
            assert entry["allowed"] or entry["blocking"] in (
                "identity",
                "registry policy",
                "repository policy",
                "boundary",
                "explicit deny",
            )


@pytest.mark.parametrize(
    ("assembly", "registry", "execution_role", "ci_outside"),
    [
        # Unknown stack account: the CI role's account counts as another one (the safe answer).
        ("app", "stack EcrPullThroughCache", EXECUTION_ROLE, list(FIRST_PULL)),
        # Another account: the CI role's own account must grant every action too.
        ("all", "111122223333/us-east-1", f"prod/EcrPullThroughCache/{EXECUTION_ROLE}", list(FIRST_PULL)),
        # Same account as the CI role: the registry policy alone grants the repository actions.
        ("all", "444455556666/eu-west-1", f"staging/EcrPullThroughCache/{EXECUTION_ROLE}", [AUTH]),
    ],
)
def test_example_app_matrix(reports, assembly: str, registry: str, execution_role: str, ci_outside: list[str]) -> None:
    report = registries_of(reports[assembly])[registry]

    assert [(r["ecr_repository_prefix"], r["upstream_registry"]) for r in report["rules"]] == APP_RULES
    prefixes = [prefix for prefix, _ in APP_RULES]
    # Registry-policy scope V1 (the default) and eviction: one creation template per rule.
    assert sorted(t["prefix"] for t in report["templates"]) == sorted(prefixes) and report["notes"] == []
    assert matrix(report) == {
        execution_role: {rule: allowed() for rule in prefixes},
        CI_ROLE: {rule: allowed(*ci_outside) for rule in prefixes},
    }
    # The warmer's roles are trusted by Lambda only: listed once as not pullers, not as rows.
    not_pullers = {name.rsplit("/", 1)[-1] for name in reports[assembly]["not_pullers"]}
    assert {WARMER_ROLE, WARMER_FRAMEWORK_ROLE} <= not_pullers
    (ci,) = [p for p in reports[assembly]["principals"] if p["name"] == CI_ROLE]
    assert (ci["kind"], ci["account"], ci["logical_id"]) == ("arn", "444455556666", None)
    assert ci["source"].startswith("registry policy ")
    # The task role was granted nothing: not a row, listed once as hidden.
    assert any(name.endswith(TASK_ROLE) for name in reports[assembly]["hidden"])


def test_central_cache_matrix(reports) -> None:
    """Done when: the workload execution role is allowed through the central rules, and the organization
    and the workload account are allowed on the cache's side, needing their own identity side."""
    report = reports["central"]
    (central,) = report["registries"]
    tagged = [*FIRST_PULL, TAG_RESOURCE]

    templates = {t["prefix"]: t for t in central["templates"]}
    # One tagging creation template per rule, so every first pull also needs ecr:TagResource.
    assert [(r["ecr_repository_prefix"], r["template"]) for r in central["rules"]] == [
        (prefix, templates[prefix]["logical_id"]) for prefix in CENTRAL_RULES
    ]
    assert all(t["resource_tags"] and t["rules"] == [prefix] for prefix, t in templates.items())
    assert all(
        t["lifecycle_rules"] == ["expire untagged after 14 days", "keep the last 50 images"] for t in templates.values()
    )
    assert matrix(central) == {
        EXECUTION_ROLE: {rule: allowed() for rule in CENTRAL_RULES},
        ORGANIZATION: {rule: allowed(*tagged) for rule in CENTRAL_RULES},
        WORKLOAD_ACCOUNT: {rule: allowed(*tagged) for rule in CENTRAL_RULES},
    }
    principals = {p["name"]: p for p in report["principals"]}
    assert principals[EXECUTION_ROLE]["stack"] == "Workload"
    assert principals[ORGANIZATION]["org_id"] == "o-a1b2c3d4e5"
    assert principals[WORKLOAD_ACCOUNT]["arn"] == "arn:aws:iam::222233334444:root"
    # The creation templates share one role (same needs), trusted by ecr.amazonaws.com only: listed, not rows.
    assert len(report["not_pullers"]) == 1 and all("TemplateRole" in name for name in report["not_pullers"])
    assert report["hidden"] == [TASK_ROLE]


def test_central_cache_fail_on(assemblies) -> None:
    directory = assemblies["central"]

    assert run_report(directory, *V2, "--fail-on", f"{EXECUTION_ROLE}:docker-hub,quay")[0::2] == (0, "")
    assert run_report(directory, *V2, "--fail-on", EXECUTION_ROLE)[0::2] == (0, "")
    code, _, err = run_report(directory, *V2, "--fail-on", TASK_ROLE)
    assert code == 1 and err.startswith(f"FAIL {TASK_ROLE} cannot first-pull through ecr-public\n")


def test_readme_fail_on_examples(assemblies) -> None:
    """The README's commands on examples/app.py: the execution role passes, the task role fails."""
    directory = assemblies["app"]

    assert run_report(directory, "--fail-on", f"{EXECUTION_ROLE}:docker-hub,quay")[0] == 0
    assert run_report(directory, "--fail-on", TASK_ROLE)[0] == 1


def test_central_cache_mermaid(assemblies) -> None:
    code, out, _ = run_report(assemblies["central"], *V2, "--format", "mermaid")

    assert code == 0 and out.startswith("flowchart LR\n")
    assert 'subgraph a222233334444["account 222233334444"]' in out


@pytest.fixture(scope="module")
def denied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """An app whose ``Puller`` is denied the import on quay and ``Blocked`` on both rules.

    Returns the assembly and the logical IDs of ``Puller``, ``Blocked`` and Puller's default policy.
    """
    out = tmp_path_factory.mktemp("deny")
    app = cdk.App(outdir=str(out), builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "Deny", env=cdk.Environment(account="111122223333", region="us-east-1"))
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(), Upstream.ecr_public()])
    ids: dict[str, str] = {}
    for name, prefixes in (("Puller", ["quay"]), ("Blocked", ["quay", "ecr-public"])):
        role = iam.Role(stack, name, assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
        cache.grant_pull(role)
        role.add_to_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["ecr:BatchImportUpstreamImage"],
                resources=[cache.rule(prefix).repository_arn_pattern for prefix in prefixes],
            )
        )
        ids[name] = stack.get_logical_id(role.node.default_child)
        ids[f"{name}Policy"] = stack.get_logical_id(role.node.find_child("DefaultPolicy").node.default_child)
    app.synth()
    return out, ids


def test_hand_added_deny_wins_over_the_grant(denied) -> None:
    directory, ids = denied
    (registry,) = report_of(directory)["registries"]

    denied_import = {"allowed": False, "missing": {"ecr:BatchImportUpstreamImage": "explicit deny"}, "outside": []}
    assert matrix(registry) == {
        ids["Puller"]: {"quay": denied_import, "ecr-public": allowed()},
        ids["Blocked"]: {"quay": denied_import, "ecr-public": denied_import},
    }
    (quay,) = [a for a in registry["access"] if (a["principal"], a["rule"]) == (ids["Puller"], "quay")]
    assert quay["missing"][0]["reasons"] == [f"{ids['PullerPolicy']} (statement 3)"]


def test_hand_added_deny_fail_on(denied) -> None:
    directory, ids = denied

    assert run_report(directory, "--fail-on", f"{ids['Puller']}:ecr-public")[0::2] == (0, "")
    code, _, err = run_report(directory, "--fail-on", ids["Puller"], "--fail-on", f"{ids['Blocked']}:ecr-public")
    assert code == 1
    assert err.splitlines() == [
        f"FAIL {ids['Puller']} cannot first-pull through quay",
        "  111122223333/us-east-1: ❌ explicit deny: ecr:BatchImportUpstreamImage (explicit deny)",
        f"FAIL {ids['Blocked']} cannot first-pull through ecr-public",
        "  111122223333/us-east-1: ❌ explicit deny: ecr:BatchImportUpstreamImage (explicit deny)",
    ]


def test_hand_added_deny_markdown(denied) -> None:
    directory, ids = denied
    code, out, _ = run_report(directory)

    assert code == 0
    assert "| Principal | quay | ecr-public |" in out
    assert f"| {ids['Puller']} (role in Deny, 111122223333) | ❌ explicit deny | ✅ |" in out
    assert (
        f"- {ids['Puller']}: ecr:BatchImportUpstreamImage denied by {ids['PullerPolicy']} (statement 3) (on quay)"
    ) in out


def test_readme_shows_the_central_cache_diagram(assemblies) -> None:
    """The README's Mermaid picture of examples/central_cache.py is the report's output."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("`examples/central_cache.py`, judged with `--registry-policy-scope V2`") :]
    shown = section[section.index("```mermaid\n") + len("```mermaid\n") : section.index("\n```\n")] + "\n"

    assert shown == run_report(assemblies["central"], *V2, "--format", "mermaid")[1]
