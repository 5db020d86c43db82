"""Command line: ``cdk-ecr-ptc report [cdk.out] [--format markdown|json|mermaid] [--fail-on PRINCIPAL[:PREFIX,...]]``.

Exit codes: 0 when the report was written and every ``--fail-on`` principal can first-pull through
what it names; 1 when one cannot; 2 on usage errors, a missing or unreadable assembly (or baseline),
and a ``--fail-on`` principal or prefix the assembly does not have.
"""

import argparse
import sys
from typing import Any

from .assembly import AssemblyError, read_assembly
from .build import build_report
from .changes import compare
from .model import SCOPE_V1, SCOPE_V2
from .render import to_json, to_markdown, to_mermaid, verdict

OK, FAILED, USAGE = 0, 1, 2
_FORMATS = {"markdown": to_markdown, "json": to_json, "mermaid": to_mermaid}


class FailOnError(Exception):
    """A ``--fail-on`` value names a principal or prefix the assembly does not have."""


def main(argv: list[str] | None = None) -> int:
    """Runs the command line with ``argv`` (default ``sys.argv[1:]``), e.g. ``["report", "cdk.out"]``."""
    try:
        args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else USAGE
    options = {"all_principals": args.all_principals, "registry_scope": args.registry_policy_scope}
    try:
        stacks = read_assembly(args.assembly)
        report = build_report(stacks, **options)
        if args.baseline:
            report["changes"] = compare(build_report(read_assembly(args.baseline), **options), report, args.baseline)
        every = (
            report
            if args.all_principals or not args.fail_on
            else build_report(stacks, **{**options, "all_principals": True})
        )
        failures = [line for value in args.fail_on or [] for line in check_fail_on(every, value)]
    except (AssemblyError, FailOnError) as error:
        print(f"cdk-ecr-ptc report: {error}", file=sys.stderr)
        return USAGE
    sys.stdout.write(_FORMATS[args.format](report))
    for line in failures:
        print(line, file=sys.stderr)
    return FAILED if failures else OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdk-ecr-ptc", description="ECR pull-through cache tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    report = commands.add_parser(
        "report",
        help="report who can first-pull through each pull-through cache rule of a cloud assembly",
        description="Reads a synthesized cloud assembly and reports, per registry (account and Region) of the "
        "whole assembly, the pull-through cache rules, the repository creation templates and whether each "
        "principal can make a first pull, with a Mermaid diagram.",
    )
    report.add_argument("assembly", nargs="?", default="cdk.out", help="cloud assembly directory (cdk.out)")
    report.add_argument(
        "--format",
        choices=tuple(_FORMATS),
        default="markdown",
        help="markdown (with a Mermaid diagram), json (schema.json), or the Mermaid diagram alone",
    )
    report.add_argument(
        "--fail-on",
        action="append",
        metavar="PRINCIPAL[:PREFIX,...]",
        help="exit 1 unless this principal (logical ID, name or ARN) can first-pull through each PREFIX, or "
        "through every rule of the registries it holds an ECR permission on when no prefix is given; repeatable",
    )
    report.add_argument(
        "--all-principals", action="store_true", help="list every role and user, not only those with an ECR permission"
    )
    report.add_argument(
        "--baseline", metavar="OLD_CDK_OUT", help="add the access that changed since this older cloud assembly"
    )
    report.add_argument(
        "--registry-policy-scope",
        choices=(SCOPE_V1, SCOPE_V2),
        help="judge every registry policy as this scope (default: the library's metadata, else V1)",
    )
    return parser


def split_fail_on(value: str) -> tuple[str, list[str]]:
    """``PRINCIPAL[:PREFIX,...]`` as the principal and its prefixes; an ARN keeps its own colons."""
    fields = value.split(":")
    cut = 6 if value.startswith("arn:") else 1
    principal, rest = ":".join(fields[:cut]), ":".join(fields[cut:])
    return principal, [p.strip().rstrip("/") for p in rest.split(",") if p.strip()] if rest else []


def check_fail_on(report: dict[str, Any], value: str) -> list[str]:
    """The failure lines of one ``--fail-on`` value (empty when it passes).

    Raises:
        FailOnError: the principal or a prefix is not in the assembly.
    """
    name, prefixes = split_fail_on(value)
    principals = [p for p in report["principals"] if name in (p["name"], p["logical_id"], p["arn"])]
    if not principals:
        known = ", ".join(sorted(p["name"] for p in report["principals"]))
        raise FailOnError(f"--fail-on {value}: no principal {name!r} in the assembly (known: {known})")
    every_prefix = {
        r["ecr_repository_prefix"].rstrip("/")
        for g in report["registries"]
        for r in g["rules"]
        if r["ecr_repository_prefix"]
    }
    unknown = [p for p in prefixes if p not in every_prefix]
    if unknown:
        raise FailOnError(
            f"--fail-on {value}: no rule with prefix {', '.join(unknown)} in the assembly "
            f"(prefixes: {', '.join(sorted(every_prefix))})"
        )
    lines = []
    for principal in principals:
        entries = [
            dict(a, registry=g["key"])
            for g in report["registries"]
            for a in g["access"]
            if a["principal"] == principal["name"]
        ]
        related = [a for a in entries if a["registry"] in principal["registries"]] or entries
        wanted = prefixes or list(dict.fromkeys(a["rule"].rstrip("/") for a in related))
        if not wanted:
            lines.append(f"FAIL {principal['name']}: the assembly has no pull-through cache rule")
        for prefix in wanted:
            through = [a for a in related if a["rule"].rstrip("/") == prefix] or [
                a for a in entries if a["rule"].rstrip("/") == prefix
            ]
            if not any(a["allowed"] for a in through):
                lines.append(_why(principal["name"], prefix, through))
    return lines


def _why(principal: str, prefix: str, entries: list[dict[str, Any]]) -> str:
    lines = [f"FAIL {principal} cannot first-pull through {prefix}"]
    for entry in entries:
        missing = "; ".join(f"{m['action']} ({m['side']})" for m in entry["missing"])
        lines.append(f"  {entry['registry']}: {verdict(entry)}: {missing}")
    return "\n".join(lines)
