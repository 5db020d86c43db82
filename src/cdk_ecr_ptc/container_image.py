"""An ECS container image pulled through a pull-through cache rule, granted on bind."""

from __future__ import annotations

from aws_cdk import aws_ecs as ecs
from constructs import Construct

from ._validation import Interface, check_arguments
from .rule import PullThroughCacheRuleBase


class PullThroughCacheContainerImage(ecs.ContainerImage):
    """An image pulled through a pull-through cache rule; binding it to a container grants the task's
    execution role :meth:`PullThroughCacheRuleBase.grant_pull` on that rule.

    Since the grant is made, CDK's ``@aws-cdk/aws-ecs:ecrImageRequiresPolicy`` warning (which
    ``ContainerImage.from_registry`` gives for ECR URIs) does not apply and is not raised.
    Build it with :meth:`PullThroughCache.container_image`.
    """

    def __init__(self, rule: PullThroughCacheRuleBase, image_uri: str) -> None:
        """
        Args:
            rule: the rule the image is pulled through.
            image_uri: the image's URI through the rule (``rule.image_uri(...)``).
        """
        check_arguments(
            "PullThroughCacheContainerImage",
            rule=(rule, Interface("PullThroughCacheRuleBase", "grant_pull")),
            image_uri=(image_uri, str),
        )
        super().__init__()
        self._rule = rule
        self._image_uri = image_uri

    @property
    def image_uri(self) -> str:
        """The image's URI through the cache."""
        return self._image_uri

    def bind(self, scope: Construct, container_definition: ecs.ContainerDefinition) -> ecs.ContainerImageConfig:
        """Grants the task's execution role the pull, and returns the image's URI.

        Args:
            scope: the container definition's scope.
            container_definition: the container definition the image is bound to.
        """
        check_arguments(
            self._rule, scope=(scope, Construct), container_definition=(container_definition, ecs.ContainerDefinition)
        )
        self._rule.grant_pull(container_definition.task_definition.obtain_execution_role())
        return ecs.ContainerImageConfig(image_name=self._image_uri)
