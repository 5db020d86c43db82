"""Reads pull-through cache rules, repository creation templates and the registry policy of a template."""

from dataclasses import dataclass, field
from typing import Any

from .evaluate import Statement
from .intrinsics import Env, Resolver
from .model import (
    PULL_THROUGH_CACHE,
    ROOT,
    SCOPE_METADATA,
    SCOPE_V1,
    SCOPE_V2,
    ecr_registry_of,
    most_specific,
    probe_repository,
    repository_arn,
)
from .principals import statements_of


@dataclass
class Rule:
    """An ``AWS::ECR::PullThroughCacheRule``: ``prefix`` resolved for evaluation, the rest for display."""

    logical_id: str
    stack: str
    prefix: str
    display: dict[str, str | None]
    custom_role_arn: str | None = None
    upstream_registry: tuple[str, str] | None = None
    upstream_prefix: str = ROOT
    template: "CreationTemplate | None" = None

    @property
    def name(self) -> str:
        """How the report names the rule: its ECR prefix, or its logical ID when that is not readable."""
        return self.display["ecr_repository_prefix"] or self.logical_id

    @property
    def repository_name(self) -> str:
        """The name of the probe cache repository: ``<prefix>/probe/image``, or ``probe/image`` for ROOT."""
        return probe_repository(self.prefix)

    def repository_arn(self, env: Env) -> str:
        """The ARN of the probe cache repository in ``env``."""
        return repository_arn(env.account, env.region, self.repository_name)

    def to_json(self, env: Env) -> dict[str, Any]:
        """The rule as the report's JSON schema describes it."""
        return {
            "logical_id": self.logical_id,
            "stack": self.stack,
            **self.display,
            "probe_repository_arn": self.repository_arn(env),
            "template": self.template.logical_id if self.template else None,
        }


@dataclass
class CreationTemplate:
    """An ``AWS::ECR::RepositoryCreationTemplate`` with its policies parsed."""

    logical_id: str
    prefix: str
    applied_for: list[str]
    has_tags: bool
    repository_policy: list[Statement] | None
    summary: dict[str, Any]
    rules: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The template as the report's JSON schema describes it."""
        return {"logical_id": self.logical_id, **self.summary, "rules": list(self.rules)}


@dataclass
class RegistryPolicy:
    """The statements of a registry's policy and its scope (``V1`` unless the library marked it ``V2``)."""

    statements: list[Statement] = field(default_factory=list)
    scope: str = SCOPE_V1
    scope_known: bool = False
    sources: list[str] = field(default_factory=list)


@dataclass
class Registry:
    """The private registry of one account and Region, as the assembly's stacks define it.

    ``key`` is ``<account>/<region>``, or ``stack <name>`` for an environment-agnostic stack (such
    stacks share a registry with no other).
    """

    key: str
    env: Env
    stacks: list[str] = field(default_factory=list)
    policy: RegistryPolicy = field(default_factory=RegistryPolicy)
    rules: list[Rule] = field(default_factory=list)
    templates: list[CreationTemplate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def resource_policies(self) -> list[list[Statement]]:
        """The registry policy and the templates' repository policies."""
        return [self.policy.statements] + [t.repository_policy for t in self.templates if t.repository_policy]


def read_rules(template: dict[str, Any], resolver: Resolver, stack: str) -> list[Rule]:
    """The pull-through cache rules of the template, in template order."""
    rules = []
    for logical_id, props in _of_type(template, "AWS::ECR::PullThroughCacheRule"):
        display = {
            "ecr_repository_prefix": resolver.display(props.get("EcrRepositoryPrefix")),
            "upstream_registry": resolver.display(props.get("UpstreamRegistry")),
            "upstream_registry_url": resolver.display(props.get("UpstreamRegistryUrl")),
            "upstream_repository_prefix": resolver.display(props.get("UpstreamRepositoryPrefix")),
            "credential_arn": resolver.display(props.get("CredentialArn")),
            "custom_role_arn": resolver.display(props.get("CustomRoleArn")),
        }
        prefix = resolver.resolve(props.get("EcrRepositoryPrefix", ROOT))
        role = resolver.resolve(props["CustomRoleArn"]) if "CustomRoleArn" in props else None
        upstream = ecr_registry_of(resolver.resolve(props.get("UpstreamRegistryUrl", "")))
        upstream_prefix = resolver.resolve(props.get("UpstreamRepositoryPrefix", ROOT))
        rules.append(Rule(logical_id, stack, prefix, display, role, upstream, upstream_prefix))
    return rules


def read_templates(template: dict[str, Any], resolver: Resolver) -> list[CreationTemplate]:
    """The repository creation templates of the template, in template order."""
    found = []
    for logical_id, props in _of_type(template, "AWS::ECR::RepositoryCreationTemplate"):
        applied_for = [resolver.resolve(item) for item in props.get("AppliedFor") or []]
        tags = [
            {"key": resolver.display(tag.get("Key")), "value": resolver.display(tag.get("Value"))}
            for tag in props.get("ResourceTags") or []
            if isinstance(tag, dict)
        ]
        notes: list[str] = []
        policy = None
        if "RepositoryPolicy" in props:
            document = resolver.json_document(props["RepositoryPolicy"])
            if document is None:
                notes.append("RepositoryPolicy is not a JSON object; it was ignored")
            else:
                policy = statements_of(document, f"repository policy of {logical_id}")
        encryption = props.get("EncryptionConfiguration") or {}
        if (tags or encryption.get("EncryptionType") in ("KMS", "KMS_DSSE")) and "CustomRoleArn" not in props:
            notes.append("uses tags or KMS without CustomRoleArn: ECR fails to create its repositories")
        summary = {
            "prefix": resolver.display(props.get("Prefix")),
            "applied_for": applied_for,
            "image_tag_mutability": resolver.display(props.get("ImageTagMutability")),
            "encryption": _encryption(encryption, resolver),
            "resource_tags": tags,
            "lifecycle_rules": _lifecycle(props.get("LifecyclePolicy"), resolver, notes),
            "repository_policy": None if policy is None else _policy_summary(policy),
            "custom_role_arn": resolver.display(props.get("CustomRoleArn")),
            "notes": notes,
        }
        prefix = resolver.resolve(props.get("Prefix", ""))
        found.append(CreationTemplate(logical_id, prefix, applied_for, bool(tags), policy, summary))
    return found


def read_registry_policy(template: dict[str, Any], resolver: Resolver, into: RegistryPolicy, stack: str) -> list[str]:
    """Adds the statements of every ``AWS::ECR::RegistryPolicy`` in the template to ``into``; returns notes.

    The scope is read from the ``cdk-ecr-ptc:registryPolicyScope`` resource metadata; a policy without
    it is judged as V1, the safe default.
    """
    notes: list[str] = []
    for logical_id, props, metadata in _with_metadata(template, "AWS::ECR::RegistryPolicy"):
        into.sources.append(f"{stack}/{logical_id}")
        document = resolver.json_document(props.get("PolicyText"))
        if document is None:
            notes.append(f"the PolicyText of {logical_id} is not a JSON object; it was ignored")
        into.statements += statements_of(document, f"registry policy {logical_id}")
        scope = metadata.get(SCOPE_METADATA)
        if scope in (SCOPE_V1, SCOPE_V2):
            into.scope, into.scope_known = str(scope), True
    return notes


def effective_template(templates: list[CreationTemplate], repository_name: str) -> CreationTemplate | None:
    """The template ECR applies to a new repository: the longest covering prefix, ROOT only as a fallback."""
    applying = [t for t in templates if PULL_THROUGH_CACHE in t.applied_for]
    prefix = most_specific([t.prefix for t in applying], repository_name)
    return next((t for t in applying if t.prefix == prefix), None)


def _with_metadata(template: dict[str, Any], type_name: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    resources = template.get("Resources") or {}
    return [
        (logical_id, resource.get("Properties") or {}, resource.get("Metadata") or {})
        for logical_id, resource in resources.items()
        if isinstance(resource, dict) and resource.get("Type") == type_name
    ]


def _of_type(template: dict[str, Any], type_name: str) -> list[tuple[str, dict[str, Any]]]:
    return [(logical_id, props) for logical_id, props, _ in _with_metadata(template, type_name)]


def _encryption(config: dict[str, Any], resolver: Resolver) -> str | None:
    kind = resolver.display(config.get("EncryptionType"))
    key = resolver.display(config.get("KmsKey"))
    return f"{kind} ({key})" if kind and key else kind


def _lifecycle(value: Any, resolver: Resolver, notes: list[str]) -> list[str]:
    """One sentence per lifecycle rule, by priority, e.g. ``keep the last 50 images``."""
    if value is None:
        return []
    document = resolver.json_document(value)
    rules = document.get("rules") if document else None
    if not isinstance(rules, list):
        notes.append("LifecyclePolicy could not be read as a lifecycle policy")
        return []
    ordered = sorted((r for r in rules if isinstance(r, dict)), key=lambda r: r.get("rulePriority", 0))
    return [lifecycle_sentence(rule) for rule in ordered]


def lifecycle_sentence(rule: dict[str, Any]) -> str:
    """A lifecycle rule in the words a person would use.

    For example "keep the last 5 images tagged v*", "expire untagged after 14 days", "expire if not
    pulled for 30 days", "archive if not pulled for 90 days", "expire 30 days after archiving".
    """
    selection = rule.get("selection") or {}
    action = rule.get("action") or {}
    verb = "archive" if action.get("type") == "transition" else "expire"
    count = selection.get("countNumber", "?")
    unit = str(selection.get("countUnit", "days"))
    period = f"{count} {unit.rstrip('s') if count == 1 else unit}"
    subject = _subject(selection)
    kind = selection.get("countType")
    if kind == "imageCountMoreThan":
        images = subject if "images" in subject else f"{subject} images".strip()
        return f"keep the last {count} {images}" if verb == "expire" else f"archive all but the last {count} {images}"
    if kind == "sinceImagePushed":
        return f"{verb} {subject or 'images'} after {period}"
    if kind == "sinceImagePulled":
        return f"{verb}{' ' + subject if subject else ''} if not pulled for {period}"
    if kind == "sinceImageTransitioned":
        return f"{verb}{' ' + subject if subject else ''} {period} after archiving"
    return f"{verb} {subject or 'images'} ({kind})"


def _subject(selection: dict[str, Any]) -> str:
    """What a lifecycle rule selects: "", "untagged", "images tagged v*", "archived images tagged v*"."""
    archived = selection.get("storageClass") == "archive"
    status = selection.get("tagStatus", "any")
    patterns = [f"{p}*" for p in selection.get("tagPrefixList") or []] + list(selection.get("tagPatternList") or [])
    if status == "untagged":
        return "archived untagged" if archived else "untagged"
    if status == "tagged" and patterns:
        return f"{'archived ' if archived else ''}images tagged {', '.join(map(str, patterns))}"
    if status == "tagged":
        return f"{'archived ' if archived else ''}tagged images"
    return "archived images" if archived else ""


def _policy_summary(statements: list[Statement]) -> dict[str, Any]:
    principals: list[str] = []
    for statement in statements:
        spec = statement.body.get("Principal")
        values = spec.get("AWS", []) if isinstance(spec, dict) else spec
        for value in values if isinstance(values, list) else [values]:
            if value is not None and str(value) not in principals:
                principals.append(str(value))
    return {"statements": len(statements), "principals": principals}
