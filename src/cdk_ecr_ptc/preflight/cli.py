"""Command line: ``cdk-ecr-ptc preflight [cdk.out] [--baseline OLD] [--format markdown|json] [--parameter K=V ...]``.

Exit codes: 0 when nothing is found, 1 on findings, 2 on usage errors, an unreadable assembly, or a
missing ``preflight`` extra (cfn-lint).
"""

from __future__ import annotations

import argparse
import sys

from .assembly import AssemblyError
from .render import to_json, to_markdown
from .run import preflight
from .schema import MissingExtra

OK, FOUND, USAGE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    """Runs the command line with ``argv`` (default ``sys.argv[1:]``), e.g. ``["preflight", "cdk.out"]``."""
    try:
        args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else USAGE
    parameters = {}
    for item in args.parameter or []:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"cdk-ecr-ptc preflight: --parameter {item}: expected NAME=VALUE", file=sys.stderr)
            return USAGE
        parameters[key] = value
    try:
        report = preflight(args.assembly, baseline=args.baseline, parameters=parameters)
    except (AssemblyError, MissingExtra) as error:
        print(f"cdk-ecr-ptc preflight: {error}", file=sys.stderr)
        return USAGE
    sys.stdout.write(to_json(report) if args.format == "json" else to_markdown(report))
    return FOUND if report["findings"] else OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdk-ecr-ptc", description="ECR pull-through cache tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = commands.add_parser(
        "preflight",
        help="simulate the deploy of a cloud assembly: resolved values against the CloudFormation schemas, "
        "registry-policy scope, retries, custom resources, deployment policy and update safety",
        description="Resolves every value of every stack as CloudFormation would and reports what would fail "
        "at deploy, with the construct path, the resolved value and the fix. Exit 1 on findings.",
    )
    command.add_argument("assembly", nargs="?", default="cdk.out", help="cloud assembly directory (cdk.out)")
    command.add_argument(
        "--baseline",
        metavar="OLD",
        help="what is deployed now: a cloud assembly, or a "
        "directory of `aws cloudformation get-template` output (<stack name>.json each)",
    )
    command.add_argument("--format", choices=("markdown", "json"), default="markdown")
    command.add_argument(
        "--parameter",
        action="append",
        metavar="NAME=VALUE",
        help="a template parameter's value (default: its Default); repeatable",
    )
    return parser
