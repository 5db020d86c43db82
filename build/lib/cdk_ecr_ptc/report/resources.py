"""Reads pull-through cache rules, repository creation templates and the registry policy of a template."""

from dataclasses import dataclass, field
from typing import Any

from .evaluate import Statement
from .intrinsics import Env, Resolver
from .principals import statements_of

#: The repository a first pull is checked against, under each rule's prefix.
PROBE = "probe/image"
ROOT = "ROOT"
PULL_THROUGH_CACHE = "PULL_THROUGH_CACHE"


@dataclass
class Rule:
    """An ``AWS::ECR::PullThroughCacheRule``: ``prefix`` resolved for evaluation, the rest for display."""

    logical_id: str
    prefix: str
    display: dict[str, str | None]
    template: "CreationTemplate | None" = None

    @property
    def repository_name(self) -> str:
        """The name of the probe cache repository: ``<prefix>/probe/image``, or ``probe/image`` for ROOT."""
        return PROBE if self.prefix == ROOT else f"{self.prefix.rstrip('/')}/{PROBE}"

    def repository_arn(self, env: Env) -> str:
        """The ARN of the probe cache repository in ``env``."""
        return f"arn:{env.partition}:ecr:{env.region}:{env.account}:repository/{self.repository_name}"

    def to_json(self, env: Env) -> dict[str, Any]:
        """The rule as the report's JSON schema describes it."""
        return {
            "logical_id": self.logical_id,
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

    def covers(self, repository_name: str) -> bool:
        """Whether the template applies to a new cache repository of that name (ROOT covers all)."""
        if PULL_THROUGH_CACHE not in self.applied_for:
            return False
        return self.prefix == ROOT or repository_name.startswith(self.prefix.rstrip("/") + "/")

    def to_json(self) -> dict[str, Any]:
        """The template as the report's JSON schema describes it."""
        return {"logical_id": self.logical_id, **self.summary, "rules": list(self.rules)}


def read_rules(template: dict[str, Any], resolver: Resolver) -> list[Rule]:
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
        rules.append(Rule(logical_id, prefix, display))
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


def read_registry_policy(template: dict[str, Any], resolver: Resolver) -> tuple[list[Statement], list[str]]:
    """The statements of every ``AWS::ECR::RegistryPolicy`` in the template, and notes about them."""
    statements: list[Statement] = []
    notes: list[str] = []
    policies = list(_of_type(template, "AWS::ECR::RegistryPolicy"))
    if len(policies) > 1:
        notes.append(f"{len(policies)} registry policies: a registry keeps only one, so deploying fails")
    for logical_id, props in policies:
        document = resolver.json_document(props.get("PolicyText"))
        if document is None:
            notes.append(f"the PolicyText of {logical_id} is not a JSON object; it was ignored")
        statements += statements_of(document, f"registry policy {logical_id}")
    return statements, notes


def effective_template(templates: list[CreationTemplate], repository_name: str) -> CreationTemplate | None:
    """The template ECR applies to a new repository: the longest covering prefix, ROOT only as a fallback."""
    covering = [t for t in templates if t.covers(repository_name)]
    specific = [t for t in covering if t.prefix != ROOT]
    if specific:
        return max(specific, key=lambda t: len(t.prefix.rstrip("/")))
    return covering[0] if covering else None


def _of_type(template: dict[str, Any], type_name: str) -> list[tuple[str, dict[str, Any]]]:
    resources = template.get("Resources") or {}
    return [
        (logical_id, resource.get("Properties") or {})
        for logical_id, resource in resources.items()
        if isinstance(resource, dict) and resource.get("Type") == type_name
    ]


def _encryption(config: dict[str, Any], resolver: Resolver) -> str | None:
    kind = resolver.display(config.get("EncryptionType"))
    key = resolver.display(config.get("KmsKey"))
    return f"{kind} ({key})" if kind and key else kind


def _lifecycle(value: Any, resolver: Resolver, notes: list[str]) -> list[str]:
    """One line per lifecycle rule, by priority, e.g. ``#1 expire untagged older than 14 days``."""
    if value is None:
        return []
    document = resolver.json_document(value)
    rules = document.get("rules") if document else None
    if not isinstance(rules, list):
        notes.append("LifecyclePolicy could not be read as a lifecycle policy")
        return []
    lines = []
    for rule in sorted((r for r in rules if isinstance(r, dict)), key=lambda r: r.get("rulePriority", 0)):
        selection = rule.get("selection") or {}
        words = [f"#{rule.get('rulePriority', '?')}", (rule.get("action") or {}).get("type", "expire")]
        words.append(str(selection.get("tagStatus", "any")))
        for key in ("tagPrefixList", "tagPatternList"):
            if selection.get(key):
                words.append(f"tags {','.join(map(str, selection[key]))}")
        count = selection.get("countNumber")
        if selection.get("countType") == "imageCountMoreThan":
            words.append(f"beyond {count} images")
        elif selection.get("countType") == "sinceImagePushed":
            words.append(f"older than {count} {selection.get('countUnit', 'days')}")
        elif selection.get("countType") == "sinceImagePulled":  # CacheLifecycleRule
            words.append(f"not pulled for {count} {selection.get('countUnit', 'days')}")
        elif selection.get("countType") == "sinceImageTransitioned":
            words.append(f"archived for {count} {selection.get('countUnit', 'days')}")
        if (rule.get("action") or {}).get("targetStorageClass"):
            words.append(f"to {rule['action']['targetStorageClass']}")
        lines.append(" ".join(words))
    return lines


def _policy_summary(statements: list[Statement]) -> dict[str, Any]:
    principals: list[str] = []
    for statement in statements:
        spec = statement.body.get("Principal")
        values = spec.get("AWS", []) if isinstance(spec, dict) else spec
        for value in values if isinstance(values, list) else [values]:
            if value is not None and str(value) not in principals:
                principals.append(str(value))
    return {"statements": len(statements), "principals": principals}
