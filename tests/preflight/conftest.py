"""Hand-made cloud assemblies for the preflight: the checks are tested on templates, not on library code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ACCOUNT = "111122223333"
REGION = "eu-west-1"
ENV = f"aws://{ACCOUNT}/{REGION}"
ECR_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecr.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def write_assembly(
    directory: Path, stacks: dict[str, dict[str, Any]], *, environment: str = ENV, stage: str | None = None
) -> Path:
    """Writes a cloud assembly with one stack per entry (in a Stage ``stage`` when given); returns its directory."""
    directory.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, Any] = {}
    target = directory
    if stage is not None:
        target = directory / f"assembly-{stage}"
        target.mkdir(exist_ok=True)
        artifacts[f"assembly-{stage}"] = {
            "type": "cdk:cloud-assembly",
            "properties": {"directoryName": f"assembly-{stage}"},
        }
    inner: dict[str, Any] = {}
    for name, template in stacks.items():
        artifact_id = f"{stage}{name}" if stage else name
        (target / f"{artifact_id}.template.json").write_text(json.dumps(template))
        properties: dict[str, Any] = {"templateFile": f"{artifact_id}.template.json"}
        if stage:
            properties["stackName"] = f"{stage}-{name}"
        inner[artifact_id] = {
            "type": "aws:cloudformation:stack",
            "environment": environment,
            "properties": properties,
            "displayName": f"{stage}/{name}" if stage else name,
        }
    if stage is None:
        artifacts.update(inner)
    else:
        (target / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": inner}))
    (directory / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": artifacts}))
    return directory


def resource(
    kind: str, properties: dict[str, Any] | None = None, path: str | None = None, **attributes: Any
) -> dict[str, Any]:
    """A template resource with ``aws:cdk:path`` metadata."""
    found: dict[str, Any] = {"Type": kind, "Properties": properties or {}}
    if path:
        found["Metadata"] = {"aws:cdk:path": path}
    return found | attributes


def template(**resources: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": resources}


def rule(prefix: str = "quay", url: str = "quay.io", **extra: Any) -> dict[str, Any]:
    return resource(
        "AWS::ECR::PullThroughCacheRule",
        {"EcrRepositoryPrefix": prefix, "UpstreamRegistry": "quay", "UpstreamRegistryUrl": url, **extra},
        f"Cache/{prefix}/Resource",
    )


def creation_template(prefix: str = "quay", role: str | None = "TemplateRole", **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"Prefix": prefix, "AppliedFor": ["PULL_THROUGH_CACHE"], **extra}
    if role:
        props["CustomRoleArn"] = {"Fn::GetAtt": [role, "Arn"]}
    return resource("AWS::ECR::RepositoryCreationTemplate", props, f"Cache/{prefix}/Template/Resource")


def role(path: str = "/", trust: dict[str, Any] = ECR_TRUST, **extra: Any) -> dict[str, Any]:
    return resource("AWS::IAM::Role", {"AssumeRolePolicyDocument": trust, "Path": path, **extra}, "Cache/Role/Resource")


def registry_policy(*actions: str, scope: str | None = None) -> dict[str, Any]:
    found = resource(
        "AWS::ECR::RegistryPolicy",
        {
            "PolicyText": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::222233334444:root"},
                        "Action": list(actions),
                        "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/quay/*",
                    }
                ],
            }
        },
        "Cache/RegistryPolicy/Resource",
    )
    if scope:
        found["Metadata"]["cdk-ecr-ptc:registryPolicyScope"] = scope
    return found


@pytest.fixture
def assembly(tmp_path: Path):
    """``assembly(template, ...)``: writes a one-stack assembly ``Cache`` and returns its directory."""
    counter = iter(range(1000))

    def build(*templates: dict[str, Any], **named: dict[str, Any]) -> Path:
        stacks = {"Cache": templates[0]} if templates else {}
        return write_assembly(tmp_path / f"out{next(counter)}", stacks | named)

    return build
