"""Repository creation templates: the settings of the repositories that ECR creates for the cache."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import TYPE_CHECKING

import jsii
from aws_cdk import Annotations, CfnTag, Duration, Lazy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk.interfaces import ResourceEnvironment
from constructs import Construct

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms

from ._actions import REPOSITORY_POLICY_PULL
from ._app_registry import AppRegistry
from ._env import facts, repository_arn, resolved, same
from ._grants import principal
from ._identity import tagging_declared
from ._jsii import StringProducer, Validation
from ._model import MAX_REPOSITORY_POLICY_LENGTH, repository_pattern
from ._statements import LiveStatements, deployed_length, open_access_problems
from ._validation import (
    check_arguments,
    check_construct,
    check_prefix,
    check_tag_keys,
    check_template_arguments,
    check_template_settings,
    check_type,
    fail,
)
from .lifecycle import CacheLifecycleRule, render_lifecycle_policy
from .roles import RepositoryCreationRole, check_role_without_path

__all__ = ["MAX_REPOSITORY_POLICY_LENGTH", "AppliedFor", "RepositoryCreationTemplate", "RepositorySettings"]
MAX_TAGS = 50
MAX_EXCLUSION_FILTERS = 5
_EXCLUSION_FILTER = re.compile(r"^[0-9a-zA-Z._*-]{1,128}$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-z0-9-]+$")
_WITH_EXCLUSION = (ecr.TagMutability.IMMUTABLE_WITH_EXCLUSION, ecr.TagMutability.MUTABLE_WITH_EXCLUSION)
_IMMUTABLE = (ecr.TagMutability.IMMUTABLE, ecr.TagMutability.IMMUTABLE_WITH_EXCLUSION)
_EncryptionConfiguration = ecr.CfnRepositoryCreationTemplate.EncryptionConfigurationProperty


class AppliedFor(str, Enum):
    """What a creation template applies to (``AppliedFor`` of the CloudFormation resource)."""

    PULL_THROUGH_CACHE = "PULL_THROUGH_CACHE"
    REPLICATION = "REPLICATION"
    CREATE_ON_PUSH = "CREATE_ON_PUSH"


@dataclass(frozen=True, kw_only=True)
class RepositorySettings:
    """Settings of the repositories that a creation template creates; every field is optional.

    Attributes:
        description: the template's description. Default: - none.
        lifecycle_rules: lifecycle rules, rendered as CDK renders a repository's. Default: - none.
        keep_last_images: adds a rule that keeps the last N images of any tag. Default: - none.
        expire_untagged_after: adds a rule that expires untagged images after this age. Default: - none.
        image_tag_mutability: tag mutability. Default: - ``MUTABLE`` (ECR's default, which pull-through
            cache needs to refresh tags).
        image_tag_mutability_exclusion_filters: wildcard tag patterns excluded from the mutability
            setting; needs a ``*_WITH_EXCLUSION`` mutability. Default: - none.
        encryption: ``AES_256``, ``KMS`` or ``KMS_DSSE``. Default: - ``KMS`` when ``encryption_key`` is
            given, else ECR's ``AES256``.
        encryption_key: the KMS key, rendered as its full key ARN. Default: - none.
        resource_tags: tags of the created repositories. Default: - none.
        role: the template's custom role. Default: - one is created when tags or KMS need it.
        expire_if_not_pulled_for: adds a rule that expires images of any tag not pulled for this many
            days (``sinceImagePulled``). Default: - none.
        archive_if_not_pulled_for: adds a rule that archives images of any tag not pulled for this many
            days; archived images cannot be pulled until restored. Default: - none.
    """

    description: str | None = None
    lifecycle_rules: Sequence[ecr.LifecycleRule | CacheLifecycleRule] = ()
    keep_last_images: int | None = None
    expire_untagged_after: Duration | None = None
    image_tag_mutability: ecr.TagMutability | None = None
    image_tag_mutability_exclusion_filters: Sequence[str] = ()
    encryption: ecr.RepositoryEncryption | None = None
    encryption_key: kms.IKey | None = None
    resource_tags: Mapping[str, str] = field(default_factory=dict)
    role: iam.IRole | None = None
    expire_if_not_pulled_for: Duration | None = None
    archive_if_not_pulled_for: Duration | None = None

    def as_kwargs(self) -> dict:
        """The settings as keyword arguments of :class:`RepositoryCreationTemplate`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@jsii.implements(iam.IResourceWithPolicyV2)
class RepositoryCreationTemplate(Construct):
    """Defines a repository creation template (``AWS::ECR::RepositoryCreationTemplate``).

    ECR applies it to repositories it creates under ``prefix`` (the most specific template wins,
    ``ROOT`` covers the rest), only when it creates them. A custom role trusted by
    ``ecr.amazonaws.com`` is used when the settings need one (resource tags or KMS): one per stack for the
    templates with the same needs (replication, KMS key), allowed on each of their prefixes.
    Grants to a rule this template covers add ``ecr:TagResource`` when the template tags.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        prefix: str,
        applied_for: Sequence[AppliedFor] = (AppliedFor.PULL_THROUGH_CACHE,),
        description: str | None = None,
        lifecycle_rules: Sequence[ecr.LifecycleRule | CacheLifecycleRule] = (),
        keep_last_images: int | None = None,
        expire_untagged_after: Duration | None = None,
        image_tag_mutability: ecr.TagMutability | None = None,
        image_tag_mutability_exclusion_filters: Sequence[str] = (),
        encryption: ecr.RepositoryEncryption | None = None,
        encryption_key: kms.IKey | None = None,
        resource_tags: Mapping[str, str] | None = None,
        role: iam.IRole | None = None,
        expire_if_not_pulled_for: Duration | None = None,
        archive_if_not_pulled_for: Duration | None = None,
    ) -> None:
        """
        Args:
            scope: the parent construct.
            id: the construct id.
            prefix: the repository name prefix (1-256 characters), or ``ROOT`` for every repository
                no other template covers.
            applied_for: what the template applies to. Default: ``[PULL_THROUGH_CACHE]``.
            The other arguments are those of :class:`RepositorySettings`, with the same defaults.
        """
        check_construct(
            "RepositoryCreationTemplate",
            scope,
            id,
            expire_if_not_pulled_for=(expire_if_not_pulled_for, (Duration, None)),
            archive_if_not_pulled_for=(archive_if_not_pulled_for, (Duration, None)),
        )
        super().__init__(scope, id)
        check_template_arguments(
            self,
            AppliedFor,
            applied_for=applied_for,
            keep_last_images=keep_last_images,
            encryption=encryption,
            encryption_key=encryption_key,
            role=role,
        )
        check_template_settings(
            self,
            (ecr.LifecycleRule, CacheLifecycleRule),
            description=description,
            lifecycle_rules=lifecycle_rules,
            expire_untagged_after=expire_untagged_after,
            image_tag_mutability=image_tag_mutability,
            image_tag_mutability_exclusion_filters=image_tag_mutability_exclusion_filters,
            resource_tags=resource_tags,
        )
        check_prefix(self, "prefix", prefix, min_length=1, max_length=256)
        self._prefix = prefix
        self._applied_for = tuple(AppliedFor(a) for a in applied_for)
        self._resource_tags = dict(resource_tags or {})
        if self._resource_tags:
            tagging_declared(self)
        if not self._applied_for or len(set(self._applied_for)) != len(self._applied_for):
            raise fail(
                self,
                "applied_for must list each of its values once",
                [a.value for a in self._applied_for],
                "Give one or more distinct AppliedFor values.",
            )
        if description is not None and len(description) > 256:
            raise fail(self, "description is longer than 256 characters", len(description), "Shorten it.")
        self._check_tags()
        self._check_mutability(image_tag_mutability, image_tag_mutability_exclusion_filters)
        encryption_configuration = self._encryption_configuration(encryption, encryption_key)
        rules = (
            list(lifecycle_rules)
            + _shortcut_rules(keep_last_images, expire_untagged_after)
            + _pull_rules(expire_if_not_pulled_for, archive_if_not_pulled_for)
        )
        self._lifecycle_policy = render_lifecycle_policy(self, rules) if rules else None
        self._repository_policy = LiveStatements(with_resources=False, resolve=facts(self).stack.resolve)
        self._settings = RepositorySettings(
            description=description,
            lifecycle_rules=tuple(lifecycle_rules),
            keep_last_images=keep_last_images,
            expire_untagged_after=expire_untagged_after,
            expire_if_not_pulled_for=expire_if_not_pulled_for,
            archive_if_not_pulled_for=archive_if_not_pulled_for,
            image_tag_mutability=image_tag_mutability,
            image_tag_mutability_exclusion_filters=tuple(image_tag_mutability_exclusion_filters),
            encryption=encryption,
            encryption_key=encryption_key,
            resource_tags=dict(self._resource_tags),
            role=role,
        )
        if role is not None:
            check_role_without_path(self, role, "the template's custom role")
            account = facts(self).account
            if same(role.env.account, account) is False:
                raise fail(
                    self,
                    f"the template's custom role must be in the registry's account {account}",
                    role.env.account,
                    "Use a role of the registry's account, or let the template create one.",
                )
        self._role = role
        if role is None and (self._resource_tags or encryption_key is not None):
            self._role = RepositoryCreationRole.shared(
                self,
                repository_arn=self.repository_arn_pattern,
                replication=AppliedFor.REPLICATION in self._applied_for,
                encryption_key=encryption_key,
            )
        self._resource = ecr.CfnRepositoryCreationTemplate(
            self,
            "Resource",
            prefix=prefix,
            applied_for=[a.value for a in self._applied_for],
            description=description,
            lifecycle_policy=self._lifecycle_policy,
            image_tag_mutability=image_tag_mutability.value if image_tag_mutability else None,
            image_tag_mutability_exclusion_filters=[
                ecr.CfnRepositoryCreationTemplate.ImageTagMutabilityExclusionFilterProperty(
                    image_tag_mutability_exclusion_filter_type="WILDCARD",
                    image_tag_mutability_exclusion_filter_value=value,
                )
                for value in image_tag_mutability_exclusion_filters
            ]
            or None,
            encryption_configuration=encryption_configuration,
            resource_tags=[CfnTag(key=k, value=v) for k, v in sorted(self._resource_tags.items())] or None,
            custom_role_arn=self._role.role_arn if self._role else None,
            repository_policy=Lazy.string(StringProducer(self._render_repository_policy)),
        )
        self.node.add_validation(Validation(self._validate))
        AppRegistry.of(self).add_template(self)

    @property
    def prefix(self) -> str:
        """The repository name prefix (``ROOT`` for the fallback template)."""
        return self._prefix

    @property
    def settings(self) -> RepositorySettings:
        """The settings as given, with the custom role the template uses (given or created)."""
        return replace(self._settings, role=self._role)

    @property
    def applied_for(self) -> tuple[AppliedFor, ...]:
        """What the template applies to."""
        return self._applied_for

    @property
    def applies_to_pull_through_cache(self) -> bool:
        """Tells whether the template applies to repositories that pull-through cache creates."""
        return AppliedFor.PULL_THROUGH_CACHE in self._applied_for

    @property
    def role(self) -> iam.IRole | None:
        """The custom role, given or created; ``None`` when the template needs none."""
        return self._role

    @property
    def tags_repositories(self) -> bool:
        """Tells whether created repositories get resource tags (pullers then need ``ecr:TagResource``)."""
        return bool(self._resource_tags)

    @property
    def lifecycle_policy(self) -> str | None:
        """The rendered lifecycle policy (JSON), or ``None`` when the template has none."""
        return self._lifecycle_policy

    @property
    def repository_arn_pattern(self) -> str:
        """The ARN of every repository the template covers."""
        return repository_arn(self, repository_pattern(self._prefix))

    @property
    def env(self) -> ResourceEnvironment:
        """The account and Region of the registry."""
        stack = facts(self)
        return ResourceEnvironment(account=stack.account, region=stack.region)

    def add_to_resource_policy(self, statement: iam.PolicyStatement) -> iam.AddToResourcePolicyResult:
        """Adds a statement to the repository policy of every repository the template creates.

        The statement is read at synth, so changes made to it later count.

        Args:
            statement: the statement, with principals and without resources.
        """
        check_type(self, "statement", statement, iam.PolicyStatement, "Pass an iam.PolicyStatement.")
        self._repository_policy.add(statement)
        return iam.AddToResourcePolicyResult(statement_added=True, policy_dependable=self._resource)

    def adopt_repository_policy(self, other: RepositoryCreationTemplate) -> None:
        """Takes over the repository-policy statements of ``other``, a template this one replaces.

        Args:
            other: the replaced template (removed from the construct tree).
        """
        check_arguments(self, other=(other, RepositoryCreationTemplate))
        for statement in other._repository_policy.take_all():
            self._repository_policy.add(statement)

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets ``grantee`` pull from the repositories the template creates, through their repository policy.

        Args:
            grantee: the principal, typically an account or organization.
        """
        statement = iam.PolicyStatement(principals=[principal(self, grantee)], actions=list(REPOSITORY_POLICY_PULL))
        return iam.Grant.add_statement_to_resource_policy(
            statement=statement, resource=self, grantee=grantee, actions=list(REPOSITORY_POLICY_PULL), resource_arns=[]
        )

    def repository_policy(self) -> dict | None:
        """Renders the repository policy document, or ``None`` when it has no statement."""
        return None if self._repository_policy.is_empty else self._repository_policy.document()

    def _render_repository_policy(self) -> str | None:
        document = self.repository_policy()
        return None if document is None else Stack.of(self).to_json_string(document)

    def _validate(self) -> list[str]:
        errors = self._repository_policy.errors_for_resource_policy()
        if errors:
            return errors
        document = self.repository_policy()
        if document is not None and (
            problems := open_access_problems(document, "repository policy", Stack.of(self).resolve)
        ):
            return problems
        if document is not None and deployed_length(document) > MAX_REPOSITORY_POLICY_LENGTH:
            return [
                f"the repository policy would be {deployed_length(document)} characters; ECR allows "
                f"{MAX_REPOSITORY_POLICY_LENGTH}. Grant organizations or accounts rather than many roles."
            ]
        return []

    def _check_tags(self) -> None:
        tags = self._resource_tags
        check_tag_keys(self, "resource_tags", tags)
        if len(tags) > MAX_TAGS:
            raise fail(self, f"a template takes at most {MAX_TAGS} resource tags", len(tags), "Remove tags.")
        for key, value in tags.items():
            if not 1 <= len(key) <= 128 or len(value) > 256:
                raise fail(
                    self,
                    "a resource tag key must have 1-128 characters and its value at most 256",
                    key,
                    "Shorten the tag.",
                )

    def _check_mutability(self, mutability: ecr.TagMutability | None, filters: Sequence[str]) -> None:
        if filters and mutability not in _WITH_EXCLUSION:
            raise fail(
                self,
                "exclusion filters need a *_WITH_EXCLUSION image tag mutability",
                mutability and mutability.value,
                "Use TagMutability.MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION, or remove the filters.",
            )
        if mutability in _WITH_EXCLUSION and not filters:
            raise fail(self, f"{mutability.value} needs exclusion filters", [], "Add 1-5 wildcard filters.")
        if len(filters) > MAX_EXCLUSION_FILTERS:
            raise fail(
                self,
                f"a template takes at most {MAX_EXCLUSION_FILTERS} exclusion filters",
                len(filters),
                "Merge filters with wildcards.",
            )
        for value in filters:
            if not _EXCLUSION_FILTER.fullmatch(value):
                raise fail(
                    self,
                    "an exclusion filter must have 1-128 letters, digits, '.', '_', '-' or '*'",
                    value,
                    "Fix the pattern.",
                )
        if mutability in _IMMUTABLE and AppliedFor.PULL_THROUGH_CACHE in self._applied_for:
            Annotations.of(self).add_warning_v2(
                "cdk-ecr-ptc:immutablePullThroughCache",
                f"{mutability.value} tags stop pull-through cache from refreshing a tag that changes upstream; "
                "AWS recommends MUTABLE for cached repositories.",
            )

    def _encryption_configuration(
        self, encryption: ecr.RepositoryEncryption | None, key: kms.IKey | None
    ) -> _EncryptionConfiguration | None:
        if key is not None and encryption is None:
            encryption = ecr.RepositoryEncryption.KMS
        if encryption is None:
            return None
        kind = encryption.value
        region = facts(self).region
        if kind == "KMS_DSSE" and resolved(region) and not region.startswith("us-gov-"):
            raise fail(
                self,
                "KMS_DSSE encryption is only available in AWS GovCloud (US)",
                region,
                "Use RepositoryEncryption.KMS.",
            )
        if kind == "AES256" and key is not None:
            raise fail(
                self,
                "an encryption key needs KMS encryption",
                kind,
                "Use RepositoryEncryption.KMS, or remove encryption_key.",
            )
        if kind != "AES256" and key is None:
            raise fail(
                self,
                f"{kind} encryption needs encryption_key",
                None,
                "Pass the kms.IKey, so the template's role can be granted exactly that key.",
            )
        if key is not None:
            if getattr(key, "alias_name", None) is not None:
                raise fail(
                    self,
                    "the template's KMS key must be a key, not an alias",
                    key.node.path,
                    "Pass the alias's target key; ECR requires a full key ARN.",
                )
            if resolved(key.key_arn) and not _KMS_KEY_ARN.fullmatch(key.key_arn):
                raise fail(
                    self,
                    "the template's KMS key must be given by its full key ARN",
                    key.key_arn,
                    "Import it with kms.Key.from_key_arn('arn:aws:kms:<region>:<account>:key/<id>').",
                )
        return _EncryptionConfiguration(encryption_type=kind, kms_key=key.key_arn if key else None)


def _shortcut_rules(keep_last_images: int | None, expire_untagged_after: Duration | None) -> list[ecr.LifecycleRule]:
    rules = []
    if expire_untagged_after is not None:
        rules.append(
            ecr.LifecycleRule(
                tag_status=ecr.TagStatus.UNTAGGED,
                max_image_age=expire_untagged_after,
                description="Expire untagged images",
            )
        )
    if keep_last_images is not None:
        rules.append(
            ecr.LifecycleRule(
                tag_status=ecr.TagStatus.ANY,
                max_image_count=keep_last_images,
                description=f"Keep the last {keep_last_images} images",
            )
        )
    return rules


def _pull_rules(expire_after: Duration | None, archive_after: Duration | None) -> list[CacheLifecycleRule]:
    """The ``RepositorySettings`` shortcuts by pull time: one ``any`` rule each."""
    rules = []
    if expire_after is not None:
        rules.append(
            CacheLifecycleRule(
                expire_if_not_pulled_for=expire_after,
                description=f"Expire images not pulled for {expire_after.to_human_string()}",
            )
        )
    if archive_after is not None:
        rules.append(
            CacheLifecycleRule(
                archive_if_not_pulled_for=archive_after,
                description=f"Archive images not pulled for {archive_after.to_human_string()}",
            )
        )
    return rules
