"""examples/app.py synthesizes through the real CDK CLI, with no credentials, per environment."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"


@pytest.mark.parametrize(("context", "stack", "environment"), [
    ([], "EcrPullThroughCache", "aws://unknown-account/unknown-region"),
    (["-c", "env=prod"], "EcrPullThroughCache-prod", "aws://111122223333/us-east-1"),
])
def test_cdk_synth_of_the_example(tmp_path, context, stack, environment):
    env = {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true", "CDK_DISABLE_VERSION_CHECK": "1",
           "CDK_VALIDATION": "false"}
    subprocess.run([str(CDK), "synth", "--quiet", "-o", str(tmp_path), *context], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["artifacts"][stack]["environment"] == environment
    template = json.loads((tmp_path / f"{stack}.template.json").read_text())
    types = sorted(r["Type"] for r in template["Resources"].values())
    assert types.count("AWS::ECR::PullThroughCacheRule") == 4
    assert types.count("AWS::ECR::RegistryPolicy") == 1


def test_unknown_environment_fails_with_the_known_ones(tmp_path):
    result = subprocess.run([str(CDK), "synth", "-o", str(tmp_path), "-c", "env=nope"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"})

    assert result.returncode != 0
    assert "unknown env 'nope': cdk.json defines ['prod', 'staging']" in result.stderr + result.stdout


def test_cdk_synth_of_the_central_cache_example(tmp_path):
    env = {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true", "CDK_DISABLE_VERSION_CHECK": "1",
           "CDK_VALIDATION": "false"}
    subprocess.run([str(CDK), "synth", "--quiet", "-o", str(tmp_path), "--app", "python examples/central_cache.py"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)

    central = json.loads((tmp_path / "CentralCache.template.json").read_text())["Resources"]
    workload = json.loads((tmp_path / "Workload.template.json").read_text())["Resources"]
    types = [r["Type"] for r in central.values()]
    assert types.count("AWS::ECR::RepositoryCreationTemplate") == 3
    assert types.count("AWS::ECR::RegistryPolicy") == 1
    pulls = [s for r in workload.values() if r["Type"] == "AWS::IAM::Policy"
             for s in r["Properties"]["PolicyDocument"]["Statement"]]
    assert any("arn:aws:ecr:eu-west-1:111122223333:repository/docker-hub/*" in str(s["Resource"]) for s in pulls)
