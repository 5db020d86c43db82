"""cdk-nag acknowledgments for the wildcards the library cannot avoid, each with its reason.

cdk-nag reads the synthesized template, so a finding is named by the ARN as cdk-nag prints it:
``Ref`` parts become ``<AWS::Partition>``, ``GetAtt`` parts ``<Logical.Attr>``.
"""

from __future__ import annotations

import functools
import sys
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Aspects, IAspect, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ._env import facts, node_of
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


def acknowledge_on_policy(scope: IConstruct, principal: object, arns: Sequence[str]) -> None:
    """Acknowledges AwsSolutions-IAM5 for the repository wildcards ``arns`` where the library wrote them: on a
    role, user or group of the app (whose ``DefaultPolicy`` holds them), or on the ``Policy`` of an imported role.

    Only that principal is covered, never the app, so a finding on the same ARN in another policy still shows.
    Only these exact ARNs are acknowledged.

    The acknowledgments are recorded as ``Validations.acknowledge`` records them, as construct metadata of type
    ``Validations.ACKNOWLEDGED_RULES_METADATA_KEY`` mapping each rule ID to its reason, which is what CDK's
    validation report and cdk-nag read; but in one entry per grant rather than one per ARN (``acknowledge``
    also captures a stack trace for each ARN, and checks annotation warnings, which these IDs never name:
    about 0.1 ms of Node.js time per ARN and grantee, and a megabyte of metadata for 100 roles on 50 rules).

    They are written only where cdk-nag can read them: at once when its Python package is loaded, else at synth
    if it has been loaded by then (see :class:`_Deferred`). An app that never loads cdk-nag gets none of this
    metadata, which for 100 roles on 50 rules is 1.5 MB that CDK's own template validation reads at every synth.

    Args:
        scope: the construct granting (its stack holds the synth-time hook).
        principal: the principal granted.
        arns: the repository ARN patterns written into its policy.
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
    if _nag_loaded():
        _write(policy, new)
        return
    stack = facts(scope).stack
    deferred = _deferred.get(stack)
    if deferred is None:
        deferred = _deferred[stack] = _Deferred.define(stack)
    if not deferred.decided:
        deferred.pending.append((policy, new))


def _nag_loaded() -> bool:
    """Tells whether cdk-nag's Python package is loaded: a NagPack of this app is built in Python, so none can
    check the app before then. A jsii library that uses cdk-nag loads it too, since its bindings import it."""
    return "cdk_nag" in sys.modules


def _write(policy: Any, arns: Sequence[str]) -> None:
    node_of(policy).add_metadata(
        _acknowledged_rules_key(),
        {
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_form(policy, arn)}]": REPOSITORY_WILDCARD_REASON
            for arn in arns
        },
    )


@dataclass
class _Deferred:
    """The acknowledgments of one stack's grants made before cdk-nag was loaded, written at synth if it is by then.

    cdk-nag 3 checks the app as a validation plugin, after the Aspects; its acknowledgments must be in place by
    then. The hook is an Aspect on an empty construct of the stack, so that it runs once, while the Aspects run.
    A cdk-nag 2 pack (itself an Aspect) that visits the stack's policies before that construct misses those
    written at synth: load cdk-nag before granting (import it at the top of the app) to have them written at once.

    Attributes:
        pending: the policies and the ARNs to acknowledge on each.
        decided: the hook ran: later grants write at once if cdk-nag is loaded, else nothing.
    """

    pending: list[tuple[Any, list[str]]] = field(default_factory=list)
    decided: bool = False

    @classmethod
    def define(cls, stack: Stack) -> _Deferred:
        """Defines the hook of ``stack`` (once per stack: :data:`_deferred` remembers it, as :func:`facts` does)."""
        deferred = cls()
        Aspects.of(Construct(stack, "CdkEcrPtcNagAcknowledgments")).add(_WriteAcknowledgments(deferred))
        return deferred


@jsii.implements(IAspect)
class _WriteAcknowledgments:
    """Writes a stack's deferred acknowledgments when the Aspects run, if cdk-nag is loaded by then."""

    def __init__(self, deferred: _Deferred) -> None:
        self._deferred = deferred

    def visit(self, node: IConstruct) -> None:
        """Writes the pending acknowledgments (once)."""
        deferred = self._deferred
        if deferred.decided:
            return
        deferred.decided = True
        if _nag_loaded():
            for policy, arns in deferred.pending:
                _write(policy, arns)
        deferred.pending.clear()


#: The deferred acknowledgments of each stack.
_deferred: weakref.WeakKeyDictionary[Stack, _Deferred] = weakref.WeakKeyDictionary()


@functools.cache
def _acknowledged_rules_key() -> str:
    return Validations.ACKNOWLEDGED_RULES_METADATA_KEY
