"""cdk-nag acknowledgments of identity grants are written only where cdk-nag can read them.

Each case runs in a fresh interpreter: this test process has loaded cdk-nag (other tests import it), and the
library writes the acknowledgments at once when it is loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import collections, json, pathlib, sys, tempfile
    import jsii
    from aws_cdk import App, Environment, Stack
    from aws_cdk import aws_iam as iam
    from cdk_ecr_ptc import PullThroughCache, Upstream

    QUAY = "arn:aws:ecr:us-east-1:111122223333:repository/quay/*"
    outdir = tempfile.mkdtemp()
    app = App(outdir=outdir)
    stack = Stack(app, "Test", env=Environment(account="111122223333", region="us-east-1"))
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])
    roles = [iam.Role(stack, f"Puller{i}", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com")) for i in range(6)]
    cache.grant_pull(roles[0])
    counts = collections.Counter()
    provider = jsii.kernel.provider
    for name in ("create", "get", "invoke", "sinvoke", "sync_complete"):
        def counted(*args, _name=name, _method=getattr(provider, name), **kwargs):
            counts[_name] += 1
            return _method(*args, **kwargs)
        setattr(provider, name, counted)
    for role in roles[1:]:
        cache.grant_pull(role)
    per_grant = sum(counts.values()) / (len(roles) - 1)
    for name in list(vars(provider)):
        delattr(provider, name)
    mine = iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    mine.add_to_policy(iam.PolicyStatement(actions=["ecr:DeleteRepository"], resources=[QUAY]))
    if sys.argv[1] == "late":  # loaded after the grants, before synth
        from aws_cdk import Validations
        from cdk_nag import AwsSolutionsChecks

        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        app.synth()
    except RuntimeError:
        pass
    report = pathlib.Path(outdir, "validation-report.json")
    repository_findings = [
        found["constructPath"]
        for plugin in (json.loads(report.read_text())["pluginReports"] if report.exists() else [])
        for violation in plugin["violations"]
        if "repository/quay/*" in violation["ruleName"]
        for found in violation["violatingConstructs"]
    ]
    acknowledged = [
        key
        for construct in stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for key in entry.data
        if "AwsSolutions-IAM5" in key
    ]
    print(json.dumps({"per_grant": per_grant, "acknowledged": acknowledged, "findings": repository_findings,
                      "nag_loaded": "cdk_nag" in sys.modules}))
    """
)


def run(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_app_without_cdk_nag_gets_no_acknowledgments_and_pays_no_round_trip_for_them():
    result = run("none")

    assert not result["nag_loaded"]
    assert result["acknowledged"] == []
    # the pull statement, the role's account, GetAuthorizationToken and the combined grant
    assert result["per_grant"] <= 4, result


def test_cdk_nag_loaded_after_the_grants_still_finds_them_acknowledged_and_the_users_own_finding():
    result = run("late")

    assert result["nag_loaded"]
    assert len(result["acknowledged"]) == 6  # one per granted role, on its own policy
    assert result["findings"] == ["Test/Mine/DefaultPolicy/Resource"]
