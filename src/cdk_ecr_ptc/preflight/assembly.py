"""Reads the stacks the preflight checks: a cloud assembly (Stages included) or a directory of templates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..report.assembly import AssemblyError, artifact_property, load_json

__all__ = ["AGNOSTIC_ACCOUNT", "AGNOSTIC_REGION", "AssemblyError", "Stack", "read_stacks"]

STACK = "aws:cloudformation:stack"
NESTED_ASSEMBLY = "cdk:cloud-assembly"
#: The account and Region an environment-agnostic stack is resolved in (a documentation account).
AGNOSTIC_ACCOUNT = "123456789012"
AGNOSTIC_REGION = "us-east-1"


@dataclass(frozen=True)
class Stack:
    """One stack as CloudFormation will see it.

    Attributes:
        name: the CloudFormation stack name (``prod-Cache`` for the stack ``prod/Cache`` of a Stage).
        display_name: the name the CDK shows (``prod/Cache``); the construct path of the stack.
        account: the account the stack deploys to, or ``AGNOSTIC_ACCOUNT`` when it is environment-agnostic.
        region: the Region, or ``AGNOSTIC_REGION`` when environment-agnostic.
        agnostic: whether account or Region were unknown at synth.
        template: the parsed template.
    """

    name: str
    display_name: str
    account: str
    region: str
    agnostic: bool
    template: dict[str, Any]


def read_stacks(directory: str | Path) -> list[Stack]:
    """Returns the stacks of a cloud assembly (``manifest.json``) or of a directory of ``*.json`` templates.

    A directory without a manifest is read as templates saved with ``aws cloudformation get-template``
    (or copied from an assembly): each ``<stack name>.json`` or ``<stack name>.template.json`` is one stack.

    Raises:
        AssemblyError: when the directory has neither, or a file is not a JSON object.
    """
    directory = Path(directory)
    if (directory / "manifest.json").is_file():
        return _read_assembly(directory)
    if not directory.is_dir():
        raise AssemblyError(f"no cloud assembly or template directory at {directory}")
    stacks = []
    for path in sorted(directory.glob("*.json")):
        document = load_json(path)
        template = document.get("TemplateBody", document)  # get-template's JSON output, or the template
        if not isinstance(template, dict) or "Resources" not in template:
            continue
        name = path.name.removesuffix(".json").removesuffix(".template")
        stacks.append(_stack(name, name, None, template))
    if not stacks:
        raise AssemblyError(f"{directory} holds no manifest.json and no CloudFormation template")
    return stacks


def _read_assembly(directory: Path) -> list[Stack]:
    manifest = load_json(directory / "manifest.json")
    stacks: list[Stack] = []
    for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
        properties = artifact.get("properties") or {}
        if artifact.get("type") == STACK:
            template = load_json(directory / artifact_property(artifact_id, properties, "templateFile"))
            stacks.append(
                _stack(
                    properties.get("stackName") or artifact_id,
                    artifact.get("displayName") or artifact_id,
                    artifact.get("environment"),
                    template,
                )
            )
        elif artifact.get("type") == NESTED_ASSEMBLY:
            stacks.extend(_read_assembly(directory / artifact_property(artifact_id, properties, "directoryName")))
    return stacks


def _stack(name: str, display_name: str, environment: str | None, template: dict[str, Any]) -> Stack:
    account, region = "unknown-account", "unknown-region"
    if environment and environment.startswith("aws://"):
        parts = environment[len("aws://") :].split("/")
        if len(parts) == 2:
            account, region = parts
    agnostic = not (account.isdigit() and region != "unknown-region")
    return Stack(
        name=name,
        display_name=display_name,
        account=account if account.isdigit() else AGNOSTIC_ACCOUNT,
        region=region if region != "unknown-region" else AGNOSTIC_REGION,
        agnostic=agnostic,
        template=template,
    )
