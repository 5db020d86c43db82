"""Credentials for upstream registries that require authentication."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, cast

from aws_cdk import Acknowledgment, Annotations, CfnResource, RemovalPolicy, Stack, Validations
from constructs import Construct, IConstruct

from ._env import facts, resolved, same
from ._validation import (
    COMPLETE_SECRET_ARN,
    SUFFIX_LIKE,
    check_arguments,
    check_construct,
    check_interface,
    check_secret_name,
    check_type,
    fail,
    fail_unscoped,
)

if TYPE_CHECKING:
    from aws_cdk import aws_secretsmanager as secretsmanager

#: The name prefix ECR requires of every pull-through cache credential secret.
SECRET_NAME_PREFIX = "ecr-pullthroughcache/"


#: Passed by the factories, so that ``UpstreamCredentials(...)`` cannot be called directly.
_FACTORY = object()


class UpstreamCredentials:
    """The Secrets Manager secret holding ``{"username": ..., "accessToken": ...}`` for an upstream.

    Build it with a factory: :meth:`from_secret`, :meth:`from_secret_name`,
    :meth:`from_secret_complete_arn` or :meth:`new_secret`; each gives exactly one source. The secret
    must be named ``ecr-pullthroughcache/...``, live in the cache's account and Region, and be
    encrypted with the AWS managed key ``aws/secretsmanager``. These rules are checked when the
    credentials are attached to a rule, so that errors name the rule.
    """

    def __init__(
        self,
        factory: object = None,
        *,
        secret: secretsmanager.ISecret | None = None,
        name: str | None = None,
        complete_arn: str | None = None,
    ) -> None:
        if factory is not _FACTORY:
            raise TypeError(
                "[UpstreamCredentials] the constructor is not public: got UpstreamCredentials(...). "
                "Use UpstreamCredentials.from_secret(...), .from_secret_name(...), "
                ".from_secret_complete_arn(...) or .new_secret(...)."
            )
        self._secret = secret
        self._name = name
        self._complete_arn = complete_arn

    @staticmethod
    def from_secret(secret: secretsmanager.ISecret) -> UpstreamCredentials:
        """Uses an existing or newly defined secret.

        Args:
            secret: the secret; its name must start with ``ecr-pullthroughcache/``.
        """
        check_interface(
            "UpstreamCredentials.from_secret",
            "secret",
            secret,
            "secretsmanager.ISecret",
            "secret_arn",
            "Pass a secret, e.g. Secret.from_secret_name_v2(...), or use from_secret_name(...).",
        )
        return UpstreamCredentials(_FACTORY, secret=secret)

    @staticmethod
    def from_secret_name(name: str) -> UpstreamCredentials:
        """References a secret of the cache's account and Region by name.

        The rule then carries a partial ARN (no random suffix), which the ECR ARN pattern
        accepts; prefer :meth:`from_secret_complete_arn` when the full ARN is known. A name that
        ends like a random suffix (``-`` and six characters) gets a warning: Secrets Manager may
        resolve such a partial ARN to another secret.

        Args:
            name: the secret name, starting with ``ecr-pullthroughcache/``.
        """
        check_type("UpstreamCredentials.from_secret_name", "name", name, str, "Pass the secret name as a string.")
        if resolved(name) and name.startswith("arn:"):
            raise fail_unscoped(
                "UpstreamCredentials.from_secret_name",
                "name is an ARN, not a secret name",
                name,
                "Use UpstreamCredentials.from_secret_complete_arn(...) for an ARN.",
            )
        return UpstreamCredentials(_FACTORY, name=name)

    @staticmethod
    def from_secret_complete_arn(arn: str) -> UpstreamCredentials:
        """References a secret by its complete ARN (with the six-character suffix).

        Args:
            arn: the complete secret ARN.
        """
        check_type(
            "UpstreamCredentials.from_secret_complete_arn", "arn", arn, str, "Pass the complete secret ARN as a string."
        )
        if resolved(arn) and not COMPLETE_SECRET_ARN.fullmatch(arn):
            raise fail_unscoped(
                "UpstreamCredentials.from_secret_complete_arn",
                "arn is not a complete secret ARN",
                arn,
                "Give arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 "
                "characters>, or use UpstreamCredentials.from_secret_name(...) for a name.",
            )
        return UpstreamCredentials(_FACTORY, complete_arn=arn)

    @staticmethod
    def new_secret(
        scope: Construct, id: str, *, name: str, username: str, description: str | None = None
    ) -> UpstreamCredentials:
        """Defines a correctly named secret whose access token is set after deploy.

        The secret is named ``ecr-pullthroughcache/<name>`` and created with ``username`` and a
        random placeholder ``accessToken``, so the rule can be created; no credential is ever
        written into the template. It has ``RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE``: it is kept
        when the stack is deleted or the secret replaced, and deleted when the stack's first create
        rolls back, so a failed first deploy can be retried. After the first deploy, put the real token::

            aws secretsmanager put-secret-value --secret-id ecr-pullthroughcache/<name> \\
              --secret-string '{"username":"<user>","accessToken":"<token>"}'

        After a stack delete, the kept secret blocks its name: before deploying the stack again,
        delete it (``aws secretsmanager delete-secret --secret-id ecr-pullthroughcache/<name>
        --force-delete-without-recovery``, then put the token again after the deploy), or give
        ``name`` a new value.

        Args:
            scope: where to define the secret.
            id: the secret's construct id.
            name: the part of the secret name after ``ecr-pullthroughcache/``.
            username: the upstream registry user name (not a secret).
            description: the secret's description. Default: - a description naming the upstream user.
        """
        from aws_cdk import aws_secretsmanager as secretsmanager

        check_construct("UpstreamCredentials.new_secret", scope, id)
        for field, value in (("name", name), ("username", username)):
            check_type(scope, field, value, str, f"Pass {field} as a string.")
        check_type(scope, "description", description, str, "Pass description as a string.", optional=True)
        if resolved(name) and name.startswith(SECRET_NAME_PREFIX):
            raise fail(
                scope,
                "name already starts with the required prefix",
                name,
                f"Give only the part after {SECRET_NAME_PREFIX!r}; it is prepended.",
            )
        if resolved(name) and not name:
            raise fail(
                scope,
                "name is empty",
                name,
                f"Give the part of the secret name after {SECRET_NAME_PREFIX!r}, such as 'docker-hub'.",
            )
        check_secret_name(scope, "name", SECRET_NAME_PREFIX + name)
        secret = secretsmanager.Secret(
            scope,
            id,
            secret_name=SECRET_NAME_PREFIX + name,
            description=description or f"ECR pull-through cache credentials of upstream user {username}",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"username": username}),
                generate_string_key="accessToken",
                exclude_punctuation=True,
            ),
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        reason = "The access token is issued and rotated by the upstream registry; Secrets Manager cannot rotate it."
        Validations.of(secret).acknowledge(Acknowledgment(id="AwsSolutions::AwsSolutions-SMG4", reason=reason))
        cast(CfnResource, secret.node.default_child).add_metadata(
            "checkov",
            {
                "skip": [
                    {
                        "id": "CKV_AWS_149",
                        "comment": "ECR pull-through cache requires the aws/secretsmanager key; a CMK is rejected.",
                    }
                ]
            },
        )
        return UpstreamCredentials(_FACTORY, secret=secret)

    def bind(self, rule: Construct) -> tuple[secretsmanager.ISecret, str | None]:
        """Binds the credentials to ``rule``: checks the secret and returns it (imported there when needed) with
        its name, when known at synth. The rule calls it; you do not need to.

        Args:
            rule: the pull-through cache rule that uses the credentials.
        """
        from aws_cdk import aws_secretsmanager as secretsmanager

        check_arguments("UpstreamCredentials.bind", rule=(rule, Construct))
        secret = self._secret
        if secret is None and self._name is not None:
            check_secret_name(rule, "the credential secret name", self._name)
            if resolved(self._name) and SUFFIX_LIKE.search(self._name):
                Annotations.of(rule).add_warning_v2(
                    "cdk-ecr-ptc:secretNameLooksSuffixed",
                    (
                        f"the credential secret name {self._name!r} ends like a random suffix (-xxxxxx), so Secrets "
                        "Manager may resolve its partial ARN to another secret; use "
                        "UpstreamCredentials.from_secret_complete_arn(...)."
                    ),
                )
            secret = secretsmanager.Secret.from_secret_name_v2(rule, "Credentials", self._name)
        elif secret is None:
            secret = secretsmanager.Secret.from_secret_complete_arn(rule, "Credentials", cast(str, self._complete_arn))
        return secret, _check_secret(rule, secret)


def _secret_name(secret: secretsmanager.ISecret) -> str | None:
    """The secret's concrete name, or ``None`` when CloudFormation will generate or resolve it."""
    from aws_cdk import aws_secretsmanager as secretsmanager

    child = secret.node.default_child
    if isinstance(child, secretsmanager.CfnSecret):
        # CDK renders an unset name as a token that resolves to nothing (a generated name).
        return Stack.of(child).resolve(child.name)
    return secret.secret_name


def _check_secret(rule: IConstruct, secret: secretsmanager.ISecret) -> str | None:
    """Checks the secret as ECR requires it; returns its name (``None`` when it is a token)."""
    name = _secret_name(secret)
    if name is None:
        raise fail(
            rule,
            "the credential secret has a generated name",
            None,
            f"Set secret_name='{SECRET_NAME_PREFIX}<name>' or use UpstreamCredentials.new_secret().",
        )
    check_secret_name(rule, "the credential secret name", name)
    if resolved(name) and not name.startswith(SECRET_NAME_PREFIX):
        raise fail(
            rule,
            f"the credential secret name must start with {SECRET_NAME_PREFIX!r}",
            name,
            f"Rename the secret to '{SECRET_NAME_PREFIX}{name}'.",
        )
    stack = facts(rule)
    for what, theirs, ours in (
        ("account", secret.env.account, stack.account),
        ("region", secret.env.region, stack.region),
    ):
        if same(theirs, ours) is False:
            raise fail(
                rule,
                f"the credential secret is in another {what}",
                theirs,
                f"Create the secret in {what} {ours}, where the rule is.",
            )
    if secret.encryption_key is not None:
        raise fail(
            rule,
            "the credential secret uses a customer managed KMS key",
            secret.encryption_key.node.path,
            "Remove encryption_key: ECR only reads secrets encrypted with aws/secretsmanager.",
        )
    return name if resolved(name) else None
