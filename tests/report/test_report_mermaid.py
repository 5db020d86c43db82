"""The Mermaid diagram, parsed by mermaid's own parser (npm ``mermaid`` under jsdom, ``mermaid_parse.mjs``).

The tests compare the parsed vertices, edges and subgraphs, not the text layout.
"""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_report_whole_assembly import GRANT_WORKLOAD, TOKEN, access, cache_stack, identity, workload_stack

from cdk_ecr_ptc.report import build_report, to_mermaid

ROOT = Path(__file__).resolve().parents[2]
PARSER = Path(__file__).with_name("mermaid_parse.mjs")
PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]


def parse(text: str) -> dict[str, Any]:
    """Mermaid's own parse of ``text``: ``{"vertices", "edges", "subgraphs"}``; fails on a syntax error."""
    node = shutil.which("node")
    assert node and (ROOT / "node_modules" / "mermaid").is_dir(), "run scripts/setup (npm ci) for mermaid"
    run = subprocess.run([node, str(PARSER)], input=text, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def graph(text: str) -> tuple[dict[str, str], set[tuple[str, str, str, str]], dict[str, set[str]]]:
    """``({id: label}, {(from label, to label, stroke, text)}, {subgraph title: {node labels}})``."""
    parsed = parse(text)
    labels = {v["id"]: v["text"] for v in parsed["vertices"]}
    edges = {(labels[e["start"]], labels[e["end"]], e["stroke"], e["text"]) for e in parsed["edges"]}
    groups = {s["title"]: {labels[n] for n in s["nodes"]} for s in parsed["subgraphs"]}
    return labels, edges, groups


def test_a_broken_diagram_does_not_parse() -> None:
    with pytest.raises(AssertionError, match="Parse error"):
        parse('flowchart LR\n  a[["x"\n')


def test_central_cache_and_workload_diagram() -> None:
    report = build_report([cache_stack(GRANT_WORKLOAD), workload_stack(TOKEN, identity(PULL[:3]))])
    assert not access(report, "Exec")["allowed"]

    labels, edges, groups = graph(to_mermaid(report))

    assert set(labels.values()) == {"rule quay (eu-west-1)", "Exec", "account 222233334444"}
    assert edges == {
        ("Exec", "rule quay (eu-west-1)", "dotted", "identity"),
        ("account 222233334444", "rule quay (eu-west-1)", "normal", "identity outside the assembly"),
    }
    assert groups == {
        "account 111122223333": {"rule quay (eu-west-1)"},
        "account 222233334444": {"Exec", "account 222233334444"},
    }


def test_fixture_diagram_has_every_matrix_pair_as_an_edge(report: dict[str, Any]) -> None:
    labels, edges, groups = graph(to_mermaid(report))

    expected = set()
    for registry in report["registries"]:
        region = f" ({registry['region']})" if registry["region"] else ""
        for a in registry["access"]:
            label = (
                "identity outside the assembly"
                if a["allowed"] and a["identity_outside"]
                else ("" if a["allowed"] else a["blocking"])
            )
            expected.add((a["principal"], f"rule {a['rule']}{region}", "normal" if a["allowed"] else "dotted", label))
    upstream = ("rule ROOT (us-east-1)", "registry us-west-2", "normal", "identity outside the assembly")
    assert edges == expected | {upstream}
    assert groups["outside the assembly"] == {"organization o-abcdef1234", "anyone (*)"}
    assert groups["stack Prod/Mirror (account unknown)"] == {"rule quay", "MirrorPullerC0FFEE01"}
    assert groups["account 444455556666"] == {"account 444455556666", "registry us-west-2"}
    assert len(labels) == len(set(labels.values()))  # one node per principal and rule


def test_labels_with_quotes_are_escaped() -> None:
    report = build_report([cache_stack(identity(PULL) | {"Principal": {"AWS": 'arn:aws:iam::333344445555:role/a"b'}})])

    text = to_mermaid(report)
    labels, _, _ = graph(text)  # parses: the quote does not end the label early

    assert '"arn:aws:iam::333344445555:role/a#quot;b"' in text
    assert len(labels) == 2 and any(label.startswith("arn:aws:iam::333344445555:role/a") for label in labels.values())
