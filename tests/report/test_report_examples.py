"""The access report on every example assembly, compared as principal × rule first-pull matrices.

``examples/app.py`` is synthesized twice (no context: one environment-agnostic stack; ``-c env=all``:
the prod and staging Stages) and ``examples/central_cache.py`` once, with the real ``cdk`` CLI. The
three synths start together in one module-scoped fixture, so they cost one synth's time (~3 s). A
small in-process app adds a hand-written Deny. Reports are read the way CI would: ``cli.main`` with
``--format json``.

A matrix cell is ``{"allowed", "missing", "outside"}``: ``missing`` maps each missing action to the
sides that could grant it (``"denied: <side>"`` for an explicit Deny), ``outside`` lists the actions
whose identity side is outside the template.
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
from cdk_ecr_ptc.report import read_assembly
from cdk_ecr_ptc.report.access import FIRST_PULL, TAG_RESOURCE
from cdk_ecr_ptc.report.cli import main
from cdk_ecr_ptc.report.evaluate import evaluate
from cdk_ecr_ptc.report.intrinsics import Env, Resolver
from cdk_ecr_ptc.report.principals import template_principals

ROOT = Path(__file__).resolve().parents[2]
CDK = ROOT / "node_modules" / ".bin" / "cdk"
SYNTHS = {
    "app": [],
    "all": ["-c", "env=all"],
    "central": ["--app", f"{sys.executable} examples/central_cache.py"],
}

AUTH, GET, LAYER, IMPORT, CREATE = FIRST_PULL
ANY_SIDE = "identity, registry policy or repository policy"
CREATE_SIDE = "registry policy or identity"
#: What a principal granted nothing misses on a rule whose cache repositories are not tagged.
NOTHING = {AUTH: "identity", GET: ANY_SIDE, LAYER: ANY_SIDE, IMPORT: ANY_SIDE, CREATE: CREATE_SIDE}

APP_RULES = [("ecr-public", "ecr-public"), ("kubernetes", "k8s"), ("quay", "quay"), ("docker-hub", "docker-hub")]
CI_ROLE = "arn:aws:iam::444455556666:role/ci-image-puller"
TASK_ROLE, EXECUTION_ROLE = "WebTaskTaskRole6A095794", "WebTaskExecutionRole28FA0566"
CENTRAL_RULES = ["ecr-public", "quay", "docker-hub"]
WORKLOAD_ACCOUNT, ORGANIZATION = "account 222233334444", "organization o-a1b2c3d4e5"


def allowed(*outside: str) -> dict[str, Any]:
    return {"allowed": True, "missing": {}, "outside": list(outside)}


def refused(missing: dict[str, str]) -> dict[str, Any]:
    return {"allowed": False, "missing": missing, "outside": []}


def matrix(stack: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{principal: {rule: cell}}`` of a stack's report."""
    cells: dict[str, dict[str, dict[str, Any]]] = {p["name"]: {} for p in stack["principals"]}
    for a in stack["access"]:
        missing = {m["action"]: ("denied: " if m["denied"] else "") + m["side"] for m in a["missing"]}
        cell = {"allowed": a["allowed"], "missing": missing, "outside": a["identity_outside"]}
        cells[a["principal"]][a["rule"]] = cell
    return cells


def run_report(directory: Path, *argv: str) -> tuple[int, str, str]:
    """``cdk-ecr-ptc report DIRECTORY ARGV…``: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["report", str(directory), *argv])
    return code, out.getvalue(), err.getvalue()


def stacks_of(directory: Path) -> dict[str, dict[str, Any]]:
    """The JSON report of an assembly, by stack name (in report order)."""
    code, out, err = run_report(directory, "--format", "json")
    assert (code, err) == (0, "")
    return {stack["name"]: stack for stack in json.loads(out)["stacks"]}


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
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name, args in SYNTHS.items()
    }
    for name, run in runs.items():
        _, stderr = run.communicate(timeout=180)
        assert run.returncode == 0, f"cdk synth ({name}) failed:\n{stderr}"
    return {name: out / name for name in SYNTHS}


@pytest.fixture(scope="module")
def reports(assemblies: dict[str, Path]) -> dict[str, dict[str, dict[str, Any]]]:
    return {name: stacks_of(directory) for name, directory in assemblies.items()}


def test_every_stack_of_every_example_is_reported(reports) -> None:
    assert {name: {s: r["environment"] for s, r in stacks.items()} for name, stacks in reports.items()} == {
        "app": {"EcrPullThroughCache": "aws://unknown-account/unknown-region"},
        "all": {
            "prod/EcrPullThroughCache": "aws://111122223333/us-east-1",
            "prod/EcrPullThroughCacheDeployment": "aws://111122223333/us-east-1",
            "staging/EcrPullThroughCache": "aws://444455556666/eu-west-1",
            "staging/EcrPullThroughCacheDeployment": "aws://444455556666/eu-west-1",
        },
        "central": {"CentralCache": "aws://111122223333/eu-west-1", "Workload": "aws://222233334444/eu-west-1"},
    }


@pytest.mark.parametrize("assembly", SYNTHS)
def test_json_matches_the_schema(assemblies, assembly: str) -> None:
    schema = json.loads(resources.files("cdk_ecr_ptc.report").joinpath("schema.json").read_text())

    jsonschema.validate(json.loads(run_report(assemblies[assembly], "--format", "json")[1]), schema,
                        cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize(
    ("assembly", "stack", "ci_outside"),
    [
        # Unknown stack account: the CI role's account counts as another one (the safe answer).
        ("app", "EcrPullThroughCache", list(FIRST_PULL)),
        # Another account: the CI role's own account must grant every action too.
        ("all", "prod/EcrPullThroughCache", list(FIRST_PULL)),
        # Same account as the CI role: the registry policy alone grants the repository actions.
        ("all", "staging/EcrPullThroughCache", [AUTH]),
    ],
)
def test_example_app_matrix(reports, assembly: str, stack: str, ci_outside: list[str]) -> None:
    report = reports[assembly][stack]

    assert [(r["ecr_repository_prefix"], r["upstream_registry"]) for r in report["rules"]] == APP_RULES
    prefixes = [prefix for prefix, _ in APP_RULES]
    # Registry-policy scope V1 (the default): the CI role's pulls go to one repository policy per rule.
    assert sorted(t["prefix"] for t in report["templates"]) == sorted(prefixes) and report["notes"] == []
    assert matrix(report) == {
        TASK_ROLE: {rule: refused(NOTHING) for rule in prefixes},
        EXECUTION_ROLE: {rule: allowed() for rule in prefixes},
        CI_ROLE: {rule: allowed(*ci_outside) for rule in prefixes},
    }
    (ci,) = [p for p in report["principals"] if p["name"] == CI_ROLE]
    assert (ci["kind"], ci["account"], ci["logical_id"]) == ("arn", "444455556666", None)
    assert ci["source"].startswith("registry policy ")


@pytest.mark.parametrize("stage", ["prod", "staging"])
def test_deployment_policy_stack_has_no_rules_and_no_principals(reports, stage: str) -> None:
    report = reports["all"][f"{stage}/EcrPullThroughCacheDeployment"]

    assert (report["rules"], report["principals"], report["access"]) == ([], [], [])


def test_central_cache_matrix(reports) -> None:
    report = reports["central"]["CentralCache"]
    tagged = [*FIRST_PULL, TAG_RESOURCE]

    templates = {t["prefix"]: t for t in report["templates"]}
    # One tagging creation template per rule, so every first pull also needs ecr:TagResource.
    assert [(r["ecr_repository_prefix"], r["template"]) for r in report["rules"]] == [
        (prefix, templates[prefix]["logical_id"]) for prefix in CENTRAL_RULES
    ]
    assert all(t["resource_tags"] and t["rules"] == [prefix] for prefix, t in templates.items())
    # Each template's service role is a template principal; it may create and tag only its own repositories.
    template_roles = {
        t["custom_role_arn"].removeprefix("GetAtt:").removesuffix(".Arn"): prefix for prefix, t in templates.items()
    }
    own_rule = {AUTH: "identity", GET: ANY_SIDE, LAYER: ANY_SIDE, IMPORT: ANY_SIDE}
    other_rule = {**own_rule, CREATE: CREATE_SIDE, TAG_RESOURCE: CREATE_SIDE}
    assert matrix(report) == {
        **{
            role: {rule: refused(own_rule if rule == prefix else other_rule) for rule in CENTRAL_RULES}
            for role, prefix in template_roles.items()
        },
        ORGANIZATION: {rule: allowed(*tagged) for rule in CENTRAL_RULES},
        WORKLOAD_ACCOUNT: {rule: allowed(*tagged) for rule in CENTRAL_RULES},
    }
    principals = {p["name"]: p for p in report["principals"]}
    assert principals[ORGANIZATION]["org_id"] == "o-a1b2c3d4e5"
    assert principals[WORKLOAD_ACCOUNT]["arn"] == "arn:aws:iam::222233334444:root"


def test_workload_stack_is_not_related_to_the_central_rules(assemblies, reports) -> None:
    """The rules are in another stack, so the Workload stack lists its roles but has no matrix."""
    report = reports["central"]["Workload"]

    assert (report["rules"], report["templates"], report["access"]) == ([], [], [])
    assert [p["name"] for p in report["principals"]] == [TASK_ROLE, EXECUTION_ROLE]
    code, out, err = run_report(assemblies["central"], "--fail-on", EXECUTION_ROLE)
    assert "## Stack Workload (aws://222233334444/eu-west-1)\n\nNo pull-through cache rules.\n" in out
    # --fail-on fails a principal whose stack has no rule, even though it can pull from the central cache.
    assert code == 1
    assert err == f"FAIL {EXECUTION_ROLE} in Workload: the stack has no pull-through cache rule\n"


def test_workload_execution_role_identity_covers_the_central_probe_repositories(assemblies, reports) -> None:
    """What the report would say if it related the stacks, from its own evaluator."""
    (workload,) = [s for s in read_assembly(assemblies["central"]) if s.name == "Workload"]
    roles = {
        p.name: p
        for p in template_principals(workload.template, Resolver(workload.template, Env.parse(workload.environment)))
    }
    for rule in reports["central"]["CentralCache"]["rules"]:
        for action in [*FIRST_PULL, TAG_RESOURCE]:
            resource = "*" if action == AUTH else rule["probe_repository_arn"]
            grant = evaluate(roles[EXECUTION_ROLE].identity, action, resource, roles[EXECUTION_ROLE].who)
            assert grant.allowed and not grant.denied, (rule["ecr_repository_prefix"], action)
            assert not evaluate(roles[TASK_ROLE].identity, action, resource, roles[TASK_ROLE].who).allowed


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
        role.add_to_policy(iam.PolicyStatement(
            effect=iam.Effect.DENY,
            actions=["ecr:BatchImportUpstreamImage"],
            resources=[cache.rule(prefix).repository_arn_pattern for prefix in prefixes],
        ))
        ids[name] = stack.get_logical_id(role.node.default_child)
        ids[f"{name}Policy"] = stack.get_logical_id(role.node.find_child("DefaultPolicy").node.default_child)
    app.synth()
    return out, ids


def test_hand_added_deny_wins_over_the_grant(denied) -> None:
    directory, ids = denied
    (report,) = stacks_of(directory).values()

    denied_import = refused({IMPORT: "denied: identity"})
    assert matrix(report) == {
        ids["Puller"]: {"quay": denied_import, "ecr-public": allowed()},
        ids["Blocked"]: {"quay": denied_import, "ecr-public": denied_import},
    }
    (quay,) = [a for a in report["access"] if (a["principal"], a["rule"]) == (ids["Puller"], "quay")]
    assert quay["missing"][0]["reasons"] == [ids["PullerPolicy"]]


def test_hand_added_deny_fail_on(denied) -> None:
    directory, ids = denied

    # Puller still pulls through ecr-public: --fail-on needs just one rule per stack.
    assert run_report(directory, "--fail-on", ids["Puller"])[0::2] == (0, "")
    code, _, err = run_report(directory, "--fail-on", ids["Puller"], "--fail-on", ids["Blocked"])
    assert code == 1
    assert err.splitlines() == [
        f"FAIL {ids['Blocked']} in Deny: cannot first-pull through any rule",
        "  quay: denied ecr:BatchImportUpstreamImage (identity)",
        "  ecr-public: denied ecr:BatchImportUpstreamImage (identity)",
    ]


def test_hand_added_deny_markdown(denied) -> None:
    directory, ids = denied
    code, out, _ = run_report(directory)

    assert code == 0
    assert "| Principal | quay | ecr-public |" in out
    assert f"| {ids['Puller']} (role) | ❌ denied: ecr:BatchImportUpstreamImage (identity) | ✅ |" in out
    assert f"- {ids['Puller']} via quay: ecr:BatchImportUpstreamImage denied by {ids['PullerPolicy']}" in out
