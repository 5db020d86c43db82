"""Renders a preflight report as Markdown for people or JSON for machines."""

from __future__ import annotations

import json
from typing import Any


def to_json(report: dict[str, Any]) -> str:
    """The report as JSON (``schema.json``)."""
    return json.dumps(report, indent=2, sort_keys=False) + "\n"


def to_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: a summary line, then each finding with its value and fix."""
    findings = report["findings"]
    stacks = ", ".join(s["display_name"] for s in report["stacks"]) or "none"
    lines = ["# cdk-ecr-ptc preflight", "", f"Stacks: {stacks}."]
    if report.get("baseline"):
        lines.append(f"Baseline: {report['baseline']}.")
    lines += [f"Checks: {', '.join(report['checks'])}.", ""]
    lines += [f"- Note: {note}" for note in report["notes"]]
    if report["notes"]:
        lines.append("")
    if not findings:
        lines.append("No findings: the simulated deploy succeeds.")
    else:
        lines.append(f"{len(findings)} finding{'s' if len(findings) != 1 else ''}:")
    for finding in findings:
        lines += [
            "",
            f"## {finding['check']}: {finding['stack']} {finding['path']}",
            "",
            f"- Resource: {finding['logical_id']} ({finding['resource_type']})",
            f"- Value: `{finding['value']}`",
            f"- Problem: {finding['problem']}",
            f"- Fix: {finding['fix']}",
        ]
    return "\n".join(lines) + "\n"
