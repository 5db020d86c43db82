"""Token-aware input checks. Each failure names the construct path, the bad value and the fix."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias, TypeVar, cast

from constructs import IConstruct

from ._env import account_id_of, facts, resolved

#: EcrRepositoryPrefix / UpstreamRepositoryPrefix pattern of the CloudFormation schema and ECR API.
PREFIX_PATTERN = re.compile(r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*/?|ROOT)$")
ROOT = "ROOT"
E = TypeVar("E", bound=Enum)
#: Regions where AWS documents that pull-through cache rules cannot be created.
UNSUPPORTED_REGION_PREFIXES = ("cn-", "us-gov-")


def fail(scope: IConstruct, problem: str, value: object, fix: str) -> ValueError:
    """Builds the library's error: ``[path] problem: got 'value'. fix``."""
    return ValueError(f"[{scope.node.path}] {problem}: got {value!r}. {fix}")


def check_prefix(scope: IConstruct, field: str, value: str, *, min_length: int = 2, max_length: int = 30) -> None:
    """Checks a repository prefix against the service's pattern and length; skips tokens."""
    check_type(scope, field, value, str, "Pass the prefix as a string, such as 'docker-hub'.")
    if not resolved(value):
        return
    if not (min_length <= len(value) <= max_length) or not PREFIX_PATTERN.fullmatch(value):
        raise fail(
            scope,
            f"{field} is not a valid ECR repository prefix",
            value,
            f"Use {min_length}-{max_length} lowercase letters, digits and '.', '_', '-' "
            "separators, path segments joined by '/', or 'ROOT'.",
        )


def check_region_supported(scope: IConstruct) -> None:
    """Fails in regions where pull-through cache is not offered; skipped when the region is a token."""
    _check_region(scope, facts(scope).region, "this region", "Deploy the cache to")


def fail_unscoped(what: str, problem: str, value: object, fix: str) -> ValueError:
    """The library's error for a call that has no construct yet (a factory): ``[what] problem: got ...``."""
    return ValueError(f"[{what}] {problem}: got {value!r}. {fix}")


def check_type(
    scope: IConstruct | str,
    field: str,
    value: object,
    expected: type | tuple[type, ...],
    fix: str,
    *,
    optional: bool = False,
) -> None:
    """Checks that ``value`` is an instance of ``expected`` (``None`` allowed when ``optional``; ``bool`` is not
    taken for ``int``). A token string is a ``str``, so tokens pass a ``str`` check.

    ``scope`` is the construct the value belongs to, or a name such as ``Upstream.quay`` for a factory.
    """
    if value is None and optional:
        return
    if not isinstance(value, expected) or (isinstance(value, bool) and bool not in _as_tuple(expected)):
        names = " or ".join(t.__name__ for t in _as_tuple(expected)) + (" or None" if optional else "")
        problem = f"{field} must be {names}, not {type(value).__name__}"
        raise (
            fail(scope, problem, value, fix)
            if not isinstance(scope, str)
            else fail_unscoped(scope, problem, value, fix)
        )


def check_construct(kind: str, scope: object, id: object, /, **arguments: tuple[object, Expected]) -> None:
    """Checks a constructor's ``scope`` (a ``Construct``), ``id`` (a string) and other ``arguments`` (as
    :func:`check_arguments` takes them) before the construct exists; errors name the construct's path to be,
    or ``kind`` when the scope is wrong."""
    from constructs import Construct

    if not isinstance(scope, Construct):
        raise fail_unscoped(
            kind,
            f"scope must be a Construct, not {type(scope).__name__}",
            scope,
            "Pass the stack or construct to define it in, as the first argument.",
        )
    check_type(scope, "id", id, str, "Pass the construct id as a string, as the second argument.")
    for name, (value, expected) in arguments.items():
        if not _matches(value, expected):  # the path crosses jsii: it is built for the error only
            check_arguments(f"{scope.node.path}/{id}".lstrip("/"), **{name: (value, expected)})


@dataclass(frozen=True)
class Items:
    """What :func:`check_arguments` expects of a list: a list or tuple whose items are each ``expected``."""

    expected: Expected


@dataclass(frozen=True)
class Interface:
    """What :func:`check_arguments` expects of a jsii interface (not checkable with ``isinstance`` in Python):
    a value with ``attribute``, which every implementation has, such as ``role_arn`` for ``iam.IRole``."""

    name: str
    attribute: str


#: Common interfaces, by an attribute every implementation has.
CONSTRUCT = Interface("IConstruct", "node")
KEY = Interface("kms.IKey", "key_arn")
PRINCIPAL = Interface("iam.IPrincipal", "policy_fragment")
#: A function (or any callable), for ``isinstance``.
CALLABLE = cast(type, Callable)
#: What a grant takes: an ``iam.IGrantable``, or a construct with a ``.role`` (such as an EKS Nodegroup).
GRANTEE = (Interface("iam.IGrantable", "grant_principal"), Interface("construct with a .role", "role"))

#: What :func:`check_arguments` takes for an argument: a type, :class:`Items`, :class:`Interface`, ``None`` (the
#: argument may be ``None``), or a tuple of those (any of them).
Expected: TypeAlias = type | tuple["Expected", ...] | Items | Interface | None


def check_arguments(where: IConstruct | str, /, **arguments: tuple[object, Expected]) -> None:
    """Checks each argument ``name=(value, expected)`` of a call on ``where`` (the construct, or a name such as
    ``Upstream.ecr`` for a factory) in the library's format, naming what to pass.

    ``expected`` is a type, a tuple of types (with ``None`` when the argument is optional), :class:`Items` for
    a list, or :class:`Interface` for a jsii interface. ``bool`` is not taken for ``int``, nor a string for a
    list. Tokens are strings, so they pass a ``str`` check. Pure Python: nothing crosses jsii unless it fails.
    """
    for name, (value, expected) in arguments.items():
        if not _matches(value, expected):
            wanted = _describe(expected)
            problem = f"{name} must be {wanted}, not {type(value).__name__}"
            fix = f"Pass {wanted}."
            raise (
                fail(where, problem, value, fix)
                if not isinstance(where, str)
                else fail_unscoped(where, problem, value, fix)
            )


def _matches(value: object, expected: Expected) -> bool:
    if isinstance(expected, tuple):
        return any(_matches(value, option) for option in expected)
    if expected is None:
        return value is None
    if isinstance(expected, Items):
        return isinstance(value, (list, tuple)) and all(_matches(item, expected.expected) for item in value)
    if isinstance(expected, Interface):  # read on the class, so that no jsii property is called
        kind = type(value)
        return (
            hasattr(kind, expected.attribute)
            or expected.attribute in getattr(value, "__dict__", {})
            or (value is not None and hasattr(kind, "__getattr__"))  # a dynamic proxy of a jsii interface
        )
    return isinstance(value, expected) and (expected is not int or not isinstance(value, bool))


def _describe(expected: Expected) -> str:
    if isinstance(expected, tuple):
        return " or ".join(_describe(option) for option in expected)
    if expected is None:
        return "None"
    if isinstance(expected, Items):
        return f"a list of {_describe(expected.expected).removeprefix('a ').removeprefix('an ')}"
    if isinstance(expected, Interface):
        return f"{'an' if expected.name[0].lower() in 'aeiou' else 'a'} {expected.name}"
    names = {str: "a string", int: "a whole number", bool: "True or False"}
    if expected in names:
        return names[expected]
    return f"{'an' if expected.__name__[0].lower() in 'aeiou' else 'a'} {expected.__name__}"


def check_choice(scope: IConstruct | str, field: str, value: object, choices: type[E]) -> E:
    """Converts ``value`` to a member of the enum ``choices`` (a member or its value), listing the valid values."""
    try:
        return choices(value)
    except ValueError:
        valid = ", ".join(repr(member.value) for member in choices)
        problem, fix = f"{field} is not a {choices.__name__}", f"Use one of {valid}."
        raise (
            fail(scope, problem, value, fix)
            if not isinstance(scope, str)
            else fail_unscoped(scope, problem, value, fix)
        ) from None


def _as_tuple(expected: type | tuple[type, ...]) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


#: Secrets Manager's secret-name characters and length.
SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
#: A complete Secrets Manager ARN: partition, Region, account, ``secret:``, name, ``-`` and the six-character suffix.
COMPLETE_SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$"
)
#: What the random suffix of a secret ARN looks like at the end of a name.
SUFFIX_LIKE = re.compile(r"-[A-Za-z0-9]{6}$")


def check_secret_name(scope: IConstruct, field: str, name: str) -> None:
    """Checks a secret name against Secrets Manager's pattern; skips tokens."""
    if resolved(name) and not SECRET_NAME.fullmatch(name):
        raise fail(
            scope,
            f"{field} is not a valid Secrets Manager secret name",
            name,
            "Use 1-512 letters, digits and the characters /_+=.@- (no spaces or newlines).",
        )


def check_tag_keys(scope: IConstruct, field: str, keys: Iterable[str]) -> None:
    """Rejects tag keys with the reserved ``aws:`` prefix (any case); skips tokens."""
    for key in keys:
        if resolved(key) and key.lower().startswith("aws:"):
            raise fail(
                scope,
                f"{field} has a tag key with the reserved 'aws:' prefix",
                key,
                "Rename the tag key: AWS reserves 'aws:' for its own tags.",
            )


#: A 12-digit AWS account ID.
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")


def check_account(scope: IConstruct, field: str, account: str | None) -> None:
    """Checks an account ID (12 digits); skips tokens and ``None``."""
    check_type(scope, field, account, str, "Pass the 12-digit account ID as a string.", optional=True)
    if account is not None and resolved(account) and not ACCOUNT_ID.fullmatch(account):
        raise fail(scope, f"{field} is not an AWS account ID", account, "Use the 12-digit account ID.")


#: An IAM principal ARN that a resource policy accepts: a role, user, root or assumed-role session.
IAM_PRINCIPAL_ARN = re.compile(
    r"^arn:aws[a-z-]*:(iam::[0-9]{12}:(root|(role|user)/[\w+=,.@/-]+)|"
    r"sts::[0-9]{12}:(assumed-role/[\w+=,.@-]+/[\w+=,.@-]+|federated-user/[\w+=,.@-]+))$"
)


def check_principal_arn(scope: IConstruct, arn: str) -> None:
    """Checks an ``ArnPrincipal``'s ARN names an IAM role, user, account root or assumed-role session; skips tokens."""
    if resolved(arn) and arn != "*" and not IAM_PRINCIPAL_ARN.fullmatch(arn):
        raise fail(
            scope,
            "the principal ARN is not an IAM role, user or account ARN",
            arn,
            "Use arn:<partition>:iam::<account>:role/<name> (or user/<name>, or root).",
        )


def check_interface(
    scope: IConstruct | str, field: str, value: object, kind: str, attribute: str, fix: str, *, optional: bool = False
) -> None:
    """Checks that ``value`` implements the jsii interface ``kind`` (jsii interfaces are not runtime-checkable
    in Python, so by the ``attribute`` every implementation has)."""
    if (value is None and optional) or (value is not None and hasattr(value, attribute)):
        return
    problem = f"{field} must be {'an' if kind[0].lower() in 'aeiou' else 'a'} {kind}, not {type(value).__name__}"
    raise (
        fail(scope, problem, value, fix) if not isinstance(scope, str) else fail_unscoped(scope, problem, value, fix)
    )


def check_principal(scope: IConstruct, principal: object) -> None:
    """Checks a grant's principal: an ``AccountPrincipal``'s account and an ``ArnPrincipal``'s ARN must be ones
    a resource policy accepts; skips tokens."""
    from aws_cdk import aws_iam as iam

    if isinstance(principal, iam.AccountPrincipal):
        check_account(scope, "the AccountPrincipal's account", account_id_of(principal))
    elif isinstance(principal, iam.ArnPrincipal) and not isinstance(principal, iam.AccountRootPrincipal):
        check_principal_arn(scope, principal.arn)


def check_cache_region(scope: IConstruct, region: str) -> None:
    """Fails for a cache Region where pull-through cache is not offered; skips tokens."""
    _check_region(scope, region, "the cache's region", "Import a cache of")


def _check_region(scope: IConstruct, region: str, which: str, fix: str) -> None:
    if resolved(region) and region.startswith(UNSUPPORTED_REGION_PREFIXES):
        raise fail(
            scope,
            f"pull-through cache is not available in {which}",
            region,
            f"{fix} a commercial AWS Region (not cn-* or us-gov-*).",
        )


def check_passed_role(scope: IConstruct, field: str, role: object, service: str) -> None:
    """Checks a role that ECR assumes: an ``iam.IRole`` whose trust policy names ``service``. The trust is
    checked only for a role defined in the app (an imported role's is unknown); its account and IAM path
    are checked where the role is used."""
    if role is None:
        return
    check_interface(scope, field, role, "iam.IRole", "role_arn", "Pass an iam.IRole, e.g. iam.Role.from_role_arn(...).")
    trust = getattr(role, "assume_role_policy", None)
    if trust is None:
        return
    from aws_cdk import Stack

    statements = Stack.of(scope).resolve(trust.to_json()).get("Statement", [])
    services = {
        service
        for s in statements
        if s.get("Effect") == "Allow"
        for service in _as_list(
            s.get("Principal", {}).get("Service", []) if isinstance(s.get("Principal"), dict) else []
        )
    }
    if service not in services:
        raise fail(
            scope,
            f"{field} is not trusted by {service}, which assumes it",
            sorted(services),
            f"Create it with assumed_by=iam.ServicePrincipal('{service}').",
        )


def check_key_environment(scope: IConstruct, key: object) -> None:
    """Checks that a KMS key (when its environment is known) is in the account and Region of ``scope``."""
    if key is None or not hasattr(key, "env"):
        return
    stack = facts(scope)
    for what, theirs, ours in (("account", key.env.account, stack.account), ("region", key.env.region, stack.region)):
        if resolved(theirs) and resolved(ours) and theirs != ours:
            raise fail(
                scope,
                f"the KMS key is in another {what}",
                theirs,
                f"Use a key of {what} {ours}: ECR encrypts the repositories with a key of their registry.",
            )


def check_template_arguments(
    scope: IConstruct,
    applied_for_type: type[E],
    *,
    applied_for: object,
    keep_last_images: object,
    encryption: object,
    encryption_key: object,
    role: object,
) -> None:
    """Checks the types and shapes of a creation template's arguments, and its role and key."""
    from aws_cdk import aws_ecr as ecr

    check_type(
        scope, "applied_for", applied_for, (list, tuple), "Pass a list, such as [AppliedFor.PULL_THROUGH_CACHE]."
    )
    for value in applied_for:  # type: ignore[attr-defined]
        check_choice(scope, "applied_for", value, applied_for_type)
    check_type(scope, "keep_last_images", keep_last_images, int, "Pass a whole number, such as 10.", optional=True)
    check_type(
        scope,
        "encryption",
        encryption,
        ecr.RepositoryEncryption,
        "Use ecr.RepositoryEncryption.KMS or .AES_256, not a string.",
        optional=True,
    )
    check_interface(scope, "encryption_key", encryption_key, "kms.IKey", "key_arn", "Pass a kms.IKey.", optional=True)
    check_key_environment(scope, encryption_key)
    check_passed_role(scope, "role", role, "ecr.amazonaws.com")


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def policy_statements(scope: IConstruct, field: str, policy: object) -> list[dict]:
    """The statements of a policy document given as JSON text or parsed, checked for shape.

    ``Statement`` may be one statement object or a list of them, as IAM accepts; each needs an
    ``Effect`` of ``Allow`` or ``Deny`` and an ``Action`` or ``NotAction``.
    """
    import json

    document = policy
    if isinstance(policy, str):
        try:
            document = json.loads(policy)
        except json.JSONDecodeError as error:
            raise fail(
                scope,
                f"{field} is not valid JSON ({error.msg} at character {error.pos})",
                policy[:80],
                "Pass the policy text as `aws ecr get-registry-policy --query policyText` prints it.",
            ) from None
    if not isinstance(document, dict):
        raise fail(
            scope,
            f"{field} must be a policy document (a JSON object)",
            document,
            'Pass {"Version": "2012-10-17", "Statement": [...]}.',
        )
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise fail(
            scope,
            f"{field}'s Statement must be a statement object or a list of them",
            document.get("Statement"),
            "Give each statement as a JSON object.",
        )
    for statement in statements:
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise fail(
                scope,
                f"a statement of {field} has no Effect of Allow or Deny",
                statement.get("Effect"),
                'Add "Effect": "Allow" (or "Deny") to the statement.',
            )
        if "Action" not in statement and "NotAction" not in statement:
            raise fail(
                scope,
                f"a statement of {field} has no Action",
                statement.get("Sid", statement),
                'Add "Action": [...] to the statement.',
            )
    return statements


def check_template_settings(
    scope: IConstruct,
    lifecycle_rule_types: tuple[type, ...],
    *,
    description: object,
    lifecycle_rules: object,
    expire_untagged_after: object,
    image_tag_mutability: object,
    image_tag_mutability_exclusion_filters: object,
    resource_tags: object,
) -> None:
    """Checks the types and shapes of a creation template's other settings (``lifecycle_rule_types``: what a
    lifecycle rule may be)."""
    from collections.abc import Mapping

    from aws_cdk import Duration
    from aws_cdk import aws_ecr as ecr

    check_type(scope, "description", description, str, "Pass the description as a string.", optional=True)
    check_type(scope, "lifecycle_rules", lifecycle_rules, (list, tuple), "Pass a list of ecr.LifecycleRule.")
    for lifecycle_rule in lifecycle_rules:  # type: ignore[attr-defined]
        check_type(
            scope,
            "lifecycle_rules",
            lifecycle_rule,
            lifecycle_rule_types,
            "Pass ecr.LifecycleRule(...) or CacheLifecycleRule(...) items.",
        )
    check_type(
        scope,
        "expire_untagged_after",
        expire_untagged_after,
        Duration,
        "Pass a Duration, such as Duration.days(14).",
        optional=True,
    )
    check_type(
        scope,
        "image_tag_mutability",
        image_tag_mutability,
        ecr.TagMutability,
        "Use ecr.TagMutability.MUTABLE (not a string).",
        optional=True,
    )
    check_type(
        scope,
        "image_tag_mutability_exclusion_filters",
        image_tag_mutability_exclusion_filters,
        (list, tuple),
        "Pass a list of wildcard filters, such as ['v*'].",
    )
    check_type(scope, "resource_tags", resource_tags, Mapping, "Pass a dict of tag keys to values.", optional=True)
