"""Resolves template values to what CloudFormation passes to the resource handlers.

Every intrinsic the library and the CDK write is evaluated: ``Ref``, ``Fn::GetAtt``, ``Fn::Join``,
``Fn::Sub``, ``Fn::Select``, ``Fn::Split``, ``Fn::If`` (with ``Conditions``), ``Fn::FindInMap``,
``Fn::GetAZs``, ``Fn::Base64``, ``Fn::ToJsonString``, ``Fn::Length``, pseudo parameters, and parameters
with a default (or a value given to the preflight). Each resource gets a realistic physical value:

- a custom name where the template sets one, else a name in CloudFormation's generated form
  ``<stack>-<logicalId>-<suffix>``, truncated to the type's maximum length (lower case where the service
  requires it) [UNVERIFIED: CloudFormation does not document how it shortens the two parts; the
  suffix is deterministic here, random in AWS];
- IAM ARNs that keep the role's, user's or policy's ``Path``;
- secret ARNs with Secrets Manager's ``-`` and 6-character suffix;
- KMS keys with a key ID (a UUID) and its ARN.

What CloudFormation only learns at deploy (a custom resource's physical ID or attributes, an SSM
parameter's value, ``Fn::ImportValue``) stays unresolved: :meth:`Resolver.value` raises
:class:`Unresolved`, and :meth:`Resolver.tree` leaves that intrinsic in place, so checks skip it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from .assembly import Stack

NO_VALUE = object()
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_MIXED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class Unresolved(Exception):
    """The value is known only at deploy time (or the template is malformed there)."""


def is_intrinsic(value: Any) -> bool:
    """Whether ``value`` is a one-key ``Ref``/``Condition``/``Fn::*`` object."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def partition_of(region: str) -> str:
    """The partition of a Region: ``aws-cn``, ``aws-us-gov``, ``aws-iso``... or ``aws``."""
    for prefix, partition in (
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-iso-", "aws-iso"),
        ("eusc-", "aws-eusc"),
    ):
        if region.startswith(prefix):
            return partition
    return "aws"


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("/".join(parts).encode()).digest()


def _chars(alphabet: str, length: int, *seed: str) -> str:
    number = int.from_bytes(_digest(*seed), "big")
    out = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        out.append(alphabet[index])
    return "".join(out)


def generated_name(stack: str, logical_id: str, max_length: int, *, lower: bool = False) -> str:
    """A name in CloudFormation's generated form ``<stack>-<logicalId>-<13 characters>``, at most ``max_length`` long.

    When the two parts do not fit, each is cut: the stack name to at most half of the room left by the
    suffix (less when the logical ID is short), the logical ID to the rest.
    """
    suffix = _chars(_ALNUM, 13, stack, logical_id)
    room = max_length - len(suffix) - 2
    if len(stack) + len(logical_id) > room:
        stack_room = min(len(stack), max(room - len(logical_id), room // 2))
        stack, logical_id = stack[:stack_room], logical_id[: room - stack_room]
    name = f"{stack}-{logical_id}-{suffix}"
    return name.lower() if lower else name


class Resolver:
    """Resolves the values of one stack's template.

    Args:
        stack: the stack (its name, account, Region and template).
        parameters: parameter values to use instead of the template's defaults. Default: - none.
    """

    def __init__(self, stack: Stack, parameters: dict[str, Any] | None = None) -> None:
        self.stack = stack
        self.partition = partition_of(stack.region)
        template = stack.template
        self.resources: dict[str, dict[str, Any]] = {
            key: value for key, value in (template.get("Resources") or {}).items() if isinstance(value, dict)
        }
        self._parameters: dict[str, Any] = template.get("Parameters") or {}
        self._given = parameters or {}
        self._conditions: dict[str, Any] = template.get("Conditions") or {}
        self._mappings: dict[str, Any] = template.get("Mappings") or {}
        self._condition_cache: dict[str, bool] = {}

    # -- public -----------------------------------------------------------------------------------

    def value(self, node: Any) -> Any:
        """The concrete value of ``node``; ``NO_VALUE`` for ``AWS::NoValue``.

        Raises:
            Unresolved: when part of it is known only at deploy time.
        """
        if isinstance(node, list):
            return [item for item in (self.value(item) for item in node) if item is not NO_VALUE]
        if isinstance(node, dict):
            if is_intrinsic(node):
                ((name, arg),) = node.items()
                return self._intrinsic(name, arg)
            resolved = {key: self.value(item) for key, item in node.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        return node

    def text(self, node: Any) -> str:
        """The concrete value of ``node`` as a string (numbers and booleans as CloudFormation passes them)."""
        value = self.value(node)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | str):
            return str(value)
        raise Unresolved(f"not a string: {json.dumps(node)[:80]}")

    def tree(self, node: Any) -> Any:
        """``node`` with every resolvable intrinsic replaced by its value; the others left in place."""
        if isinstance(node, list):
            return [item for item in (self.tree(item) for item in node) if item is not NO_VALUE]
        if isinstance(node, dict):
            if is_intrinsic(node):
                try:
                    return self.value(node)
                except Unresolved:
                    return node
            resolved = {key: self.tree(item) for key, item in node.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        return node

    def try_text(self, node: Any) -> str | None:
        """:meth:`text`, or None when unresolved."""
        try:
            return self.text(node)
        except Unresolved:
            return None

    def condition(self, name: str) -> bool:
        """The value of a template condition."""
        if name not in self._condition_cache:
            if name not in self._conditions:
                raise Unresolved(f"no condition {name}")
            self._condition_cache[name] = self._truth(self._conditions[name])
        return self._condition_cache[name]

    def exists(self, logical_id: str) -> bool:
        """Whether the resource is in the template and its ``Condition`` (if any) holds."""
        resource = self.resources.get(logical_id)
        if resource is None:
            return False
        condition = resource.get("Condition")
        return not isinstance(condition, str) or self.condition(condition)

    def properties(self, logical_id: str) -> dict[str, Any]:
        """The resource's properties, resolved where possible (see :meth:`tree`)."""
        props = self.resources[logical_id].get("Properties") or {}
        return self.tree(props) if isinstance(props, dict) else {}

    def physical_name(self, logical_id: str) -> str | None:
        """The resource's name: the custom one or CloudFormation's generated one; None for unnamed types."""
        kind = _KINDS.get(self._type(logical_id))
        if kind is None or kind.name_property is None:
            return None
        props = self.resources[logical_id].get("Properties") or {}
        if kind.name_property in props:
            return self.text(props[kind.name_property])
        if kind.name_style == "secret":  # Secrets Manager names generated secrets <logicalId>-<12 characters>
            return f"{logical_id}-{_chars(_MIXED, 12, self.stack.name, logical_id)}"
        return generated_name(self.stack.name, logical_id, kind.max_length, lower=kind.name_style == "lower")

    def arn(self, logical_id: str) -> str | None:
        """The resource's ARN, or None when its type is not modelled or has no ARN."""
        kind = _KINDS.get(self._type(logical_id))
        if kind is None or kind.arn is None:
            return None
        return kind.arn(self, logical_id)

    def custom_name(self, logical_id: str) -> tuple[str, str] | None:
        """``(property, resolved value)`` of the property that gives the resource a fixed name, or None."""
        kind = _KINDS.get(self._type(logical_id))
        props = self.resources[logical_id].get("Properties") or {}
        prop = kind.name_property if kind else None
        if prop is None or prop not in props:
            return None
        return prop, self.try_text(props[prop]) or json.dumps(props[prop])

    # -- intrinsics -------------------------------------------------------------------------------

    def _type(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id) or {}
        return str(resource.get("Type", ""))

    def _intrinsic(self, name: str, arg: Any) -> Any:
        handler = _FUNCTIONS.get(name)
        if handler is None:
            raise Unresolved(f"{name} is known only at deploy time")
        return handler(self, arg)

    def _ref(self, target: Any) -> Any:
        if not isinstance(target, str):
            raise Unresolved("Ref to a non-string")
        pseudo = self._pseudo(target)
        if pseudo is not None:
            return pseudo
        if target in self._parameters:
            return self._parameter(target)
        if target not in self.resources:
            raise Unresolved(f"Ref to unknown {target}")
        kind = _KINDS.get(self._type(target))
        if kind is None or kind.ref is None:
            raise Unresolved(f"the physical ID of {target} ({self._type(target)}) is known only at deploy time")
        return kind.ref(self, target)

    def _pseudo(self, name: str) -> Any:
        stack = self.stack
        stack_uuid = uuid.UUID(bytes=_digest(stack.name, "stack")[:16], version=4)
        return {
            "AWS::AccountId": stack.account,
            "AWS::Region": stack.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com",
            "AWS::StackName": stack.name,
            "AWS::StackId": f"arn:{self.partition}:cloudformation:{stack.region}:{stack.account}:stack/"
            f"{stack.name}/{stack_uuid}",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }.get(name)

    def _parameter(self, name: str) -> Any:
        declaration = self._parameters[name] or {}
        kind = str(declaration.get("Type", "String"))
        if name in self._given:
            value = self._given[name]
        elif "Default" in declaration and not kind.startswith("AWS::SSM::Parameter::"):
            value = declaration["Default"]
        else:
            raise Unresolved(f"parameter {name} has no value before deploy")
        if (kind.startswith("List<") or kind == "CommaDelimitedList") and isinstance(value, str):
            return [item.strip() for item in value.split(",")]
        return value

    def _getatt(self, arg: Any) -> Any:
        if isinstance(arg, list) and len(arg) == 2:
            logical_id, attribute = arg[0], self.value(arg[1])
        elif isinstance(arg, str):
            logical_id, _, attribute = arg.partition(".")
        else:
            raise Unresolved("malformed Fn::GetAtt")
        kind = _KINDS.get(self._type(str(logical_id)))
        getter = kind.attributes.get(str(attribute)) if kind else None
        if getter is None:
            raise Unresolved(f"{logical_id}.{attribute} is known only at deploy time")
        return getter(self, str(logical_id))

    def _join(self, arg: Any) -> str:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise Unresolved("malformed Fn::Join")
        delimiter, items = self.value(arg[0]), self.value(arg[1])
        if not isinstance(items, list):
            raise Unresolved("Fn::Join of a non-list")
        return str(delimiter).join(self._scalar_text(item) for item in items)

    def _sub(self, arg: Any) -> str:
        text, variables = (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else (arg, {})
        if not isinstance(text, str) or not isinstance(variables, dict):
            raise Unresolved("malformed Fn::Sub")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return self._scalar_text(self.value(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                return self._scalar_text(self._getatt(name))
            return self._scalar_text(self._ref(name))

        return _SUB_VAR.sub(replace, text)

    def _select(self, arg: Any) -> Any:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise Unresolved("malformed Fn::Select")
        index, items = self.value(arg[0]), self.value(arg[1])
        if not isinstance(items, list):
            raise Unresolved("Fn::Select from a non-list")
        try:
            return items[int(index)]
        except (ValueError, IndexError) as error:
            raise Unresolved(f"Fn::Select index {index} out of range") from error

    def _split(self, arg: Any) -> list[str]:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise Unresolved("malformed Fn::Split")
        return self._scalar_text(self.value(arg[1])).split(str(self.value(arg[0])))

    def _if(self, arg: Any) -> Any:
        if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str)):
            raise Unresolved("malformed Fn::If")
        return self.value(arg[1] if self.condition(arg[0]) else arg[2])

    def _find_in_map(self, arg: Any) -> Any:
        if not (isinstance(arg, list) and len(arg) >= 3):
            raise Unresolved("malformed Fn::FindInMap")
        name, top, second = (self._scalar_text(self.value(item)) for item in arg[:3])
        try:
            return self._mappings[name][top][second]
        except (KeyError, TypeError) as error:
            if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
                return self.value(arg[3]["DefaultValue"])
            raise Unresolved(f"no mapping {name}.{top}.{second}") from error

    def _truth(self, node: Any) -> bool:
        if isinstance(node, bool):
            return node
        if isinstance(node, str) and node.lower() in ("true", "false"):
            return node.lower() == "true"
        if not is_intrinsic(node):
            raise Unresolved("malformed condition")
        ((name, arg),) = node.items()
        if name == "Condition":
            return self.condition(str(arg))
        if name == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
            left, right = (self.value(item) for item in arg)
            return _comparable(left) == _comparable(right)
        if name == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
            return not self._truth(arg[0])
        if name == "Fn::And" and isinstance(arg, list):
            return all(self._truth(item) for item in arg)
        if name == "Fn::Or" and isinstance(arg, list):
            return any(self._truth(item) for item in arg)
        raise Unresolved(f"{name} in a condition")

    def _scalar_text(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | str):
            return str(value)
        raise Unresolved("a list or object where text is needed")

    # -- physical values --------------------------------------------------------------------------

    def _prop_text(self, logical_id: str, name: str, default: str) -> str:
        props = self.resources[logical_id].get("Properties") or {}
        return self.text(props[name]) if name in props else default

    def _regional_arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.stack.region}:{self.stack.account}:{resource}"

    def _global_arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}::{self.stack.account}:{resource}"

    def _name(self, logical_id: str) -> str:
        name = self.physical_name(logical_id)
        if name is None:
            raise Unresolved(f"{logical_id} has no name")
        return name

    def _secret_arn(self, logical_id: str) -> str:
        suffix = _chars(_MIXED, 6, self.stack.name, logical_id, "secret")
        return self._regional_arn("secretsmanager", f"secret:{self._name(logical_id)}-{suffix}")

    def _key_id(self, logical_id: str) -> str:
        return str(uuid.UUID(bytes=_digest(self.stack.name, logical_id, "key")[:16], version=4))

    def _stable_id(self, logical_id: str, prefix: str = "") -> str:
        return prefix + _chars(_ALNUM, 17, self.stack.name, logical_id, "id")


def _comparable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, list | dict) else str(value)


_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": Resolver._ref,
    "Fn::GetAtt": Resolver._getatt,
    "Fn::Join": Resolver._join,
    "Fn::Sub": Resolver._sub,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::If": Resolver._if,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::GetAZs": lambda r, arg: [f"{r.text(arg) or r.stack.region}{zone}" for zone in "abc"],
    "Fn::Base64": lambda r, arg: base64.b64encode(r.text(arg).encode()).decode(),
    "Fn::ToJsonString": lambda r, arg: json.dumps(r.value(arg), separators=(",", ":")),
    "Fn::Length": lambda r, arg: len(r.value(arg)),
    "Condition": lambda r, arg: r.condition(str(arg)),
    "Fn::Equals": lambda r, arg: r._truth({"Fn::Equals": arg}),
    "Fn::Not": lambda r, arg: r._truth({"Fn::Not": arg}),
    "Fn::And": lambda r, arg: r._truth({"Fn::And": arg}),
    "Fn::Or": lambda r, arg: r._truth({"Fn::Or": arg}),
}

Getter = Callable[[Resolver, str], Any]


class _Kind:
    """How one resource type's ``Ref``, attributes, name and ARN come out."""

    def __init__(
        self,
        *,
        name_property: str | None = None,
        max_length: int = 255,
        name_style: str = "mixed",
        ref: Getter | None = None,
        arn: Getter | None = None,
        attributes: dict[str, Getter] | None = None,
        arn_attribute: bool = True,
    ) -> None:
        self.name_property = name_property
        self.max_length = max_length
        self.name_style = name_style
        self.ref = ref if ref is not None else (lambda r, lid: r._name(lid)) if name_property else None
        self.arn = arn
        self.attributes = {**({"Arn": arn} if arn and arn_attribute else {}), **(attributes or {})}


def _prop(name: str) -> Getter:
    return lambda r, lid: r.text((r.resources[lid].get("Properties") or {}).get(name))


def _iam_arn(kind: str) -> Getter:
    """The ARN of an IAM role, user or policy, with its ``Path``."""
    return lambda r, lid: r._global_arn("iam", f"{kind}{r._prop_text(lid, 'Path', '/')}{r._name(lid)}")


_role_arn, _user_arn, _policy_arn = _iam_arn("role"), _iam_arn("user"), _iam_arn("policy")


def _lambda_arn(r: Resolver, lid: str) -> str:
    return r._regional_arn("lambda", f"function:{r._name(lid)}")


def _log_group_arn(r: Resolver, lid: str) -> str:
    return r._regional_arn("logs", f"log-group:{r._name(lid)}:*")


def _repository_arn(r: Resolver, lid: str) -> str:
    return r._regional_arn("ecr", f"repository/{r._name(lid)}")


def _key_arn(r: Resolver, lid: str) -> str:
    return r._regional_arn("kms", f"key/{r._key_id(lid)}")


def _bucket_arn(r: Resolver, lid: str) -> str:
    return f"arn:{r.partition}:s3:::{r._name(lid)}"


def _topic_arn(r: Resolver, lid: str) -> str:
    return r._regional_arn("sns", r._name(lid))


def _queue_arn(r: Resolver, lid: str) -> str:
    return r._regional_arn("sqs", r._name(lid))


def _url_suffix(r: Resolver) -> str:
    return "amazonaws.com.cn" if r.partition == "aws-cn" else "amazonaws.com"


_KINDS: dict[str, _Kind] = {
    "AWS::IAM::Role": _Kind(
        name_property="RoleName",
        max_length=64,
        arn=_role_arn,
        attributes={"RoleId": lambda r, lid: r._stable_id(lid, "AROA")},
    ),
    "AWS::IAM::User": _Kind(name_property="UserName", max_length=64, arn=_user_arn),
    "AWS::IAM::ManagedPolicy": _Kind(
        name_property="ManagedPolicyName",
        max_length=128,
        ref=_policy_arn,
        arn=_policy_arn,
        arn_attribute=False,
        attributes={"PolicyArn": _policy_arn},
    ),
    "AWS::IAM::Policy": _Kind(ref=lambda r, lid: generated_name(r.stack.name, lid[:5], 64)),
    "AWS::SecretsManager::Secret": _Kind(
        name_property="Name",
        max_length=512,
        name_style="secret",
        ref=Resolver._secret_arn,
        arn=Resolver._secret_arn,
        arn_attribute=False,
        attributes={"Id": Resolver._secret_arn},
    ),
    "AWS::KMS::Key": _Kind(ref=Resolver._key_id, arn=_key_arn, attributes={"KeyId": Resolver._key_id}),
    "AWS::KMS::Alias": _Kind(ref=_prop("AliasName")),
    "AWS::Lambda::Function": _Kind(name_property="FunctionName", max_length=64, arn=_lambda_arn),
    "AWS::Logs::LogGroup": _Kind(name_property="LogGroupName", max_length=512, arn=_log_group_arn),
    "AWS::ECR::Repository": _Kind(
        name_property="RepositoryName",
        max_length=256,
        name_style="lower",
        arn=_repository_arn,
        attributes={
            "RepositoryUri": lambda r, lid: (
                f"{r.stack.account}.dkr.ecr.{r.stack.region}.{_url_suffix(r)}/{r._name(lid)}"
            )
        },
    ),
    "AWS::ECR::PullThroughCacheRule": _Kind(name_property="EcrRepositoryPrefix", ref=_prop("EcrRepositoryPrefix")),
    "AWS::ECR::RepositoryCreationTemplate": _Kind(name_property="Prefix", ref=_prop("Prefix")),
    "AWS::ECR::RegistryPolicy": _Kind(
        ref=lambda r, lid: r.stack.account, attributes={"RegistryId": lambda r, lid: r.stack.account}
    ),
    "AWS::S3::Bucket": _Kind(name_property="BucketName", max_length=63, name_style="lower", arn=_bucket_arn),
    "AWS::SNS::Topic": _Kind(
        name_property="TopicName",
        max_length=256,
        ref=_topic_arn,
        attributes={"TopicArn": _topic_arn, "TopicName": lambda r, lid: r._name(lid)},
    ),
    "AWS::SQS::Queue": _Kind(
        name_property="QueueName",
        max_length=80,
        arn=_queue_arn,
        ref=lambda r, lid: f"https://sqs.{r.stack.region}.{_url_suffix(r)}/{r.stack.account}/{r._name(lid)}",
    ),
    "AWS::SSM::Parameter": _Kind(name_property="Name", max_length=2048),
}
