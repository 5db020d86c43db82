"""Renders the report data as Markdown (with a Mermaid diagram), Mermaid alone, or JSON."""

import json
import re
from typing import Any

ALLOWED = "✅"
NOT_ALLOWED = "❌"
ABSENT = "–"
OUTSIDE = "identity outside the assembly"


def to_json(report: dict[str, Any]) -> str:
    """The report as indented JSON, keys in a stable order."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def to_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: per registry the rules, the creation templates and the first-pull matrix,
    then the ECR-to-ECR upstream access, the principals that never pull, the diagram and the changes."""
    lines = ["# ECR pull-through cache access report", ""]
    lines += ["Stacks: " + ", ".join(f"{s['name']} ({s['environment']})" for s in report["stacks"]) + ".", ""]
    lines += ["What the evaluator assumes and understands:", ""]
    lines += [f"- {assumption}" for assumption in report["assumptions"]]
    if not report["registries"]:
        lines += ["", "No pull-through cache rules, creation templates or registry policies in the assembly."]
    for registry in report["registries"]:
        lines += ["", f"## Registry {registry['key']}", ""]
        scope = registry["registry_policy_scope"]
        lines += [
            f"Stacks: {', '.join(registry['stacks'])}. Registry policy scope: {scope} "
            f"({_SCOPE_SOURCES[registry['registry_policy_scope_source']]}).",
            "",
        ]
        lines += [f"- {note}" for note in registry["notes"]] + ([""] if registry["notes"] else [])
        if registry["rules"]:
            lines += _rules(registry) + _templates(registry) + _matrix(registry, report)
        elif registry["templates"]:
            lines += _templates(registry)
    lines += _upstream(report["upstream"])
    lines += _others(report)
    lines += ["", "## Access diagram", "", "```mermaid", to_mermaid(report).rstrip("\n"), "```"]
    if report.get("changes") is not None:
        lines += _changes(report["changes"])
    return "\n".join(lines) + "\n"


_SCOPE_SOURCES = {
    "metadata": "from the cdk-ecr-ptc:registryPolicyScope metadata",
    "default": "no scope metadata: the safe default",
    "option": "as --registry-policy-scope says",
}


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
    several = len(stack["stacks"]) > 1
    header = [
        "Rule",
        *(["Stack"] if several else []),
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
            *([r["stack"]] if several else []),
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
    return f"{count} statement{'s' if count != 1 else ''} for " + (", ".join(summary["principals"]) or "nobody")


def _matrix(registry: dict[str, Any], report: dict[str, Any]) -> list[str]:
    rules = [r["ecr_repository_prefix"] or r["logical_id"] for r in registry["rules"]]
    by_pair = {(a["principal"], a["rule"]): a for a in registry["access"]}
    kinds = {p["name"]: _who(p) for p in report["principals"]}
    rows = [
        [f"{name} ({kinds[name]})", *(verdict(by_pair[name, rule]) for rule in rules)]
        for name in registry["principals"]
    ]
    lines = ["### First pull through each rule", ""]
    if not rows:
        return lines + ["Nobody holds an ECR permission on this registry or is named in its policies.", ""]
    lines += _table(["Principal", *rules], rows)
    missing = _missing_lines(registry)
    if missing:
        lines += ["", "Missing, per principal:", ""] + missing
    notes = _notes(registry, report)
    if notes:
        lines += ["", "Notes:", ""] + notes
    return lines + [""]


def _who(principal: dict[str, Any]) -> str:
    if principal["stack"] is None:
        return principal["kind"]
    account = f", {principal['account']}" if principal["account"] != "unknown-account" else ""
    return f"{principal['kind']} in {principal['stack']}{account}"


def verdict(access: dict[str, Any]) -> str:
    """The matrix cell of one access entry: ``✅``, ``✅ (identity outside the assembly)``, or ``❌`` and
    the first blocking side, e.g. ``❌ boundary``."""
    if access["allowed"]:
        return ALLOWED + (f" ({OUTSIDE})" if access["identity_outside"] else "")
    return f"{NOT_ALLOWED} {access['blocking']}"


def _missing_lines(registry: dict[str, Any]) -> list[str]:
    """Each principal's missing actions, once: ``action (side)``, with the rules when not all of them."""
    every = [r["ecr_repository_prefix"] or r["logical_id"] for r in registry["rules"]]
    by_principal: dict[str, dict[str, list[str]]] = {}
    for access in registry["access"]:
        for item in access["missing"]:
            key = f"{item['action']} ({item['side']})"
            by_principal.setdefault(access["principal"], {}).setdefault(key, []).append(access["rule"])
    lines = []
    for name, items in by_principal.items():
        parts = [key + ("" if rules == every else f" on {', '.join(rules)}") for key, rules in items.items()]
        lines.append(f"- {name}: " + "; ".join(parts))
    return lines


def _notes(registry: dict[str, Any], report: dict[str, Any]) -> list[str]:
    """Explanations under the matrix, each naming the principal and the statement, said once with the
    actions and rules it concerns."""
    shown = set(registry["principals"])
    lines = [f"- {p['name']}: {note}" for p in report["principals"] if p["name"] in shown for note in p["notes"]]
    groups: dict[tuple[str, str], tuple[dict[str, None], dict[str, None]]] = {}
    for access in registry["access"]:
        found = [
            (m["action"], ("{} denied by " if m["denied"] else "{}: Allow not counted: ") + reason)
            for m in access["missing"]
            for reason in m["reasons"]
        ]
        found += [(action, f"{OUTSIDE}: its own account must grant {{}}") for action in access["identity_outside"]]
        for action, text in found:
            actions, rules = groups.setdefault((access["principal"], text), ({}, {}))
            actions[action] = rules[access["rule"]] = None
    every = [r["ecr_repository_prefix"] or r["logical_id"] for r in registry["rules"]]
    for (principal, text), (actions, rules) in groups.items():
        where = "" if list(rules) == every else f" (on {', '.join(rules)})"
        lines.append(f"- {principal}: {text.format(', '.join(actions))}{where}")
    return lines


def _upstream(entries: list[dict[str, Any]]) -> list[str]:
    if not entries:
        return []
    header = ["Rule", "Stack", "Role", "Upstream registry", "Pull from the upstream"]
    rows = [
        [
            e["rule"],
            e["stack"],
            e["role"],
            e["upstream"],
            verdict(e)
            if e["upstream_in_assembly"] or not e["allowed"]
            else f"{ALLOWED} (upstream outside the assembly)",
        ]
        for e in entries
    ]
    lines = ["", "## ECR-to-ECR: rule roles against their upstream registries", "", *_table(header, rows)]
    missing = [
        f"- {e['rule']} ({e['stack']}): " + "; ".join(f"{m['action']} ({m['side']})" for m in e["missing"])
        for e in entries
        if e["missing"]
    ]
    return lines + (["", "Missing:", ""] + missing if missing else [])


def _others(report: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if report["not_pullers"]:
        lines += [
            "",
            "## Not pullers",
            "",
            "Trusted only by services that never pull through the cache (creation-template roles, "
            "ECR-to-ECR roles, Lambda): " + ", ".join(report["not_pullers"]) + ".",
        ]
    if report["hidden"]:
        lines += [
            "",
            f"Not shown: {len(report['hidden'])} roles and users without an ECR permission on any "
            "registry (`--all-principals` shows them): " + ", ".join(report["hidden"]) + ".",
        ]
    return lines


def _changes(changes: dict[str, Any]) -> list[str]:
    lines = ["", f"## Access changes since {changes['baseline']}", ""]
    for key, title in (("new_pullers", "New pullers"), ("lost_pullers", "Lost pullers")):
        items = [f"{c['principal']} via {c['rule']} ({c['registry']})" for c in changes[key]]
        lines.append(f"- {title}: " + ("; ".join(items) if items else "none"))
    lines.append("- New accounts: " + (", ".join(changes["new_accounts"]) or "none"))
    return lines


# ---- Mermaid ------------------------------------------------------------------------------------


def to_mermaid(report: dict[str, Any]) -> str:
    """The access as a Mermaid flowchart: accounts as subgraphs, principals and rules as nodes, a solid
    edge for each allowed first pull and a dashed one, labelled with the blocking side, for the others.

    Principals outside any account (organizations, anyone, services) are in an "outside the assembly"
    subgraph; environment-agnostic stacks get a subgraph of their own.
    """
    groups: dict[str, tuple[str, list[str]]] = {}
    ids: dict[str, str] = {}

    def node(key: str, label: str, group: str, title: str) -> str:
        if key not in ids:
            ids[key] = f"n{len(ids)}"
            groups.setdefault(group, (title, []))[1].append(f'{ids[key]}["{_text(label)}"]')
        return ids[key]

    principals = {p["name"]: p for p in report["principals"]}
    edges: list[str] = []
    for registry in report["registries"]:
        group, title = _group_of_registry(registry)
        rules = {}
        for rule in registry["rules"]:
            name = rule["ecr_repository_prefix"] or rule["logical_id"]
            label = f"rule {name}" + (f" ({registry['region']})" if registry["region"] else "")
            rules[name] = node(f"rule {registry['key']} {name}", label, group, title)
        for access in registry["access"]:
            principal = principals[access["principal"]]
            source = node(f"principal {principal['name']}", principal["name"], *_group_of_principal(principal))
            edges.append(_edge(source, rules[access["rule"]], access))
    for entry in report["upstream"]:
        registry = next(r for r in report["registries"] if entry["stack"] in r["stacks"])
        group, title = _group_of_registry(registry)
        source = node(f"rule {registry['key']} {entry['rule']}", f"rule {entry['rule']}", group, title)
        account, region = entry["upstream"].split("/", 1)
        target = node(f"upstream {entry['upstream']}", f"registry {region}", f"a{account}", f"account {account}")
        edges.append(_edge(source, target, entry))
    lines = ["flowchart LR"]
    for group, (title, nodes) in groups.items():
        lines += [f'  subgraph {group}["{_text(title)}"]', *(f"    {n}" for n in nodes), "  end"]
    return "\n".join(lines + [f"  {edge}" for edge in edges]) + "\n"


def _edge(source: str, target: str, access: dict[str, Any]) -> str:
    if access["allowed"]:
        return f'{source} -->|"{OUTSIDE}"| {target}' if access["identity_outside"] else f"{source} --> {target}"
    return f'{source} -.->|"{_text(access["blocking"])}"| {target}'


def _group_of_registry(registry: dict[str, Any]) -> tuple[str, str]:
    if registry["account"] is None:
        return _group_id(registry["key"]), f"{registry['key']} (account unknown)"
    return f"a{registry['account']}", f"account {registry['account']}"


def _group_of_principal(principal: dict[str, Any]) -> tuple[str, str]:
    account = principal["account"]
    if principal["stack"] is not None and account == "unknown-account":
        key = f"stack {principal['stack']}"
        return _group_id(key), f"{key} (account unknown)"
    if account and account != "unknown-account" and principal["kind"] != "organization":
        return f"a{account}", f"account {account}"
    return "outside", "outside the assembly"


def _group_id(key: str) -> str:
    return "g_" + re.sub(r"[^A-Za-z0-9_]", "_", key)


def _text(label: str) -> str:
    """A label safe inside Mermaid's double quotes."""
    return label.replace('"', "#quot;")
