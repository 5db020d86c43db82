"""Synth cost of cdk-ecr-ptc compared with the same cache written by hand (the floor).

Each measurement is one whole process (``python benchmarks/synth_cost.py --worker ...``) that imports
its libraries, builds an App and synthesizes it to a temporary directory. The library arm uses
``PullThroughCache`` and ``grant_pull``; the hand-written arm writes the equivalent
``CfnPullThroughCacheRule``, ``CfnRegistryPolicy`` and IAM ``Role`` + ``Policy`` resources directly and
does not import cdk_ecr_ptc. Library and hand-written runs alternate to cancel drift, and the report
gives medians of wall time, of CPU time (the worker and the Node.js processes it waited for) and the jsii
round trips of each arm (requests to the jsii kernel, counted in the worker). CDK's built-in template
validation is left at its default (on) in both arms; pass ``--no-validation`` to turn it off in both
(``CDK_VALIDATION=false``).

Run from the repository root::

    .venv/bin/python benchmarks/synth_cost.py            # full grid, 5 runs each
    .venv/bin/python benchmarks/synth_cost.py --quick    # the cells the targets need, 1 run each
    .venv/bin/python benchmarks/synth_cost.py --cells 50x100:role,50x100:account --runs 5
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ACCOUNT = "111122223333"
REGION = "us-east-1"
RULE_COUNTS = (1, 10, 25, 50)
GRANTEE_COUNTS = (1, 10, 100)
KINDS = ("role", "account")
#: Cells of ``--quick``: what the targets need, plus the smallest cache.
QUICK_CELLS = ((1, 1, "role"), (50, 1, "role"), (50, 100, "role"), (50, 100, "account"))
#: (factory of cdk_ecr_ptc.Upstream, UpstreamRegistry value, URL), cycled to reach 50 rules.
UPSTREAMS = (
    ("ecr_public", "ecr-public", "public.ecr.aws"),
    ("quay", "quay", "quay.io"),
    ("kubernetes", "k8s", "registry.k8s.io"),
)
REPOSITORY_ACTIONS = (
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
)
MAX_POLICY_CHARS = 10_240
#: Synth time targets (library / hand-written) with CDK's validation on, and off (the library's own cost).
TIME_TARGET = 1.05
NO_VALIDATION_TIME_TARGET = 1.25
TEMPLATE_TARGET = 1.2


def _prefix(index: int) -> str:
    """The rule prefix of rule ``index``: ``p00``, ``p01``, ... (valid ECR prefixes)."""
    return f"p{index:02d}"


def _account(index: int) -> str:
    """The account ID of account grantee ``index``."""
    return str(200_000_000_000 + index)


def build_library(stack, rules: int, grantees: int, kind: str) -> None:
    """Defines the cache with cdk_ecr_ptc: one ``PullThroughCache``, each grantee granted once on it."""
    from aws_cdk import aws_iam as iam

    from cdk_ecr_ptc import PullThroughCache, RegistryPolicyScope, Upstream

    # The hand-written arm puts every account's pull actions in the registry policy (scope V2), so the library
    # is measured with the same rendering; under V1 it would also write one repository policy per rule.
    cache = PullThroughCache(
        stack,
        "Cache",
        upstreams=[getattr(Upstream, UPSTREAMS[i % len(UPSTREAMS)][0])(prefix=_prefix(i)) for i in range(rules)],
        registry_policy_scope=RegistryPolicyScope.V2,
    )
    for i in range(grantees):
        if kind == "role":
            cache.grant_pull(iam.Role(stack, f"Puller{i}", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")))
        else:
            cache.grant_pull(iam.AccountPrincipal(_account(i)))


def build_by_hand(stack, rules: int, grantees: int, kind: str) -> None:
    """Defines the same resources with CDK's L1s and IAM L2s only, as a careful author would by hand."""
    from aws_cdk import aws_ecr as ecr
    from aws_cdk import aws_iam as iam

    arns = []
    for i in range(rules):
        _, registry, url = UPSTREAMS[i % len(UPSTREAMS)]
        ecr.CfnPullThroughCacheRule(
            stack, f"Rule{i}", ecr_repository_prefix=_prefix(i), upstream_registry=registry, upstream_registry_url=url
        )
        arns.append(f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{_prefix(i)}/*")
    if kind == "role":
        for i in range(grantees):
            role = iam.Role(stack, f"Puller{i}", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
            iam.Policy(
                stack,
                f"Puller{i}Policy",
                roles=[role],
                statements=[
                    iam.PolicyStatement(actions=list(REPOSITORY_ACTIONS), resources=arns),
                    iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
                ],
            )
    else:
        principals = [f"arn:aws:iam::{_account(i)}:root" for i in range(grantees)]
        ecr.CfnRegistryPolicy(
            stack,
            "RegistryPolicy",
            policy_text={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": principals if len(principals) > 1 else principals[0]},
                        "Action": sorted(REPOSITORY_ACTIONS),
                        "Resource": arns if len(arns) > 1 else arns[0],
                    }
                ],
            },
        )


def build_floor(stack, rules: int, grantees: int, kind: str) -> None:
    """The hand-written resources, with each grantee granted through one ``iam.Grant``, as any grant method that
    returns an honest ``iam.Grant`` must (the contract's floor, ``--floor``); does not import cdk_ecr_ptc.

    A role gets its two statements with ``Grant.add_to_principal`` and one grant combining them (the library's
    ``grant_pull`` returns one grant), instead of an ``iam.Policy``. An account gets CDK's cheapest resource-policy
    grant, ``Grant.add_to_principal_or_resource``, on a resource whose policy takes the statement (a callback from
    Node.js); the registry policy is written by hand with the same statements.
    """
    import jsii
    from aws_cdk import Resource
    from aws_cdk import aws_iam as iam

    arns = [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{_prefix(i)}/*" for i in range(rules)]
    if kind == "role":
        build_by_hand(stack, rules, 0, kind)
        for i in range(grantees):
            role = iam.Role(stack, f"Puller{i}", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
            pull = iam.Grant.add_to_principal(grantee=role, actions=list(REPOSITORY_ACTIONS), resource_arns=arns)
            pull.combine(
                iam.Grant.add_to_principal(grantee=role, actions=["ecr:GetAuthorizationToken"], resource_arns=["*"])
            )
        return

    @jsii.implements(iam.IResourceWithPolicyV2)
    class Statements(Resource):
        """Takes the grants' statements."""

        def __init__(self, scope, id: str) -> None:
            super().__init__(scope, id)
            self.taken: list = []

        def add_to_resource_policy(self, statement):
            self.taken.append(statement)
            return iam.AddToResourcePolicyResult(statement_added=True)

    build_by_hand(stack, rules, grantees, kind)
    policy = Statements(stack, "GrantedStatements")
    for i in range(grantees):
        iam.Grant.add_to_principal_or_resource(
            grantee=iam.AccountPrincipal(_account(i)),
            actions=list(REPOSITORY_ACTIONS),
            resource_arns=arns,
            resource=policy,
        )


ARMS = {"library": build_library, "hand": build_by_hand, "floor": build_floor}


def _node_peak_kib() -> int:
    """Summed peak RSS (VmHWM, KiB) of this process's live descendants: the jsii Node.js runtime and kernel."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    descendants, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - descendants
        descendants |= frontier
    peak = 0
    for pid in descendants:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        peak += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return peak


#: The requests a jsii kernel provider answers: each is one message to the Node.js kernel and its answer.
#: ``sync_complete`` and ``complete`` answer a callback (Node.js calling a Python method, a producer, say).
KERNEL_REQUESTS = (
    "create",
    "delete",
    "get",
    "set",
    "sget",
    "sset",
    "invoke",
    "sinvoke",
    "begin",
    "sbegin",
    "end",
    "callbacks",
    "complete",
    "sync_complete",
    "stats",
)
CALLBACK_ANSWERS = ("complete", "sync_complete")


def count_round_trips() -> collections.Counter[str]:
    """Counts, from now on and in this process only, the requests sent to the jsii kernel, by kind.

    It wraps the methods of the kernel's provider object (``jsii.kernel.provider``), the one place every
    request goes through; loading assemblies (``load``, at import) is not counted. Only the benchmark's
    worker does this: the library never touches jsii's kernel.
    """
    import jsii

    provider = jsii.kernel.provider
    counts: collections.Counter[str] = collections.Counter()
    for name in KERNEL_REQUESTS:
        method = getattr(provider, name)

        def counted(*args: object, _method=method, _name=name, **kwargs: object) -> object:
            counts[_name] += 1
            return _method(*args, **kwargs)

        setattr(provider, name, counted)
    return counts


def worker(arm: str, rules: int, grantees: int, kind: str, outdir: str) -> None:
    """Synthesizes one app (the measured process) and prints its peak memory and jsii round trips as JSON."""
    counts = count_round_trips()
    from aws_cdk import App, Environment, Stack

    app = App(outdir=outdir)
    stack = Stack(app, "Bench", env=Environment(account=ACCOUNT, region=REGION))
    ARMS[arm](stack, rules, grantees, kind)
    built = collections.Counter(counts)
    app.synth()
    synthesized = counts - built
    print(
        json.dumps(
            {
                "python_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "node_kib": _node_peak_kib(),
                "build_round_trips": built.total(),
                "synth_round_trips": synthesized.total(),
                "callbacks": sum(counts[name] for name in CALLBACK_ANSWERS),
                "by_kind": dict(counts),
            }
        )
    )


@dataclass
class Sample:
    """One measured process: wall seconds, CPU seconds (user + system of the worker and the Node.js processes
    it waited for), peak memory (Python + Node, MiB), jsii round trips and the template it wrote."""

    seconds: float
    cpu: float
    mib: float
    template: dict
    template_bytes: int
    #: jsii kernel requests while the app is built (imports of the arm's libraries included), and in ``synth``.
    build_round_trips: int
    synth_round_trips: int
    #: Of those, answers to callbacks from Node.js into Python.
    callbacks: int
    by_kind: dict[str, int]


def _children_cpu() -> float:
    """User + system CPU seconds of the children waited for so far (and of the children they waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(arm: str, rules: int, grantees: int, kind: str, env: dict[str, str]) -> Sample:
    """Runs one worker process and measures it from spawn to exit."""
    with tempfile.TemporaryDirectory(prefix="synth-cost-") as outdir:
        command = [sys.executable, __file__, "--worker", arm, str(rules), str(grantees), kind, outdir]
        cpu = _children_cpu()
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stdout, stderr = process.communicate()
        seconds = time.perf_counter() - start
        cpu = _children_cpu() - cpu
        if process.returncode != 0:
            raise SystemExit(f"{arm} {rules}x{grantees} {kind} failed:\n{stderr.decode()}")
        memory = json.loads(stdout.decode().strip().splitlines()[-1])
        path = Path(outdir, "Bench.template.json")
        return Sample(
            seconds,
            cpu,
            (memory["python_kib"] + memory["node_kib"]) / 1024,
            json.loads(path.read_text()),
            path.stat().st_size,
            memory["build_round_trips"],
            memory["synth_round_trips"],
            memory["callbacks"],
            memory["by_kind"],
        )


def compact_length(document: object) -> int:
    """Counts the non-whitespace characters of ``document`` as compact JSON (how IAM and ECR count)."""
    text = document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))
    return sum(not c.isspace() for c in text)


def registry_policy_chars(template: dict) -> int | None:
    """The registry policy's length, or ``None`` when the template has none."""
    for res in template["Resources"].values():
        if res["Type"] == "AWS::ECR::RegistryPolicy":
            return compact_length(res["Properties"]["PolicyText"])
    return None


def identity_policies(template: dict) -> dict[str, list[int]]:
    """Maps each role's logical ID to the lengths of the ``AWS::IAM::Policy`` documents attached to it."""
    by_role: dict[str, list[int]] = {}
    for res in template["Resources"].values():
        if res["Type"] == "AWS::IAM::Policy":
            for role in res["Properties"].get("Roles", []):
                by_role.setdefault(role["Ref"], []).append(compact_length(res["Properties"]["PolicyDocument"]))
    return by_role


@dataclass
class Cell:
    """Medians of both arms for one (rules, grantees, kind)."""

    rules: int
    grantees: int
    kind: str
    library: list[Sample]
    hand: list[Sample]
    #: The contract floor's samples (``--floor``); empty when not measured.
    floor: list[Sample]

    def median(self, arm: str, field: str) -> float:
        """The median of ``field`` over the arm's samples."""
        return statistics.median(getattr(s, field) for s in getattr(self, arm))

    def ratio(self, field: str, over: str = "hand") -> float:
        """Library median over the median of ``over`` (the hand-written arm, or the floor)."""
        return self.median("library", field) / self.median(over, field)

    @property
    def template(self) -> dict:
        """The library arm's template (synthesis is deterministic)."""
        return self.library[0].template


def run(cells: list[tuple[int, int, str]], runs: int, env: dict[str, str], *, floor: bool = False) -> list[Cell]:
    """Measures every cell ``runs`` times per arm, alternating which arm goes first (and the floor's place)."""
    results = [Cell(r, g, k, [], [], []) for r, g, k in cells]
    for i in range(runs):
        for j, cell in enumerate(results):
            arms = ["library", "floor", "hand"] if floor else ["library", "hand"]
            for arm in arms if (i + j) % 2 == 0 else arms[::-1]:
                getattr(cell, arm).append(measure(arm, cell.rules, cell.grantees, cell.kind, env))
            library, hand = cell.library[-1], cell.hand[-1]
            print(
                f"run {i + 1}/{runs} {cell.rules:>2} rules x {cell.grantees:>3} {cell.kind:<7} "
                f"library {library.seconds:6.2f}s ({library.cpu:5.2f}s CPU, {_trips(library)} round trips) "
                f"hand {hand.seconds:6.2f}s ({hand.cpu:5.2f}s CPU, {_trips(hand)} round trips)"
                + (f" floor {cell.floor[-1].cpu:5.2f}s CPU ({_trips(cell.floor[-1])} round trips)" if floor else ""),
                file=sys.stderr,
                flush=True,
            )
    return results


def _trips(sample: Sample) -> str:
    return f"{sample.build_round_trips:,} + {sample.synth_round_trips:,}"


def table(results: list[Cell]) -> str:
    """Renders the results as a markdown table (jsii round trips as build + synth; they do not vary by run)."""
    lines = [
        "| rules | grantees | kind | hand s | library s | time x | hand CPU s | library CPU s | CPU x "
        "| hand jsii round trips | library jsii round trips | hand MiB | library MiB | memory x "
        "| hand template B | library template B | template x | registry policy chars "
        "| identity policy chars (max per role) |",
        "|" + "---:|" * 3 + "---:|" * 16,
    ]
    if any(c.floor for c in results):
        lines[0] += " floor CPU s | floor jsii round trips | library / floor CPU x |"
        lines[1] += "---:|" * 3
    for c in results:
        registry = registry_policy_chars(c.template)
        identity = [sum(v) for v in identity_policies(c.template).values()]
        lines.append(
            f"| {c.rules} | {c.grantees} | {c.kind} | {c.median('hand', 'seconds'):.2f} "
            f"| {c.median('library', 'seconds'):.2f} | {c.ratio('seconds'):.2f} "
            f"| {c.median('hand', 'cpu'):.2f} | {c.median('library', 'cpu'):.2f} | {c.ratio('cpu'):.2f} "
            f"| {_trips(c.hand[0])} | {_trips(c.library[0])} "
            f"| {c.median('hand', 'mib'):.0f} | {c.median('library', 'mib'):.0f} | {c.ratio('mib'):.2f} "
            f"| {c.hand[0].template_bytes} | {c.library[0].template_bytes} "
            f"| {c.library[0].template_bytes / c.hand[0].template_bytes:.2f} "
            f"| {registry if registry is not None else '-'} | {max(identity) if identity else '-'} |"
            + (
                f" {c.median('floor', 'cpu'):.2f} | {_trips(c.floor[0])} | {c.ratio('cpu', 'floor'):.2f} |"
                if c.floor
                else ""
            )
        )
    return "\n".join(lines)


def targets(results: list[Cell], *, verdicts: bool = True, time_target: float = TIME_TARGET) -> str:
    """Checks the issue's targets against the cells measured; a target whose cell was not run is skipped.

    Without ``verdicts`` (one sample per cell, whose verdicts flip between runs), it lists the values only.
    """
    cells = {(c.rules, c.grantees, c.kind): c for c in results}
    lines = []

    def report(name: str, met: bool, detail: str) -> None:
        lines.append(f"- {('MET: ' if met else 'MISSED: ') if verdicts else ''}{name} ({detail})")

    for kind in KINDS:
        if (c := cells.get((50, 100, kind))) is not None:
            report(
                f"synth time within {time_target:.2f}x of hand-written, 50 rules x 100 {kind} grantees",
                c.ratio("cpu") <= time_target,  # CPU: on a shared machine wall time follows the load
                f"{c.ratio('seconds'):.2f}x wall, {c.ratio('cpu'):.2f}x CPU"
                + (
                    f"; the contract floor alone is {c.median('floor', 'cpu') / c.median('hand', 'cpu'):.2f}x CPU, "
                    f"the library {c.ratio('cpu', 'floor'):.2f}x of it"
                    if c.floor
                    else ""
                ),
            )
    if (c := cells.get((50, 100, "account"))) is not None:
        chars = registry_policy_chars(c.template)
        statements = next(
            r["Properties"]["PolicyText"]["Statement"]
            for r in c.template["Resources"].values()
            if r["Type"] == "AWS::ECR::RegistryPolicy"
        )
        report(
            f"100 accounts granted uniformly on 50 rules fit the registry policy ({MAX_POLICY_CHARS} chars)",
            chars <= MAX_POLICY_CHARS,
            f"{chars} chars, {len(statements)} statement(s)",
        )
    if (c := cells.get((50, 1, "role"))) is not None:
        [policies] = identity_policies(c.template).values()
        report(
            f"one role granted on 50 rules stays within one inline policy ({MAX_POLICY_CHARS} chars)",
            len(policies) == 1 and sum(policies) <= MAX_POLICY_CHARS,
            f"{len(policies)} policy, {sum(policies)} non-whitespace chars",
        )
    worst = max(results, key=lambda c: c.library[0].template_bytes / c.hand[0].template_bytes)
    ratio = worst.library[0].template_bytes / worst.hand[0].template_bytes
    report(
        f"template bytes within {TEMPLATE_TARGET}x of hand-written, every cell",
        ratio <= TEMPLATE_TARGET,
        f"worst {ratio:.2f}x at {worst.rules} rules x {worst.grantees} {worst.kind}",
    )
    return "\n".join(lines)


def compile_library(env: dict[str, str]) -> None:
    """Writes the bytecode of the cdk_ecr_ptc the workers import, as pip does when it installs the wheel (and did for
    aws-cdk-lib): with ``PYTHONDONTWRITEBYTECODE`` set, a checkout's modules would be compiled again in every run."""
    import compileall

    found = subprocess.run(
        [sys.executable, "-c", "import cdk_ecr_ptc, os; print(os.path.dirname(cdk_ecr_ptc.__file__))"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.strip()
    compileall.compile_dir(found, quiet=1)


def _versions(env: dict[str, str]) -> str:
    """Describes the machine and toolchain the numbers come from."""
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, env=env).stdout.strip()
    from importlib.metadata import version

    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), Python {platform.python_version()}, "
        f"Node {node}, aws-cdk-lib {version('aws-cdk-lib')}, jsii {version('jsii')}"
    )


def _cells(text: str) -> list[tuple[int, int, str]]:
    """Parses ``--cells``: ``50x100:role,50x100:account``."""
    cells = []
    for item in text.split(","):
        try:
            size, kind = item.strip().split(":")
            rules, grantees = (int(n) for n in size.split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"a cell is RULESxGRANTEES:KIND, got {item!r}") from None
        if kind not in KINDS or rules < 1 or grantees < 1:
            raise argparse.ArgumentTypeError(f"kind is one of {KINDS}, counts are positive: got {item!r}")
        cells.append((rules, grantees, kind))
    return cells


def main(argv: list[str] | None = None) -> None:
    """Parses the command line and runs the benchmark (or one worker)."""
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--worker"]:
        arm, rules, grantees, kind, outdir = argv[1:]
        return worker(arm, int(rules), int(grantees), kind, outdir)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="processes per arm and cell (default 5, or 1 with --quick)")
    parser.add_argument(
        "--quick", action="store_true", help="only the cells the targets need; values only, no MET/MISSED verdicts"
    )
    parser.add_argument(
        "--cells",
        type=_cells,
        help="only these cells, comma-separated RULESxGRANTEES:KIND, e.g. 50x100:role,50x100:account",
    )
    parser.add_argument(
        "--no-validation",
        action="store_true",
        help="set CDK_VALIDATION=false in both arms (default: CDK's default, validation on)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure the contract floor: the hand-written app granting each grantee with one iam.Grant",
    )
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 5)
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    if args.no_validation:
        env["CDK_VALIDATION"] = "false"
    else:
        env.pop("CDK_VALIDATION", None)
    cells = args.cells or (
        list(QUICK_CELLS) if args.quick else [(r, g, k) for k in KINDS for g in GRANTEE_COUNTS for r in RULE_COUNTS]
    )
    compile_library(env)
    results = run(cells, runs, env, floor=args.floor)
    validation = "off in both arms (CDK_VALIDATION=false)" if args.no_validation else "CDK default (on) in both arms"
    print(
        f"{_versions(env)}; {runs} run(s) per arm and cell, medians; validation {validation}; env {ACCOUNT}/{REGION}\n"
    )
    print(table(results))
    print(
        "\nTargets:\n"
        + targets(
            results,
            verdicts=runs > 1 and not args.quick,
            time_target=NO_VALIDATION_TIME_TARGET if args.no_validation else TIME_TARGET,
        )
    )


if __name__ == "__main__":
    main()
