"""Helpers for reading synthesized templates in tests."""

import json

from aws_cdk import Stack
from aws_cdk.assertions import Template


def resources(stack: Stack, type_: str) -> dict:
    """The resources of ``type_`` in the synthesized template, by logical ID."""
    return Template.from_stack(stack).find_resources(type_)


def registry_policy(stack: Stack) -> dict:
    """The PolicyText of the stack's one registry policy."""
    policies = resources(stack, "AWS::ECR::RegistryPolicy")
    assert len(policies) == 1
    return next(iter(policies.values()))["Properties"]["PolicyText"]


def identity_statements(stack: Stack) -> list[dict]:
    """Every statement of every AWS::IAM::Policy in the stack."""
    return [
        statement
        for policy in resources(stack, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def flatten(value):
    """Joins an ``Fn::Join`` into a string, intrinsic parts written ``TOKEN``."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(part if isinstance(part, str) else "TOKEN" for part in parts)
    return value


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def dumps(value) -> str:
    return json.dumps(value, sort_keys=True)
