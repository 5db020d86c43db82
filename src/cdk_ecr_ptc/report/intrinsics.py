"""Reads CloudFormation values that may hold intrinsics, for display and for evaluation.

Two readings of the same value:

- :meth:`Resolver.display` renders it for people: ``Ref:Secret (AWS::SecretsManager::Secret)``,
  ``GetAtt:Role.Arn``, and an ``Fn::Join`` as one string with ``${AWS::Partition}``-style holes.
- :meth:`Resolver.resolve` turns it into the concrete string the IAM evaluator compares: pseudo
  parameters become the stack's environment (or ``unknown-account``/``unknown-region``), the ARN of
  an IAM role or user in the template is synthesized from its name, an ``Fn::ImportValue`` of another
  stack's export is resolved in that stack, and anything else becomes a ``{Ref:X}``-style placeholder
  that matches nothing by accident.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

UNKNOWN_ACCOUNT = "unknown-account"
UNKNOWN_REGION = "unknown-region"

_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass(frozen=True)
class Env:
    """The account, region and partition one stack is evaluated in."""

    account: str
    region: str

    @classmethod
    def parse(cls, environment: str | None) -> "Env":
        """Reads a manifest environment such as ``aws://123456789012/us-east-1``."""
        account, region = UNKNOWN_ACCOUNT, UNKNOWN_REGION
        if environment and environment.startswith("aws://"):
            parts = environment[len("aws://") :].split("/")
            if len(parts) == 2:
                account, region = parts
        return cls(account=account, region=region)

    @property
    def partition(self) -> str:
        """The partition the region belongs to; ``aws`` when the region is unknown."""
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    @property
    def account_known(self) -> bool:
        """Whether the stack names a concrete account."""
        return self.account != UNKNOWN_ACCOUNT

    @property
    def region_known(self) -> bool:
        """Whether the stack names a concrete region."""
        return self.region != UNKNOWN_REGION

    def pseudo(self, name: str) -> str | None:
        """The value of a pseudo parameter such as ``AWS::Partition``, or None."""
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com",
        }.get(name)


def is_intrinsic(value: Any) -> bool:
    """Whether ``value`` is a one-key ``Ref``/``Fn::*`` object."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key == "Ref" or key.startswith("Fn::")


class Resolver:
    """Resolves and displays values of one template in one environment."""

    def __init__(
        self, template: dict[str, Any], env: Env, exports: "dict[str, tuple[Resolver, Any]] | None" = None
    ) -> None:
        """Reads values of ``template`` in ``env``.

        Args:
            template: the stack's template.
            env: the stack's environment.
            exports: the assembly's exports by name (the exporting stack's resolver and the exported
                value), shared by every resolver of one assembly; see :meth:`add_exports`. Default: - none.
        """
        self._resources: dict[str, Any] = template.get("Resources") or {}
        self._parameters: dict[str, Any] = template.get("Parameters") or {}
        self._outputs: dict[str, Any] = template.get("Outputs") or {}
        self.env = env
        self._exports = exports if exports is not None else {}

    def add_exports(self) -> None:
        """Adds the template's exported outputs to the shared ``exports``."""
        for output in self._outputs.values():
            export = output.get("Export") if isinstance(output, dict) else None
            if isinstance(export, dict) and "Name" in export:
                self._exports[self.resolve(export["Name"])] = (self, output.get("Value"))

    def resource_type(self, logical_id: str) -> str | None:
        """The type of a resource in the template, or None."""
        resource = self._resources.get(logical_id)
        return resource.get("Type") if isinstance(resource, dict) else None

    def iam_arn(self, logical_id: str) -> str | None:
        """The ARN an ``AWS::IAM::Role``/``User`` of the template will have, or None."""
        kind = {"AWS::IAM::Role": "role", "AWS::IAM::User": "user"}.get(self.resource_type(logical_id) or "")
        if kind is None:
            return None
        name = self._iam_name(logical_id)
        path = self._resources[logical_id].get("Properties", {}).get("Path", "/")
        path = path if isinstance(path, str) else "/"
        return f"arn:{self.env.partition}:iam::{self.env.account}:{kind}{path}{name}"

    def _iam_name(self, logical_id: str) -> str:
        props = self._resources[logical_id].get("Properties") or {}
        name = props.get("RoleName", props.get("UserName"))
        if name is None:
            return logical_id
        return name if isinstance(name, str) else self.resolve(name)

    def resolve(self, value: Any) -> str:
        """The concrete string for ``value``; unresolvable parts become ``{Ref:X}`` placeholders."""
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return json.dumps(value)
        if not is_intrinsic(value):
            return "{" + json.dumps(value, sort_keys=True) + "}"
        ((name, arg),) = value.items()
        if name == "Ref":
            return self._resolve_ref(arg)
        if name == "Fn::GetAtt":
            return self._resolve_getatt(arg)
        if name == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            return str(arg[0]).join(self.resolve(part) for part in arg[1])
        if name == "Fn::Sub":
            return self._resolve_sub(arg)
        if name == "Fn::ImportValue" and self.resolve(arg) in self._exports:
            owner, exported = self._exports[self.resolve(arg)]
            return owner.resolve(exported)
        return "{" + name + "}"

    def _resolve_ref(self, target: Any) -> str:
        if not isinstance(target, str):
            return "{Ref}"
        pseudo = self.env.pseudo(target)
        if pseudo is not None:
            return pseudo
        if self.resource_type(target) in ("AWS::IAM::Role", "AWS::IAM::User"):
            return self._iam_name(target)
        return "{Ref:" + target + "}"

    def _resolve_getatt(self, arg: Any) -> str:
        logical_id, attribute = _getatt_parts(arg)
        if attribute == "Arn":
            arn = self.iam_arn(logical_id)
            if arn is not None:
                return arn
        return "{GetAtt:" + f"{logical_id}.{attribute}" + "}"

    def _resolve_sub(self, arg: Any) -> str:
        text, variables = (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else (arg, {})
        if not isinstance(text, str) or not isinstance(variables, dict):
            return "{Fn::Sub}"

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return self.resolve(variables[name])
            if "." in name:
                return self._resolve_getatt(name)
            return self._resolve_ref(name)

        return _SUB_VAR.sub(replace, text)

    def display(self, value: Any) -> str | None:
        """A readable rendering of ``value``; None when the property is absent."""
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return ", ".join(self.display(item) or "" for item in value)
        if not is_intrinsic(value):
            return json.dumps(value, sort_keys=True)
        ((name, arg),) = value.items()
        if name == "Ref" and isinstance(arg, str):
            kind = self.resource_type(arg) or ("parameter" if arg in self._parameters else None)
            return f"Ref:{arg}" + (f" ({kind})" if kind else "")
        if name == "Fn::GetAtt":
            logical_id, attribute = _getatt_parts(arg)
            return f"GetAtt:{logical_id}.{attribute}"
        if name == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            return str(arg[0]).join(self._display_part(part) for part in arg[1])
        if name == "Fn::Sub":
            return arg if isinstance(arg, str) else str(arg[0])
        return f"<{name}>"

    def _display_part(self, part: Any) -> str:
        if isinstance(part, str):
            return part
        if is_intrinsic(part) and "Ref" in part:
            return "${" + str(part["Ref"]) + "}"
        if is_intrinsic(part) and "Fn::GetAtt" in part:
            logical_id, attribute = _getatt_parts(part["Fn::GetAtt"])
            return "${" + f"{logical_id}.{attribute}" + "}"
        return "${" + (self.display(part) or "") + "}"

    def json_document(self, value: Any) -> dict[str, Any] | None:
        """A policy-like JSON document from an object, a JSON string, or an ``Fn::Join`` of one.

        Intrinsics inside are resolved like :meth:`resolve`. Returns None when the text is not a
        JSON object.
        """
        if isinstance(value, dict) and not is_intrinsic(value):
            return self._resolve_tree(value)
        try:
            parsed = json.loads(self.resolve(value))
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def _resolve_tree(self, value: Any) -> Any:
        if is_intrinsic(value):
            return self.resolve(value)
        if isinstance(value, dict):
            return {key: self._resolve_tree(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._resolve_tree(item) for item in value]
        return value


def _getatt_parts(arg: Any) -> tuple[str, str]:
    if isinstance(arg, list) and len(arg) == 2:
        return str(arg[0]), str(arg[1])
    logical_id, _, attribute = str(arg).partition(".")
    return logical_id, attribute
