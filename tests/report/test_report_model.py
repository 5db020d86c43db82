"""The report reads the library's domain model (``cdk_ecr_ptc._model``) and still loads no CDK."""

import subprocess
import sys

import pytest

from cdk_ecr_ptc import _model
from cdk_ecr_ptc.report import model


@pytest.mark.parametrize(
    ("prefix", "repository", "expected"),
    [
        ("ROOT", "anything/at/all", True),
        ("quay", "quay/probe/image", True),
        ("quay/", "quay/probe/image", True),
        ("quay", "quay", False),  # a repository named the prefix is not under it
        ("quay", "quayio/probe/image", False),
        ("team/a", "team/b/image", False),
    ],
)
def test_covers_repository(prefix, repository, expected):
    assert _model.covers_repository(prefix, repository) is expected


def test_most_specific_prefers_the_longest_covering_prefix_and_falls_back_on_root():
    assert _model.most_specific(["ROOT", "team", "team/a/"], "team/a/probe/image") == "team/a/"
    assert _model.most_specific(["team/b", "ROOT"], "team/a/probe/image") == "ROOT"
    assert _model.most_specific(["team/b"], "team/a/probe/image") is None
    assert _model.most_specific(["team/a", "team/a/"], "team/a/x") == "team/a"  # the first of equals


def test_the_report_builds_its_probe_and_arns_from_the_model():
    assert model.probe_repository("ROOT") == "probe/image"
    assert model.probe_repository("quay/") == "quay/probe/image" == _model.cache_repository("quay", model.PROBE)
    assert model.repository_arn("111122223333", "cn-north-1", "a/b") == _model.repository_arn(
        "aws-cn", "cn-north-1", "111122223333", "a/b"
    )
    assert model.FIRST_PULL[-2:] == _model.PULL_THROUGH


def test_the_report_and_the_model_load_no_cdk():
    code = (
        "import sys, cdk_ecr_ptc._model, cdk_ecr_ptc.report.cli\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('jsii', 'aws_cdk', 'constructs'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    help_run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cdk_ecr_ptc", "report", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--registry-policy-scope {V1,V2}" in help_run.stdout
    assert not [line for line in help_run.stderr.splitlines() if "jsii" in line or "aws_cdk" in line]
