"""Update safety: the replacements of custom-named resources that an update from a baseline would carry out.

CloudFormation replaces a resource when a create-only property changes (the resource type's schema
lists them) or when its logical ID changes, and it creates the new resource before it deletes the old
one. A new resource with the old one's name (a pull-through cache rule's prefix, a template's prefix,
a secret's name) therefore collides, and a registry policy, which is one per registry, is deleted by
the clean-up after its successor was written. ``cdk diff`` shows the replacement, not that it fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .findings import Finding, StackView
from .resolve import Unresolved

TWO_DEPLOYS = "Or take two deploys: first remove the old resource (deploy), then add the new one (deploy)."


def baseline_findings(current: list[StackView], baseline: list[StackView], schemas: Any) -> Iterator[Finding]:
    """Flags each change from ``baseline`` to ``current`` that replaces a custom-named resource or drops a policy."""
    old_by_name = {view.stack.name: view for view in baseline}
    for new in current:
        old = old_by_name.get(new.stack.name)
        if old is not None:
            yield from _stack_changes(old, new, schemas)


def _stack_changes(old: StackView, new: StackView, schemas: Any) -> Iterator[Finding]:
    old_names = {_name_key(old, lid): lid for lid in old.resources if _name_key(old, lid)}
    for logical_id, resource in new.resources.items():
        kind = str(resource.get("Type"))
        before = old.resources.get(logical_id)
        if before is not None and before.get("Type") == kind:
            yield from _replacement(old, new, logical_id, schemas)
            continue
        key = _name_key(new, logical_id)
        moved = old_names.get(key) if key else None
        if moved is not None and moved not in new.resources:
            name = key[1] if key else ""
            yield new.finding(
                "replacement",
                logical_id,
                name,
                f"the logical ID changed from {moved} to {logical_id}: CloudFormation creates the new {kind} "
                f"before it deletes the old one, and both are named '{name}', so the create fails",
                f"Keep the logical ID {moved} (keep the construct id, or override_logical_id). {TWO_DEPLOYS}",
            )
    old_policies = dict(old.of_type("AWS::ECR::RegistryPolicy"))
    new_policies = dict(new.of_type("AWS::ECR::RegistryPolicy"))
    for logical_id in old_policies.keys() - new_policies.keys():
        if new_policies:
            problem = (
                f"the registry policy moves from {logical_id} to {', '.join(sorted(new_policies))}: the new "
                "one is written first, then the clean-up deletes the old one, which deletes the registry's "
                "only policy, the new one included"
            )
            fix = f"Keep the logical ID {logical_id}. {TWO_DEPLOYS}"
        else:
            problem = "the registry policy is deleted: cross-account pulls and the cache's registry grants stop"
            fix = "Keep a RegistryPolicy in this stack, or move it to its new stack in two deploys (add, then remove)."
        yield old.finding("registry-policy-deleted", logical_id, old.path(logical_id), problem, fix)


def _replacement(old: StackView, new: StackView, logical_id: str, schemas: Any) -> Iterator[Finding]:
    kind = str(new.resources[logical_id].get("Type"))
    try:
        schema = schemas(new.stack.region, kind)
    except Exception:
        return
    create_only = sorted({p.split("/")[2] for p in schema.get("createOnlyProperties") or [] if p.count("/") >= 2})
    old_props, new_props = old.resolver.properties(logical_id), new.resolver.properties(logical_id)
    changed = [p for p in create_only if _canonical(old_props.get(p)) != _canonical(new_props.get(p))]
    if not changed:
        return
    old_name, new_name = _name_key(old, logical_id), _name_key(new, logical_id)
    retained = str(old.resources[logical_id].get("UpdateReplacePolicy")) == "Retain"
    if new_name is not None and old_name == new_name:
        yield new.finding(
            "replacement",
            logical_id,
            f"{', '.join(changed)} changed; name '{new_name[1]}' kept",
            f"{', '.join(changed)} {'is' if len(changed) == 1 else 'are'} create-only, so CloudFormation replaces "
            f"the {kind}; the replacement keeps the name '{new_name[1]}', which the old one still holds, so the "
            "update fails",
            f"Move to a new name (for a rule or template: a new prefix). {TWO_DEPLOYS}",
        )
    elif kind == "AWS::ECR::RepositoryCreationTemplate":
        yield new.finding(
            "replacement",
            logical_id,
            f"Prefix '{old_name[1] if old_name else ''}' -> '{new_name[1] if new_name else ''}'",
            "the creation template is replaced under its new prefix: repositories already created under the old "
            "prefix keep their settings, and new repositories there get none",
            "Keep the prefix, or add the new template beside the old one and remove the old one in a later deploy.",
        )
    elif retained and kind == "AWS::SecretsManager::Secret":
        yield new.finding(
            "replacement",
            logical_id,
            f"{', '.join(changed)} changed",
            "the secret is replaced and the old one is retained (UpdateReplacePolicy Retain): the rules now read a "
            "new secret without your upstream token, and the old one stays behind",
            "Keep the secret's name, or put the token into the new secret before the rules use it, then delete the "
            "old secret by hand.",
        )


def _name_key(view: StackView, logical_id: str) -> tuple[str, str] | None:
    """(type, custom name) of a resource with a fixed name; registry policies are keyed by their registry."""
    resource = view.resources[logical_id]
    kind = str(resource.get("Type"))
    if kind == "AWS::ECR::RegistryPolicy":
        return None
    named = view.resolver.custom_name(logical_id)
    return (kind, named[1]) if named else None


def _canonical(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, Unresolved):
        return repr(value)
