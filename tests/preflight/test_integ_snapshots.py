"""The committed integ snapshots match fresh synths of integ/integ_*.py (offline; integ-runner cannot read
aws-cdk-lib 2.275's cloud assembly schema, see integ/_snapshots.py). Regenerate: scripts/integ-snapshots --update."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

INTEG = Path(__file__).resolve().parents[2] / "integ"
_spec = importlib.util.spec_from_file_location("integ_snapshots", INTEG / "_snapshots.py")
assert _spec and _spec.loader
snapshots = importlib.util.module_from_spec(_spec)
sys.modules["integ_snapshots"] = snapshots
_spec.loader.exec_module(snapshots)


def test_there_is_an_app_per_scenario():
    assert {
        "integ_cross_account_grant.py",
        "integ_encrypted_template.py",
        "integ_example_cache.py",
        "integ_validation.py",
    } <= {app.name for app in snapshots.apps()}


@pytest.mark.parametrize("app", snapshots.apps(), ids=lambda app: app.stem)
def test_snapshot_matches_a_fresh_synth(app):
    assert snapshots.snapshot_dir(app).is_dir(), "no snapshot: run scripts/integ-snapshots --update"
    assert snapshots.differences(app) == [], (
        "what the library renders changed: review, then run scripts/integ-snapshots --update"
    )


def test_a_changed_snapshot_is_reported(tmp_path, monkeypatch):
    app = tmp_path / "integ_x.py"
    snapshot = snapshots.snapshot_dir(app)
    snapshot.mkdir()
    (snapshot / "Stack.template.json").write_text('{"Resources": {"A": {"Type": "AWS::SNS::Topic"}}}')
    (snapshot / "Gone.template.json").write_text('{"Resources": {}}')
    fresh = {
        "Stack.template.json": {"Resources": {"A": {"Type": "AWS::SQS::Queue"}}},
        "New.template.json": {"Resources": {}},
    }
    monkeypatch.setattr(snapshots, "synth", lambda app, outdir: fresh)

    assert snapshots.differences(app) == [
        "integ_x.py: Gone.template.json is gone",
        "integ_x.py: New.template.json is new",
        "integ_x.py: Stack.template.json changed",
    ]
