"""Runs every check on every stack of an assembly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import checks
from .assembly import AGNOSTIC_ACCOUNT, AGNOSTIC_REGION, read_stacks
from .baseline import baseline_findings
from .deployment import deployment_policy_findings
from .findings import Finding, StackView
from .schema import require_cfnlint, schema_findings

#: Check id -> what it proves.
CHECKS = {
    "schema": "every resolved property fits its resource type's registry schema (cfn-lint's pinned copy)",
    "registry-policy-scope": "a registry policy holds only what its declared registry-policy scope accepts",
    "retained-fixed-name": "no resource kept on a failed create holds a fixed name that blocks the retry",
    "custom-resource-timeout": "custom resources set ServiceTimeout and their Lambda runs at least 30 s",
    "deployment-policy": "a deployment policy allows every handler call of its cache stack's resources",
    "replacement": "no update replaces a custom-named resource in place of itself (with --baseline)",
    "registry-policy-deleted": "no update deletes the registry policy (with --baseline)",
}


def _schemas(region: str, resource_type: str) -> dict[str, Any]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # type: ignore[import-untyped]

    return dict(PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema)


def preflight(
    assembly: str | Path, *, baseline: str | Path | None = None, parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Simulates the deploy of every stack of ``assembly``; returns the report (see ``schema.json``).

    Args:
        assembly: a cloud assembly directory (``cdk.out``), Stages included, or a directory of templates.
        baseline: what is deployed now (an assembly or a directory of ``aws cloudformation get-template``
            output, one ``<stack name>.json`` per stack), for the update-safety checks. Default: - none.
        parameters: template parameter values, by name, for every stack. Default: - each parameter's default.

    Raises:
        AssemblyError: when a directory cannot be read.
        MissingExtra: when cfn-lint (the ``preflight`` extra) is not installed.
    """
    require_cfnlint()
    views = [StackView(stack, parameters) for stack in read_stacks(assembly)]
    findings: list[Finding] = []
    for view in views:
        findings += schema_findings(view)
        findings += checks.registry_policy_scope(view)
        findings += checks.retained_fixed_names(view)
        findings += checks.custom_resource_timeouts(view)
    findings += deployment_policy_findings(views, _schemas)
    if baseline is not None:
        old = [StackView(stack, parameters) for stack in read_stacks(baseline)]
        findings += baseline_findings(views, old, _schemas)
    notes = [
        f"{view.stack.display_name} is environment-agnostic: resolved in account {AGNOSTIC_ACCOUNT}, "
        f"Region {AGNOSTIC_REGION}"
        for view in views
        if view.stack.agnostic
    ]
    return {
        "version": 1,
        "assembly": str(assembly),
        "baseline": None if baseline is None else str(baseline),
        "checks": CHECKS
        if baseline is not None
        else {k: v for k, v in CHECKS.items() if k not in ("replacement", "registry-policy-deleted")},
        "stacks": [
            {
                "name": v.stack.name,
                "display_name": v.stack.display_name,
                "account": v.stack.account,
                "region": v.stack.region,
                "agnostic": v.stack.agnostic,
            }
            for v in views
        ],
        "findings": [finding.to_dict() for finding in findings],
        "notes": notes,
    }
