"""The benchmark's contract floor grants what the hand-written arm writes, through honest ``iam.Grant``s."""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import synth_cost  # noqa: E402


def template(arm: str, kind: str) -> dict:
    stack = Stack(App(), "Bench", env=Environment(account=synth_cost.ACCOUNT, region=synth_cost.REGION))
    synth_cost.ARMS[arm](stack, 3, 2, kind)
    return Template.from_stack(stack).to_json()


def role_statements(resources: dict) -> dict[str, list]:
    """Each role's identity statements, whichever policy holds them."""
    return {
        role["Ref"]: sorted(
            (str(statement) for statement in res["Properties"]["PolicyDocument"]["Statement"]),
        )
        for res in resources.values()
        if res["Type"] == "AWS::IAM::Policy"
        for role in res["Properties"]["Roles"]
    }


def test_the_account_floor_writes_the_hand_written_template():
    assert template("floor", "account") == template("hand", "account")


def test_the_role_floor_grants_each_role_the_hand_written_statements():
    floor, hand = template("floor", "role")["Resources"], template("hand", "role")["Resources"]

    assert role_statements(floor) == role_statements(hand) and len(role_statements(hand)) == 2
    assert {k for k, v in floor.items() if v["Type"] == "AWS::IAM::Role"} == {
        k for k, v in hand.items() if v["Type"] == "AWS::IAM::Role"
    }
