"""cdk-nag acknowledgments for the wildcards the library cannot avoid, each with its reason.

cdk-nag reads the synthesized template, so a finding is named by the ARN as cdk-nag prints it:
``Ref`` parts become ``<AWS::Partition>``, ``GetAtt`` parts ``<Logical.Attr>``.
"""

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import Construct, IConstruct

from ._env import facts

REPOSITORY_WILDCARD_REASON = (
    "Pull-through cache creates repositories on first pull, so a grant must cover every repository "
    "under the rule's prefix; the wildcard is scoped to that prefix in this account and Region.")


_nag_forms: dict[str, str] = {}


def nag_form(scope: IConstruct, value: str) -> str:
    """Renders ``value`` as cdk-nag names it; the tokens in it are pseudo parameters, the same in every stack."""
    if value not in _nag_forms:
        _nag_forms[value] = _render(Stack.of(scope).resolve(value))
    return _nag_forms[value]


def _render(resolved: object) -> str:
    if isinstance(resolved, str):
        return resolved
    parts = resolved["Fn::Join"][1]
    return "".join(
        part if isinstance(part, str)
        else f"<{part['Ref']}>" if "Ref" in part
        else "<{}.{}>".format(*part["Fn::GetAtt"])
        for part in parts)


def acknowledge_repository_wildcards(principal: object, arns: Sequence[str],
                                     reason: str = REPOSITORY_WILDCARD_REASON) -> None:
    """Acknowledges AwsSolutions-IAM5 for exactly ``arns`` in the stack of ``principal`` (a construct).

    The finding names the exact ARN of a cache prefix, so one acknowledgment per stack serves every
    grantee of the stack (acknowledging per grantee would cost one per rule and grantee).
    """
    if not isinstance(principal, Construct):
        return
    known = facts(principal)
    acknowledged = known.acknowledged = known.acknowledged or set()
    new = [arn for arn in arns if arn not in acknowledged]
    if new:
        acknowledged.update(new)
        Validations.of(known.stack).acknowledge(*(Acknowledgment(
            id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_form(principal, arn)}]", reason=reason)
            for arn in new))
