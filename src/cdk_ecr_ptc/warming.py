"""Cache warming: a custom resource that pulls images through the cache during the deploy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import jsii
from aws_cdk import Aspects as CdkAspects
from aws_cdk import CfnResource, CustomResource, Duration, IAspect, Lazy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from ._env import resolved
from ._jsii import Producer
from ._lambda import RUNTIME, handler_code, lambda_role, log_group
from ._nag import acknowledge_wildcards
from ._reference import RuleInfo, route
from ._validation import Interface, Items, check_arguments, check_construct, fail
from .creation_template import RepositoryCreationTemplate
from .exclusion import PullTimeUpdateExclusion
from .handlers.warm import Image
from .images import InvalidImageReference
from .registry_policy import RegistryPolicy
from .roles import library_role_name

if TYPE_CHECKING:
    from .rule import PullThroughCacheRule

#: What the warmer calls on the rules' repositories. ``BatchGetImage`` also authorizes
#: ``ecr:BatchImportUpstreamImage`` and ``ecr:CreateRepository`` (and ``ecr:TagResource`` when a template
#: tags, added by the grant), ``GetDownloadUrlForLayer`` also ``ecr:BatchImportUpstreamImage`` (the service
#: authorization reference's API table). No ``ecr:GetAuthorizationToken``: that is for Docker clients only.
WARM_ACTIONS = (
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:DescribeImages",
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
)
#: The longest a Lambda function runs, less the margin the handler keeps to answer CloudFormation.
MAX_BUDGET_SECONDS = 840
#: What the handler spends per image besides polling ``DescribeImages`` (pulls and retries).
PULL_SECONDS = 30
#: Added to a list's time for the Provider framework's own work, in ``ServiceTimeout``.
FRAMEWORK_SECONDS = 120
#: checkov findings on the warmer's two functions, with the reasons they do not apply.
_CHECKOV_SKIPS = (
    (
        "CKV_AWS_115",
        "Runs only during deploys, invoked by CloudFormation; reserved concurrency would take "
        "capacity from the account for nothing.",
    ),
    (
        "CKV_AWS_116",
        "Invoked synchronously through the Provider framework, which reports every failure to "
        "CloudFormation; a dead-letter queue would receive nothing.",
    ),
    ("CKV_AWS_117", "Calls only the ECR API; a VPC would need NAT or endpoints and adds nothing."),
    ("CKV_AWS_173", "The framework's environment holds only the warming function's ARN, not a secret."),
)


@dataclass(frozen=True)
class WarmImage:
    """An image to warm, named by a rule and a repository path of the rule's upstream.

    Attributes:
        rule: the rule to pull through.
        repository: the upstream repository path, as for :meth:`PullThroughCacheRule.image_uri`
            (``nginx`` on Docker Hub is ``library/nginx``).
        tag: the tag; images are warmed by tag, since a first pull by digest is not cached.
    """

    rule: PullThroughCacheRule
    repository: str
    tag: str

    def __post_init__(self) -> None:
        check_arguments(
            "WarmImage",
            rule=(self.rule, Interface("PullThroughCacheRule", "grant_pull")),
            repository=(self.repository, str),
            tag=(self.tag, str),
        )


def rule_info(rule: PullThroughCacheRule) -> RuleInfo:
    """What routing needs of ``rule``."""
    upstream = rule.upstream
    return RuleInfo(
        prefix=rule.prefix, upstream_url=upstream.url, upstream_repository_prefix=upstream.upstream_repository_prefix
    )


class CacheWarming(Construct):
    """Defines a custom resource (``Custom::PullThroughCacheWarming``) that pulls images through the cache.

    During the deploy it calls ``BatchGetImage`` by tag (accepting multi-architecture indexes),
    ``GetDownloadUrlForLayer`` for every layer of every platform (or of ``platforms``), and polls
    ``DescribeImages`` until the image is there. It runs after the stack's rules, their validation,
    the registry policy and the creation templates, so templates apply to the repositories it
    creates, and again only when the list or a rule changes. An upstream failure fails the deploy
    with the code, the reason, the image and the rule, unless ``fail_on_error`` is off.

    One Lambda function per stack serves every warming; its role may only make those calls on the
    listed rules' repositories, and is registered by default as a pull time update exclusion so that
    warming does not count as a pull for ``sinceImagePulled`` eviction.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        rules: Sequence[PullThroughCacheRule],
        images: Sequence[str | WarmImage],
        through: PullThroughCacheRule | None = None,
        platforms: Sequence[str] = (),
        fail_on_error: bool = True,
        concurrency: int = 2,
        time_per_image: Duration | None = None,
        exclude_from_pull_time: bool = True,
    ) -> None:
        """
        Args:
            scope: the cache or the rule.
            id: the construct id.
            rules: the rules a reference may be routed to.
            images: references (``"nginx:1.27"``, ``"quay.io/prometheus/prometheus:v2.53.0"``) or
                :class:`WarmImage`; at least one.
            through: read references without a registry host as paths of this rule's upstream.
                Default: - Docker Hub, as Docker reads them.
            platforms: ``os/architecture[/variant]`` of a multi-architecture image to warm, such as
                ``linux/amd64``. Default: - every platform.
            fail_on_error: fail the deploy when an image cannot be warmed. Default: ``True``; ``False``
                reports the failure as a warning in the response data (``Warning``) and the log.
            concurrency: images warmed at once; each counts against the upstream's rate limit. Default: 2.
            time_per_image: how long one image may take (its ``DescribeImages`` polling is this less 30 s).
                Default: - 3 minutes.
            exclude_from_pull_time: register the warmer's role as a pull time update exclusion. The role is
                shared by every warming of the stack, so it is excluded when any of them asks. Default: ``True``.
        """
        from .rule import PullThroughCacheRule  # only then: rule.py imports this module lazily too

        check_construct(
            "CacheWarming",
            scope,
            id,
            rules=(rules, Items(PullThroughCacheRule)),
            images=(images, Items((str, WarmImage))),
            through=(through, (PullThroughCacheRule, None)),
            platforms=(platforms, Items(str)),
            fail_on_error=(fail_on_error, bool),
            concurrency=(concurrency, int),
            time_per_image=(time_per_image, (Duration, None)),
            exclude_from_pull_time=(exclude_from_pull_time, bool),
        )
        super().__init__(scope, id)
        if not images:
            raise fail(self, "warm needs at least one image", list(images), "Name the images to warm.")
        if not 1 <= concurrency <= 10:
            raise fail(self, "concurrency must be 1-10", concurrency, "Warm a few images at a time.")
        per_image = (time_per_image or Duration.minutes(3)).to_seconds()
        if not PULL_SECONDS + 10 <= per_image <= MAX_BUDGET_SECONDS:
            raise fail(
                self,
                f"time_per_image must be {PULL_SECONDS + 10}-{MAX_BUDGET_SECONDS} seconds",
                per_image,
                "Use Duration.minutes(3), the time AWS's own solution polls for.",
            )
        for platform in platforms:
            if not 2 <= len(platform.split("/")) <= 3 or not all(platform.split("/")):
                raise fail(self, "a platform is os/architecture[/variant]", platform, "Use e.g. 'linux/amd64'.")
        routed = [self._image(image, rules, through) for image in images]
        resolved_images = [image for image, _ in routed]
        if len({str(image) for image in resolved_images}) != len(resolved_images):
            raise fail(
                self, "an image is listed twice", [str(image) for image in resolved_images], "List each image once."
            )
        self._images = resolved_images
        self._rules = list(dict.fromkeys(rule for _, rule in routed))
        budget = math.ceil(len(resolved_images) / concurrency) * per_image
        if budget > MAX_BUDGET_SECONDS:
            raise fail(
                self,
                f"warming this list can take {budget:g} s, more than a Lambda's {MAX_BUDGET_SECONDS} s",
                len(resolved_images),
                "Raise concurrency, lower time_per_image, or warm fewer images (or warm in two stacks).",
            )
        self._budget = int(budget)
        warmer = WarmingFunction.of(self)
        warmer.fit(self._budget)
        warmer.grant(self._rules)
        properties = {
            "Images": [image.as_properties() for image in resolved_images],
            "Platforms": list(platforms),
            "FailOnError": "true" if fail_on_error else "false",
            "Concurrency": str(concurrency),
            "PollSeconds": str(int(per_image - PULL_SECONDS)),
            "BudgetSeconds": str(self._budget),
            # A rule that changes (upstream, credentials, role) warms again.
            "Rules": [_fingerprint(rule) for rule in self._rules],
        }
        self._resource = CustomResource(
            self,
            "Resource",
            service_token=warmer.service_token,
            resource_type="Custom::PullThroughCacheWarming",
            properties=properties,
            service_timeout=Duration.seconds(self._budget + FRAMEWORK_SECONDS),
        )
        if exclude_from_pull_time:
            self._resource.node.add_dependency(warmer.exclusion())
        CdkAspects.of(self).add(_AfterTheCache(self._resource, self._rules))

    @property
    def images(self) -> list[Image]:
        """The images, as the handler warms them (cache repository and tag)."""
        return list(self._images)

    @property
    def budget(self) -> Duration:
        """The time the list may take: the handler stops starting images after it."""
        return Duration.seconds(self._budget)

    @property
    def resource(self) -> CustomResource:
        """The custom resource."""
        return self._resource

    def _image(
        self, image: str | WarmImage, rules: Sequence[PullThroughCacheRule], through: PullThroughCacheRule | None
    ) -> tuple[Image, PullThroughCacheRule]:
        """The image to warm for ``image``, and the rule it is pulled through; synth errors for bad references."""
        try:
            if isinstance(image, WarmImage):
                if image.rule not in rules:
                    raise fail(
                        self,
                        "the image's rule is not one of the rules warmed here",
                        image.rule.node.path,
                        "Use a rule of this cache.",
                    )
                text = f"{image.repository}:{image.tag}"
                if not resolved(text):
                    raise fail(self, "an image to warm must be a concrete string", text, "Pass literals.")
                found = route(text, [], upstream_of=rule_info(image.rule))
                return Image(
                    repository=found.repository, tag=found.tag, rule=image.rule.prefix, reference=text
                ), image.rule
            if not resolved(image):
                raise fail(
                    self,
                    "an image to warm must be a concrete string (it is checked at synth)",
                    image,
                    "Pass a literal reference such as 'nginx:1.27'.",
                )
            found = route(
                image,
                [rule_info(rule) for rule in rules],
                upstream_of=rule_info(through) if through is not None else None,
            )
            rule = through or next(rule for rule in rules if rule.prefix == found.rule.prefix)
            return Image(
                repository=found.repository, tag=found.tag, rule=found.rule.prefix, reference=image, digest=found.digest
            ), rule
        except InvalidImageReference as bad:
            raise fail(self, bad.problem, bad.value, bad.fix) from None


def _fingerprint(rule: PullThroughCacheRule) -> dict[str, str]:
    resource = rule.node.default_child
    return {
        "Prefix": rule.prefix,
        "UpstreamUrl": rule.upstream.url,
        "CredentialArn": getattr(resource, "credential_arn", None) or "",
        "CustomRoleArn": getattr(resource, "custom_role_arn", None) or "",
    }


@jsii.implements(IAspect)
class _AfterTheCache:
    """Makes the warming depend on what exists only at synth: the stack's registry policy and templates."""

    def __init__(self, resource: CustomResource, rules: Sequence[PullThroughCacheRule]) -> None:
        self._resource = resource
        self._rules = rules
        self._done = False

    def visit(self, node: IConstruct) -> None:
        if self._done:
            return
        self._done = True
        stack = Stack.of(self._resource)
        for rule in self._rules:
            self._resource.node.add_dependency(rule)
        policy = stack.node.try_find_child(RegistryPolicy.ID)
        if policy is not None:
            self._resource.node.add_dependency(policy)
        for construct in stack.node.find_all():
            if isinstance(construct, RepositoryCreationTemplate) and construct.applies_to_pull_through_cache:
                self._resource.node.add_dependency(construct)


class WarmingFunction(Construct):
    """Defines the stack's one warming function, behind a ``custom_resources.Provider``, with its role."""

    ID = "PullThroughCacheWarmer"

    @classmethod
    def of(cls, scope: IConstruct) -> WarmingFunction:
        """Returns the warmer of ``scope``'s stack, defining it on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.ID)
        return existing if isinstance(existing, WarmingFunction) else cls(stack, cls.ID)

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._budgets: list[int] = []
        self._granted: list[PullThroughCacheRule] = []
        self._exclusion: PullTimeUpdateExclusion | None = None
        self.role = lambda_role(self, "Role", "Warms the ECR pull-through cache during deploys")
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=library_role_name(self),
            runtime=RUNTIME,
            handler="warm.handler",
            code=handler_code(),
            role=self.role,
            log_group=log_group(self, "Logs", library_role_name(self), self.role),
            memory_size=256,
            timeout=Duration.minutes(15),
            description="Pulls images through the ECR pull-through cache",
        )
        # The function's timeout is the longest list's time plus a margin, once every list is known.
        cast(CfnResource, self.function.node.default_child).add_property_override(
            "Timeout", Lazy.any(Producer(lambda: max(self._budgets, default=60) + 30))
        )
        framework = Construct(self, "Framework")
        framework_role = lambda_role(framework, "Role", "Runs the custom resource framework of the cache warmer")
        provider_logs = log_group(framework, "Logs", library_role_name(framework), framework_role)
        acknowledge_wildcards(
            framework_role,
            [f"{self.function.function_arn}:*"],
            reason=(
                "The Provider framework may invoke every version of the warming function; the wildcard is that "
                "function's versions."
            ),
        )
        self._provider = cr.Provider(
            framework,
            "Provider",
            on_event_handler=self.function,
            provider_function_name=library_role_name(framework),
            framework_on_event_role=framework_role,
            log_group=provider_logs,
        )
        framework_function = self._provider.node.find_child("framework-onEvent")
        for function, checks in ((self.function, _CHECKOV_SKIPS[:3]), (framework_function, _CHECKOV_SKIPS)):
            cast(CfnResource, function.node.default_child).add_metadata(
                "checkov", {"skip": [{"id": check, "comment": comment} for check, comment in checks]}
            )

    @property
    def service_token(self) -> str:
        """The Provider's service token."""
        return self._provider.service_token

    def fit(self, budget: int) -> None:
        """Makes the function's timeout fit a list that may take ``budget`` seconds."""
        self._budgets.append(budget)

    def grant(self, rules: Sequence[PullThroughCacheRule]) -> None:
        """Lets the role warm through ``rules`` (once per rule), with ``ecr:TagResource`` where a template tags."""
        from .rule import grant_on_rules  # rule imports this module's construct lazily

        new = [rule for rule in rules if rule not in self._granted]
        if new:
            self._granted.extend(new)
            grant_on_rules(new, self.role, WARM_ACTIONS)

    def exclusion(self) -> PullTimeUpdateExclusion:
        """The pull time update exclusion of the role, defined on first use."""
        if self._exclusion is None:
            self._exclusion = PullTimeUpdateExclusion(self, "PullTimeExclusion", principal=self.role)
        return self._exclusion
