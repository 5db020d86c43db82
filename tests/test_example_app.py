"""examples/app.py synthesizes through the real CDK CLI, with no credentials, per environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"


def stack_templates(outdir: Path) -> dict[str, tuple[str, dict]]:
    """The stack templates of a cloud assembly and its stage assemblies: display name -> (environment, template)."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    found = {}
    for artifact in manifest["artifacts"].values():
        properties = artifact.get("properties", {})
        if artifact["type"] == "cdk:cloud-assembly":
            found |= stack_templates(outdir / properties["directoryName"])
        elif artifact["type"] == "aws:cloudformation:stack":
            template = json.loads((outdir / properties["templateFile"]).read_text())
            found[artifact["displayName"]] = (artifact["environment"], template)
    return found


def synth(outdir: Path, *args: str) -> dict[str, tuple[str, dict]]:
    env = {
        **os.environ,
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_VALIDATION": "false",
    }
    subprocess.run(
        [str(CDK), "synth", "--quiet", "-o", str(outdir), *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return stack_templates(outdir)


def resource_types(template: dict) -> list[str]:
    return sorted(r["Type"] for r in template["Resources"].values())


def test_cdk_synth_without_context_is_one_agnostic_stack(tmp_path):
    stacks = synth(tmp_path)

    assert list(stacks) == ["EcrPullThroughCache"]
    environment, template = stacks["EcrPullThroughCache"]
    assert environment == "aws://unknown-account/unknown-region"
    assert resource_types(template).count("AWS::ECR::PullThroughCacheRule") == 4
    assert resource_types(template).count("AWS::ECR::RegistryPolicy") == 1


def test_cdk_synth_per_environment_is_a_stage_with_the_cache_and_its_deployment_policy(tmp_path):
    stacks = synth(tmp_path, "-c", "env=all")

    assert sorted(stacks) == [
        "prod/EcrPullThroughCache",
        "prod/EcrPullThroughCacheDeployment",
        "staging/EcrPullThroughCache",
        "staging/EcrPullThroughCacheDeployment",
    ]
    assert stacks["prod/EcrPullThroughCache"][0] == "aws://111122223333/us-east-1"
    assert stacks["staging/EcrPullThroughCache"][0] == "aws://444455556666/eu-west-1"
    deployment = stacks["prod/EcrPullThroughCacheDeployment"][1]
    assert "AWS::IAM::ManagedPolicy" in resource_types(deployment)
    (policy_id,) = [k for k, r in deployment["Resources"].items() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    assert deployment["Outputs"]["PolicyArn"]["Value"] == {"Ref": policy_id}


def test_unknown_environment_fails_with_the_known_ones(tmp_path):
    result = subprocess.run(
        [str(CDK), "synth", "-o", str(tmp_path), "-c", "env=nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"},
    )

    assert result.returncode != 0
    assert "unknown env 'nope': cdk.json defines ['prod', 'staging'] (or use 'all')" in result.stderr + result.stdout


def test_cdk_synth_of_the_central_cache_example(tmp_path):
    stacks = synth(tmp_path, "--app", "python examples/central_cache.py")

    central, workload = stacks["CentralCache"][1]["Resources"], stacks["Workload"][1]["Resources"]
    types = [r["Type"] for r in central.values()]
    assert types.count("AWS::ECR::RepositoryCreationTemplate") == 3
    assert types.count("AWS::ECR::RegistryPolicy") == 1
    pulls = [
        s
        for r in workload.values()
        if r["Type"] == "AWS::IAM::Policy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any("arn:aws:ecr:eu-west-1:111122223333:repository/docker-hub/*" in str(s["Resource"]) for s in pulls)


def test_readme_minimal_example_runs_as_written(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Minimal example") :]
    code = section[section.index("```python\n") + len("```python\n") : section.index("\n```\n")]
    env = {**os.environ, "CDK_OUTDIR": str(tmp_path), "CDK_VALIDATION": "false"}

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("/docker-hub/library/nginx:1.27")
    template = json.loads((tmp_path / "EcrPullThroughCache.template.json").read_text())
    assert resource_types(template).count("AWS::ECR::PullThroughCacheRule") == 4
