"""cdk-nag acknowledgments for the wildcards the library cannot avoid, each with its reason.

cdk-nag reads the synthesized template, so a finding is named by the ARN as cdk-nag prints it:
``Ref`` parts become ``<AWS::Partition>``, ``GetAtt`` parts ``<Logical.Attr>``.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Sequence
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ._env import node_of
from ._model import is_token

REPOSITORY_WILDCARD_REASON = (
    "Pull-through cache creates repositories on first pull, so a grant must cover every repository "
    "under the rule's prefix; the wildcard is scoped to that prefix in this account and Region."
)


_nag_forms: dict[str, str] = {}


def nag_form(scope: IConstruct, value: str) -> str:
    """Renders ``value`` as cdk-nag names it; the tokens in it are pseudo parameters, the same in every stack."""
    if not is_token(value):
        return value
    if value not in _nag_forms:
        _nag_forms[value] = _render(Stack.of(scope).resolve(value))
    return _nag_forms[value]


def _render(resolved: Any) -> str:
    if isinstance(resolved, str):
        return resolved
    parts = resolved["Fn::Join"][1]
    return "".join(
        part
        if isinstance(part, str)
        else f"<{part['Ref']}>"
        if "Ref" in part
        else "<{}.{}>".format(*part["Fn::GetAtt"])
        for part in parts
    )


def acknowledge_wildcards(scope: IConstruct, arns: Sequence[str], reason: str) -> None:
    """Acknowledges AwsSolutions-IAM5 for exactly ``arns`` (of ``scope``'s stack) on ``scope`` and below it."""
    Validations.of(scope).acknowledge(
        *(
            Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_form(scope, arn)}]", reason=reason)
            for arn in arns
        )
    )


#: The repository ARNs acknowledged per principal (on the policy the library writes to).
_acknowledged: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def acknowledge_on_policy(principal: object, arns: Sequence[str]) -> None:
    """Acknowledges AwsSolutions-IAM5 for the repository wildcards ``arns`` where the library wrote them: on a
    role, user or group of the app (whose ``DefaultPolicy`` holds them), or on the ``Policy`` of an imported role.

    Only that principal is covered, never the app, so a finding on the same ARN in another policy still shows.
    Only these exact ARNs are acknowledged.

    The acknowledgments are recorded as ``Validations.acknowledge`` records them, as construct metadata of type
    ``Validations.ACKNOWLEDGED_RULES_METADATA_KEY`` mapping each rule ID to its reason, which is what CDK's
    validation report and cdk-nag read; but in one entry per grant rather than one per ARN (``acknowledge``
    also captures a stack trace for each ARN, and checks annotation warnings, which these IDs never name:
    about 0.1 ms of Node.js time per ARN and grantee, and a megabyte of metadata for 100 roles on 50 rules).
    """
    try:
        done = _acknowledged.setdefault(principal, set())
    except TypeError:
        done = set()
    new = [arn for arn in dict.fromkeys(arns) if arn not in done]
    if not new:
        return
    if isinstance(principal, (iam.Role, iam.User, iam.Group)):
        policy: Any = principal  # its DefaultPolicy is below it; one jsii call fewer per grantee than finding it
    else:
        node = getattr(principal, "node", None)
        policy = node and (node.try_find_child("DefaultPolicy") or node.try_find_child("Policy"))
    if policy is None:
        return
    done.update(new)
    node_of(policy).add_metadata(
        _acknowledged_rules_key(),
        {
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_form(policy, arn)}]": REPOSITORY_WILDCARD_REASON
            for arn in new
        },
    )


@functools.cache
def _acknowledged_rules_key() -> str:
    return Validations.ACKNOWLEDGED_RULES_METADATA_KEY
