"""Command line: ``cdk-ecr-ptc warm --region R --account A IMAGE...``: warms a deployed cache with your credentials.

It runs the code of the deploy-time warmer (:mod:`cdk_ecr_ptc.handlers.warm`), for a pipeline step after
the deploy or an ad-hoc refill. References are routed to the registry's pull-through cache rules as
``DescribePullThroughCacheRules`` lists them (``nginx:1.27`` goes to the Docker Hub rule), or name the
cache itself (``<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<path>:<tag>``). It prints progress
per image and a summary table. Needs boto3.

Exit codes: 0 when every image is cached, 1 when one failed, 2 on usage errors and unroutable references.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any

from ._reference import RuleInfo, route
from .handlers import warm
from .images import InvalidImageReference, parse

OK, FAILED, USAGE = 0, 1, 2
_ACCOUNT = re.compile(r"^[0-9]{12}$")


def _client(region: str) -> Any:
    """The ECR client (replaced in tests)."""
    return warm.ecr_client(region)


def main(argv: list[str] | None = None) -> int:
    """Runs ``warm`` with ``argv`` (default ``sys.argv[1:]``), e.g. ``["warm", "--region", ..., "nginx:1.27"]``."""
    try:
        args = _parser().parse_args((sys.argv[1:] if argv is None else argv)[1:])
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else USAGE
    if not _ACCOUNT.fullmatch(args.account):
        print(f"cdk-ecr-ptc warm: --account must be 12 digits, got {args.account!r}", file=sys.stderr)
        return USAGE
    try:
        client = _client(args.region)
    except ImportError:
        print("cdk-ecr-ptc warm: needs boto3 (pip install boto3)", file=sys.stderr)
        return USAGE
    rules = describe_rules(client, args.account)
    try:
        images = [image_for(text, rules, args.account, args.region) for text in args.images]
    except InvalidImageReference as bad:
        print(f"cdk-ecr-ptc warm: {bad}", file=sys.stderr)
        return USAGE
    settings = warm.Settings(
        platforms=tuple(args.platform or ()),
        concurrency=args.concurrency,
        poll_seconds=args.poll_seconds,
        budget_seconds=args.budget_seconds,
    )
    results = warm.Warmer(
        client, settings, registry_id=args.account, progress=lambda line: print(line, flush=True)
    ).warm_all(images)
    print()
    print(table(results))
    return OK if all(result.ok for result in results) else FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cdk-ecr-ptc warm",
        description=("Pull images through a deployed ECR pull-through cache, with your credentials."),
    )
    parser.add_argument("--region", required=True, help="the cache's Region")
    parser.add_argument("--account", required=True, help="the cache's account (registry ID)")
    parser.add_argument(
        "--platform",
        action="append",
        metavar="OS/ARCH",
        help="warm only this platform of a multi-architecture image (repeatable; default: all)",
    )
    parser.add_argument("--concurrency", type=int, default=2, help="images at once (default: 2)")
    parser.add_argument("--poll-seconds", type=float, default=150, help="DescribeImages polling per image")
    parser.add_argument("--budget-seconds", type=float, default=3600, help="time for the whole list")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="e.g. nginx:1.27, quay.io/org/app:v1")
    return parser


def describe_rules(client: Any, account: str) -> list[RuleInfo]:
    """The registry's pull-through cache rules."""
    rules, token = [], None
    while True:
        page = client.describe_pull_through_cache_rules(registryId=account, **({"nextToken": token} if token else {}))
        rules += [
            RuleInfo(
                prefix=rule["ecrRepositoryPrefix"],
                upstream_url=rule["upstreamRegistryUrl"],
                upstream_repository_prefix=rule.get("upstreamRepositoryPrefix"),
            )
            for rule in page.get("pullThroughCacheRules", [])
        ]
        token = page.get("nextToken")
        if not token:
            return rules


def image_for(text: str, rules: Sequence[RuleInfo], account: str, region: str) -> warm.Image:
    """The image to warm for a reference: through its upstream's rule, or a repository of the cache itself."""
    reference = parse(text)
    if reference.host is not None and reference.host.startswith(f"{account}.dkr.ecr.{region}."):
        owner = [rule for rule in rules if rule.prefix == "ROOT" or reference.repository.startswith(rule.prefix + "/")]
        if not owner or reference.tag is None:
            prefixes = sorted(rule.prefix for rule in rules)
            raise InvalidImageReference(
                "the cache repository is under no rule's prefix, or has no tag",
                text,
                f"Name a repository under one of {prefixes}, with a tag.",
            )
        best = max(owner, key=lambda rule: -1 if rule.prefix == "ROOT" else len(rule.prefix))
        return warm.Image(
            repository=reference.repository,
            tag=reference.tag,
            rule=best.prefix,
            reference=text,
            digest=reference.digest,
        )
    found = route(text, rules)
    return warm.Image(
        repository=found.repository, tag=found.tag, rule=found.rule.prefix, reference=text, digest=found.digest
    )


def table(results: Sequence[warm.Result]) -> str:
    """The summary: one row per image, then the failures' reasons."""
    rows = [("IMAGE", "RULE", "RESULT", "PLATFORMS", "LAYERS", "SECONDS", "DIGEST")]
    for result in results:
        rows.append(
            (
                str(result.image),
                result.image.rule,
                "cached" if result.ok else f"FAILED {result.code}",
                ",".join(result.platforms) or "-",
                str(result.layers),
                f"{result.seconds:g}",
                result.digest or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    failed = [result for result in results if not result.ok]
    lines.append(f"{len(results) - len(failed)} of {len(results)} images cached.")
    return "\n".join(lines + [f"- {result.describe()}" for result in failed])
