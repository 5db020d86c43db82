"""Synth cost of routing images with the ``PullThroughCacheImages`` Aspect, against the same app whose
images are written as cache URIs by hand.

The app: one ``PullThroughCache`` (Docker Hub, GitHub, ECR Public, Kubernetes) and 50 Fargate task
definitions of 4 containers each (200 container definitions), one image of each upstream per task.

- **Aspect arm**: the containers use upstream references (``nginx:1.27``, ``ghcr.io/...``, ...), and
  ``cache.route_images(scope=stack)`` rewrites them and grants each execution role.
- **Hand-written arm**: the containers use the cache URIs, written out as strings, and each execution
  role gets ``rule.grant_pull`` of the four rules by hand.

Both arms render the same images and the same grants (the script checks that the templates' images
and IAM policies are equal). Each measurement is one whole process (imports, build, ``app.synth()``);
arms alternate, and the report gives medians of the wall time, of the CPU time of the process and the
Node processes it waited for (steadier than wall time on a shared machine), and of the in-process
build + synth time.

Run from the repository root::

    scripts/bench --route-images            # installs everything, 5 runs per arm
    .venv/bin/python benchmarks/route_images.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ACCOUNT, REGION = "111122223333", "us-east-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
TASKS = 50
#: (upstream reference, the cache prefix it goes through, its URI through the cache), one container each.
IMAGES = (
    ("nginx:1.27", "docker-hub", f"{REGISTRY}/docker-hub/library/nginx:1.27"),
    (
        "ghcr.io/open-telemetry/opentelemetry-collector:0.104.0",
        "github",
        f"{REGISTRY}/github/open-telemetry/opentelemetry-collector:0.104.0",
    ),
    (
        "public.ecr.aws/amazonlinux/amazonlinux:2023",
        "ecr-public",
        f"{REGISTRY}/ecr-public/amazonlinux/amazonlinux:2023",
    ),
    ("registry.k8s.io/pause:3.9", "kubernetes", f"{REGISTRY}/kubernetes/pause:3.9"),
)
TARGET = 1.10


def build(arm: str):
    """Builds the app of ``arm`` (``aspect`` or ``hand``) and returns it, unsynthesized."""
    from aws_cdk import App, Environment, Stack
    from aws_cdk import aws_ecs as ecs

    from cdk_ecr_ptc import PullThroughCache, Upstream, UpstreamCredentials

    app = App()
    stack = Stack(app, "RouteImages", env=Environment(account=ACCOUNT, region=REGION))
    hub = UpstreamCredentials.new_secret(stack, "Hub", name="docker-hub", username="u")
    github = UpstreamCredentials.new_secret(stack, "GitHub", name="github", username="u")
    cache = PullThroughCache(
        stack,
        "Cache",
        upstreams=[
            Upstream.docker_hub(credentials=hub),
            Upstream.github(credentials=github),
            Upstream.ecr_public(),
            Upstream.kubernetes(),
        ],
    )
    if arm == "aspect":
        cache.route_images(scope=stack)
    for index in range(TASKS):
        task = ecs.FargateTaskDefinition(stack, f"Task{index:02d}")
        for number, (reference, prefix, uri) in enumerate(IMAGES):
            task.add_container(
                f"c{number}",
                image=ecs.ContainerImage.from_registry(reference if arm == "aspect" else uri),
                essential=number == 0,
            )
            if arm == "hand":
                cache.rule(prefix).grant_pull(task.obtain_execution_role())
    return app


def worker(arm: str) -> None:
    """One measurement: imports, then build and synthesize (into ``CDK_OUTDIR``); prints the seconds of
    the build and synth, and what both arms must render alike."""
    start = time.perf_counter()
    import aws_cdk  # noqa: F401  (part of the whole-process time only)

    imported = time.perf_counter()
    assembly = build(arm).synth()
    done = time.perf_counter()
    template = json.loads((Path(assembly.directory) / "RouteImages.template.json").read_text())
    print(json.dumps({"seconds": done - imported, "imports": imported - start, "fingerprint": fingerprint(template)}))


def fingerprint(template: dict) -> dict:
    """What must be equal in both arms: every container image, and what each IAM policy allows (its
    (action, resource) pairs: the grant engine may group statements differently)."""
    resources = template["Resources"]
    images = sorted(
        c["Image"]
        for r in resources.values()
        if r["Type"] == "AWS::ECS::TaskDefinition"
        for c in r["Properties"]["ContainerDefinitions"]
    )

    def allowed(document: dict) -> list[str]:
        def listed(value: object) -> list:
            return value if isinstance(value, list) else [value]

        return sorted(
            {
                json.dumps([action, resource], sort_keys=True)
                for statement in document["Statement"]
                for action in listed(statement["Action"])
                for resource in listed(statement["Resource"])
            }
        )

    policies = sorted(
        json.dumps(allowed(r["Properties"]["PolicyDocument"]))
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy"
    )
    return {"images": images, "policies": policies}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(arm: str, env: dict[str, str]) -> tuple[float, float, dict]:
    """Runs one worker process; returns its wall time, its CPU time (Python and the Node processes it
    waited for: steadier than wall time on a shared machine) and what it printed."""
    with tempfile.TemporaryDirectory() as outdir:
        cpu = _children_cpu()
        start = time.perf_counter()
        run = subprocess.run(
            [sys.executable, __file__, "--worker", arm],
            env={**env, "CDK_OUTDIR": outdir},
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
        cpu = _children_cpu() - cpu
    if run.returncode != 0:
        raise SystemExit(f"{arm} worker failed:\n{run.stderr[-3000:]}")
    return wall, cpu, json.loads(run.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        worker(argv[1])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per arm (default 5)")
    args = parser.parse_args(argv)
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    samples: dict[str, list[tuple[float, float, dict]]] = {"aspect": [], "hand": []}
    for run in range(args.runs):
        for arm in ("aspect", "hand") if run % 2 == 0 else ("hand", "aspect"):
            samples[arm].append(measure(arm, env))
            wall, cpu, _ = samples[arm][-1]
            print(f"run {run + 1}/{args.runs} {arm}: {wall:.2f} s wall, {cpu:.2f} s CPU", file=sys.stderr)
    prints = {arm: samples[arm][0][2]["fingerprint"] for arm in samples}
    if prints["aspect"] != prints["hand"]:
        raise SystemExit("the arms render different images or policies: the comparison would be unfair")
    wall = {arm: statistics.median(s[0] for s in samples[arm]) for arm in samples}
    cpu = {arm: statistics.median(s[1] for s in samples[arm]) for arm in samples}
    synth = {arm: statistics.median(s[2]["seconds"] for s in samples[arm]) for arm in samples}
    print(
        f"# Image routing: {TASKS} task definitions, {TASKS * len(IMAGES)} container definitions, "
        f"{args.runs} runs per arm (medians)\n"
    )
    print("| measure | Aspect | hand-written URIs | ratio |")
    print("|---|---|---|---|")
    print(f"| whole process (s) | {wall['aspect']:.2f} | {wall['hand']:.2f} | {wall['aspect'] / wall['hand']:.3f} |")
    print(f"| whole process, CPU (s) | {cpu['aspect']:.2f} | {cpu['hand']:.2f} | {cpu['aspect'] / cpu['hand']:.3f} |")
    print(
        f"| build + synth (s) | {synth['aspect']:.2f} | {synth['hand']:.2f} | {synth['aspect'] / synth['hand']:.3f} |"
    )
    ratio = wall["aspect"] / wall["hand"]
    print(
        f"\nTarget: whole-process ratio within {TARGET:.2f}x: {'met' if ratio <= TARGET else 'NOT met'} "
        f"({ratio:.3f}x wall, {cpu['aspect'] / cpu['hand']:.3f}x CPU). Images and IAM policies of both arms "
        f"are equal. {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end."
    )


if __name__ == "__main__":
    main()
