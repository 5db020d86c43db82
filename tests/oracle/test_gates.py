"""Gates on the examples: cfn-lint, cdk-nag AwsSolutionsChecks, checkov.

``examples/app.py`` is synthesized in-process environment-agnostic, with a concrete environment, and
as a stage (the cache and its deployment policy); ``examples/central_cache.py`` with both its stacks.
Each once per module with cdk-nag registered; the other gates read the same cloud assemblies.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Validations
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from oracle_apps import (
    CACHE_ACCOUNT,
    CACHE_REGION,
    REPO_ROOT,
    catalog_app,
    cfn_lint_errors,
    example_app,
    load_module,
)

ENV = Environment(account=CACHE_ACCOUNT, region=CACHE_REGION)


def _central(app: App) -> None:
    central = load_module("central_cache")
    central.CentralCacheStack(app, "CentralCache")
    central.WorkloadStack(app, "Workload")


#: name -> what to build in a fresh app.
ENVIRONMENTS = {
    "agnostic": lambda app: example_app(None, app=app),
    "env": lambda app: example_app(ENV, app=app),
    "stage": lambda app: load_module("app").PullThroughCacheStage(app, "prod", env=ENV),
    "central": _central,
    "route_images": lambda app: load_module("route_images").RouteImagesStack(app, "RouteImages", env=ENV),
}
ACKNOWLEDGED = "aws:cdk:acknowledged-rules"
#: checkov lives in its own venv (its ``packaging`` pin conflicts with pytest's); scripts/setup creates it.
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"

#: checkov findings that are accepted, by (check id, resource type), each with its reason.
EXPLAINED_CHECKOV_FAILURES = {
    ("CKV_AWS_158", "AWS::Logs::LogGroup"): (
        "The example's ECS task log group is example scaffolding: a KMS key for it needs a key policy for "
        "CloudWatch Logs, which is outside what a pull-through cache example shows."
    ),
    # examples/route_images.py: its web service is scaffolding for the images it routes.
    ("CKV_AWS_2", "AWS::ElasticLoadBalancingV2::Listener"): (
        "The route_images example's web service listens on HTTP: HTTPS needs a certificate and a domain."
    ),
    ("CKV_AWS_103", "AWS::ElasticLoadBalancingV2::Listener"): (
        "The route_images example's listener is HTTP, so it has no TLS policy (see CKV_AWS_2)."
    ),
    ("CKV_AWS_91", "AWS::ElasticLoadBalancingV2::LoadBalancer"): (
        "The route_images example's load balancer: access logs need a log bucket outside what it shows."
    ),
    ("CKV_AWS_260", "AWS::EC2::SecurityGroup"): (
        "The route_images example's web service is public on port 80 by design."
    ),
}
#: checkov skips the library declares in resource Metadata, by (check id, resource type).
EXPECTED_CHECKOV_SKIPS = {("CKV_AWS_149", "AWS::SecretsManager::Secret")}  # FACTS §3, §11
# The cache warmer's functions (cdk_ecr_ptc.warming: reasons in their Metadata).
EXPECTED_CHECKOV_SKIPS |= {
    (check, "AWS::Lambda::Function") for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173")
}


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory):
    """name -> (app, cloud assembly or the synth error), with AwsSolutionsChecks registered."""
    built = {}
    for name, build in ENVIRONMENTS.items():
        app = App(outdir=str(tmp_path_factory.mktemp(f"example-{name}")))
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
        build(app)
        try:
            built[name] = (app, app.synth())
        except RuntimeError as error:
            built[name] = (app, error)
    return built


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_cdk_nag_aws_solutions_finds_nothing_unacknowledged(assemblies, name):
    _, assembly = assemblies[name]
    assert not isinstance(assembly, Exception), str(assembly)
    report = json.loads((Path(assembly.directory) / "validation-report.json").read_text())
    [nag] = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert (nag["conclusion"], nag["violations"]) == ("success", [])
    assert nag["suppressedViolations"], "expected the library's acknowledged findings"
    assert [v["ruleName"] for v in nag["suppressedViolations"] if not v.get("reason", "").strip()] == []


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_every_acknowledgment_carries_a_reason(assemblies, name):
    app, assembly = assemblies[name]
    assert not isinstance(assembly, Exception), str(assembly)
    in_assembly = {}
    for metadata in Path(assembly.directory).glob("**/*.metadata.json"):
        for path, entries in json.loads(metadata.read_text()).items():
            for entry in entries:
                if entry["type"] == ACKNOWLEDGED:
                    in_assembly.update({(path, k): v for k, v in entry["data"].items()})
    in_tree = {
        (f"/{c.node.path}", k): v
        for c in app.node.find_all()
        for m in c.node.metadata
        if m.type == ACKNOWLEDGED
        for k, v in m.data.items()
    }
    assert in_assembly and in_tree
    assert [k for k, reason in {**in_assembly, **in_tree}.items() if not str(reason).strip()] == []


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_cfn_lint_finds_no_error_in_example_templates(assemblies, name):
    _, assembly = assemblies[name]
    assert not isinstance(assembly, Exception), str(assembly)
    assert assembly.stacks_recursively
    for artifact in assembly.stacks_recursively:
        assert (
            cfn_lint_errors(artifact.template, artifact.environment.region if name != "agnostic" else CACHE_REGION)
            == []
        ), artifact.stack_name


def test_checkov_fails_nothing_unexplained(assemblies, tmp_path):
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run scripts/setup (checkov lives in its own venv)"
    for name, (_, assembly) in assemblies.items():
        assert not isinstance(assembly, Exception), str(assembly)
        for template in Path(assembly.directory).glob("**/*.template.json"):
            shutil.copy(template, tmp_path / f"example-{name}-{template.name}")
    _, stacks = catalog_app()
    for stack in stacks:
        (tmp_path / f"catalog-{stack.stack_name}.template.json").write_text(
            json.dumps(Template.from_stack(stack).to_json())
        )
    # Not --quiet: its JSON then lists skipped checks too.
    run = subprocess.run(
        [str(CHECKOV), "-d", str(tmp_path), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode in (0, 1), run.stderr[-2000:]
    reports = json.loads(run.stdout)
    [report] = reports if isinstance(reports, list) else [reports]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] > 0

    def key(check: dict) -> tuple[str, str]:
        return check["check_id"], check["resource"].split(".")[0]

    failed = {key(c): c["resource"] for c in report["results"]["failed_checks"]}
    assert {k: v for k, v in failed.items() if k not in EXPLAINED_CHECKOV_FAILURES} == {}
    skipped = report["results"]["skipped_checks"]
    assert {key(c) for c in skipped} == EXPECTED_CHECKOV_SKIPS
    assert all(c["check_result"].get("suppress_comment", "").strip() for c in skipped)
