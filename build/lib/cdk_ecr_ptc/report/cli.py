"""Command line: ``cdk-ecr-ptc report [cdk.out] [--format markdown|json] [--fail-on PRINCIPAL ...]``.

Exit codes: 0 when the report was written (and every ``--fail-on`` principal can first-pull through
at least one rule of each stack it is in), 1 when a ``--fail-on`` principal cannot first-pull through
any rule of a stack, 2 on usage errors, a missing or unreadable assembly, or a ``--fail-on`` name
that matches no principal.
"""

import argparse
import sys
from typing import Any

from .assembly import AssemblyError, read_assembly
from .build import build_report
from .render import to_json, to_markdown

OK, FAILED, USAGE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    """Runs the command line with ``argv`` (default ``sys.argv[1:]``), e.g. ``["report", "cdk.out"]``."""
    try:
        args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else USAGE
    try:
        report = build_report(read_assembly(args.assembly))
    except AssemblyError as error:
        print(f"cdk-ecr-ptc report: {error}", file=sys.stderr)
        return USAGE
    sys.stdout.write(to_json(report) if args.format == "json" else to_markdown(report))
    return check_fail_on(report, args.fail_on or [])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdk-ecr-ptc", description="ECR pull-through cache tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    report = commands.add_parser(
        "report",
        help="report who can first-pull through each pull-through cache rule of a cloud assembly",
        description="Reads a synthesized cloud assembly and reports, per stack, the pull-through cache "
        "rules, the repository creation templates and whether each principal can make a first pull.",
    )
    report.add_argument("assembly", nargs="?", default="cdk.out", help="cloud assembly directory (cdk.out)")
    report.add_argument("--format", choices=("markdown", "json"), default="markdown")
    report.add_argument(
        "--fail-on",
        action="append",
        metavar="PRINCIPAL",
        help="exit 1 when this principal (name, logical ID or ARN) cannot first-pull through any rule; "
        "repeatable",
    )
    return parser


def check_fail_on(report: dict[str, Any], names: list[str]) -> int:
    """Checks the ``--fail-on`` principals, printing why one fails; returns the exit code."""
    code = OK
    for name in names:
        found = False
        for stack in report["stacks"]:
            for principal in stack["principals"]:
                if name not in (principal["name"], principal["logical_id"], principal["arn"]):
                    continue
                found = True
                entries = [a for a in stack["access"] if a["principal"] == principal["name"]]
                if not any(entry["allowed"] for entry in entries):
                    code = max(code, FAILED)
                    print(_why(stack["name"], principal["name"], entries), file=sys.stderr)
        if not found:
            print(f"cdk-ecr-ptc report: --fail-on {name}: no such principal in the assembly", file=sys.stderr)
            code = USAGE
    return code


def _why(stack: str, principal: str, entries: list[dict[str, Any]]) -> str:
    if not entries:
        return f"FAIL {principal} in {stack}: the stack has no pull-through cache rule"
    lines = [f"FAIL {principal} in {stack}: cannot first-pull through any rule"]
    for entry in entries:
        missing = "; ".join(
            f"{'denied' if m['denied'] else 'missing'} {m['action']} ({m['side']})" for m in entry["missing"]
        )
        lines.append(f"  {entry['rule']}: {missing}")
    return "\n".join(lines)
