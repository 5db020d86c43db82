"""Renders the report data as Markdown or JSON."""

import json
from typing import Any

ALLOWED = "✅"
NOT_ALLOWED = "❌"
ABSENT = "–"


def to_json(report: dict[str, Any]) -> str:
    """The report as indented JSON, keys in a stable order."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def to_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: per stack, the rules, the creation templates and the first-pull matrix."""
    lines = ["# ECR pull-through cache access report", ""]
    lines += [f"- {assumption}" for assumption in report["assumptions"]]
    for stack in report["stacks"]:
        lines += ["", f"## Stack {stack['name']} ({stack['environment']})", ""]
        lines += [f"- {note}" for note in stack["notes"]]
        if not stack["rules"]:
            lines += ["No pull-through cache rules."]
            continue
        lines += _rules(stack) + _templates(stack) + _matrix(stack)
    return "\n".join(lines) + "\n"


def cell(value: Any) -> str:
    """A table cell: ``–`` for nothing, lists joined, pipes and newlines escaped."""
    if value is None or value == [] or value == "":
        return ABSENT
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]


def _rules(stack: dict[str, Any]) -> list[str]:
    header = [
        "Rule",
        "ECR prefix",
        "Upstream",
        "Upstream URL",
        "Upstream prefix",
        "Credential",
        "Custom role",
        "Template",
    ]
    rows = [
        [
            r["logical_id"],
            r["ecr_repository_prefix"],
            r["upstream_registry"],
            r["upstream_registry_url"],
            r["upstream_repository_prefix"],
            r["credential_arn"],
            r["custom_role_arn"],
            r["template"],
        ]
        for r in stack["rules"]
    ]
    return ["### Pull-through cache rules", "", *_table(header, rows), ""]


def _templates(stack: dict[str, Any]) -> list[str]:
    if not stack["templates"]:
        return ["### Repository creation templates", "", "None: cache repositories get ECR's defaults.", ""]
    header = [
        "Template",
        "Prefix",
        "Rules",
        "Applied for",
        "Tag mutability",
        "Encryption",
        "Tags",
        "Lifecycle",
        "Repository policy",
        "Custom role",
        "Notes",
    ]
    rows = [
        [
            t["logical_id"],
            t["prefix"],
            t["rules"],
            t["applied_for"],
            t["image_tag_mutability"],
            t["encryption"],
            [f"{tag['key']}={tag['value']}" for tag in t["resource_tags"]],
            t["lifecycle_rules"],
            _policy(t["repository_policy"]),
            t["custom_role_arn"],
            t["notes"],
        ]
        for t in stack["templates"]
    ]
    return ["### Repository creation templates", "", *_table(header, rows), ""]


def _policy(summary: dict[str, Any] | None) -> str | None:
    if summary is None:
        return None
    count = summary["statements"]
    return f"{count} statement{'s' if count != 1 else ''} for " + (
        ", ".join(summary["principals"]) or "nobody"
    )


def _matrix(stack: dict[str, Any]) -> list[str]:
    rules = [r["ecr_repository_prefix"] or r["logical_id"] for r in stack["rules"]]
    by_pair = {(a["principal"], a["rule"]): a for a in stack["access"]}
    rows = [
        [f"{p['name']} ({p['kind']})", *(verdict(by_pair[p["name"], rule]) for rule in rules)]
        for p in stack["principals"]
    ]
    lines = ["### First pull through each rule", "", *_table(["Principal", *rules], rows)]
    notes = _notes(stack)
    return lines + ([""] + [f"- {note}" for note in notes] if notes else [])


def verdict(access: dict[str, Any]) -> str:
    """The matrix cell of one access entry.

    For example ``✅`` or ``❌ missing: ecr:CreateRepository (registry policy or identity)``; actions that
    miss on the same sides are listed together.
    """
    if access["allowed"]:
        return ALLOWED + (" (identity: outside this template)" if access["identity_outside"] else "")
    parts = []
    for denied, word in ((True, "denied"), (False, "missing")):
        by_side: dict[str, list[str]] = {}
        for item in access["missing"]:
            if item["denied"] is denied:
                by_side.setdefault(item["side"], []).append(item["action"])
        if by_side:
            parts.append(f"{word}: " + "; ".join(f"{', '.join(a)} ({side})" for side, a in by_side.items()))
    return f"{NOT_ALLOWED} " + "; ".join(parts)


def _notes(stack: dict[str, Any]) -> list[str]:
    """Explanations under the matrix, each said once, with the rules it applies to."""
    by_text: dict[tuple[str, str], list[str]] = {}
    for principal in stack["principals"]:
        for note in principal["notes"]:
            by_text.setdefault((principal["name"], note), [])
    for access in stack["access"]:
        texts = [
            f"{m['action']} denied by {', '.join(m['reasons'])}" for m in access["missing"] if m["denied"]
        ]
        if access["identity_outside"]:
            texts.append(f"identity: outside this template (needs {', '.join(access['identity_outside'])})")
        for text in texts:
            by_text.setdefault((access["principal"], text), []).append(access["rule"])
    unknown = {
        r: None for a in stack["access"] for m in a["missing"] if not m["denied"] for r in m["reasons"]
    }
    notes = [
        f"{who}{' via ' + ', '.join(rules) if rules else ''}: {text}"
        for (who, text), rules in by_text.items()
    ]
    return notes + [f"Allow not counted: {reason}" for reason in unknown]
