"""Lifecycle policies: ``aws_ecr.LifecycleRule`` rendered exactly as CDK renders a repository's, and
:class:`CacheLifecycleRule` for what CDK cannot express (``sinceImagePulled``, the archive storage class).

CDK renders a repository's lifecycle policy privately, so this module mirrors its rules (the
checks of ``Repository.addLifecycleRule`` and the ordering of ``orderedLifecycleRules``) and adds
the ones the service enforces on top: unique priorities, at most 50 rules, and the syntax of the
ECR user guide (``lifecycle_policy_parameters.html``, ``lifecycle_policy_examples.html``), which
:func:`check_policy` checks on the rendered JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_ecr as ecr
from constructs import IConstruct

from ._validation import Items, check_arguments, fail

#: Rules per lifecycle policy (not adjustable).
MAX_RULES = 50
#: Archived images have a 90-day minimum storage duration; a lifecycle policy cannot delete an image
#: archived less than 90 days ago (user guide ``archive-image.html``).
ARCHIVE_MINIMUM_DAYS = 90
_TAG_STATUS = {ecr.TagStatus.ANY: "any", ecr.TagStatus.TAGGED: "tagged", ecr.TagStatus.UNTAGGED: "untagged"}
#: The service's values (``lifecycle_policy_examples.html``, the policy template).
STORAGE_CLASSES = ("standard", "archive")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")
ACTION_TYPES = ("expire", "transition")


@dataclass(frozen=True, kw_only=True)
class CacheLifecycleRule:
    """A lifecycle rule for cached images, by pull time or storage class; give exactly one of the three ages.

    Accepted wherever ``lifecycle_rules`` is, next to ``aws_ecr.LifecycleRule``s. Images that a
    warmer excluded with ``PullTimeUpdateExclusion`` pulls do not count as pulled.

    Attributes:
        expire_if_not_pulled_for: expires images not pulled for this many whole days (``sinceImagePulled``).
        archive_if_not_pulled_for: moves images not pulled for this many whole days to the archive storage
            class (``transition`` to ``archive``). Archived images cannot be pulled (404) until restored.
        expire_archived_after: expires images archived for this many whole days, at least 90
            (``storageClass: archive``, ``sinceImageTransitioned``).
        tag_status: the images the rule selects. Default: - ``TAGGED`` with a tag list, else ``ANY``.
        tag_prefix_list: tag prefixes (needs ``TAGGED``). Default: - none.
        tag_pattern_list: tag wildcard patterns (needs ``TAGGED``). Default: - none.
        rule_priority: the priority. Default: - numbered after the prioritized rules; ``ANY`` rules last.
        description: the rule's description. Default: - none.
    """

    expire_if_not_pulled_for: Duration | None = None
    archive_if_not_pulled_for: Duration | None = None
    expire_archived_after: Duration | None = None
    tag_status: ecr.TagStatus | None = None
    tag_prefix_list: Sequence[str] | None = None
    tag_pattern_list: Sequence[str] | None = None
    rule_priority: int | None = None
    description: str | None = None

    @property
    def storage_class(self) -> str:
        """The storage class the rule selects."""
        return "archive" if self.expire_archived_after is not None else "standard"


AnyLifecycleRule = ecr.LifecycleRule | CacheLifecycleRule


def _tag_status(rule: AnyLifecycleRule) -> ecr.TagStatus:
    if rule.tag_status is not None:
        return rule.tag_status
    return ecr.TagStatus.ANY if rule.tag_prefix_list is None and rule.tag_pattern_list is None else ecr.TagStatus.TAGGED


def _check_tags(scope: IConstruct, rule: AnyLifecycleRule, status: ecr.TagStatus) -> None:
    lists = (rule.tag_prefix_list, rule.tag_pattern_list)
    if status is ecr.TagStatus.TAGGED and not any(lists):
        raise fail(
            scope,
            "a TAGGED lifecycle rule needs tag_prefix_list or tag_pattern_list",
            rule.description,
            "Add tag_prefix_list=[...] or tag_pattern_list=[...], or use TagStatus.ANY/UNTAGGED.",
        )
    if status is not ecr.TagStatus.TAGGED and any(item is not None for item in lists):
        raise fail(
            scope,
            "tag_prefix_list and tag_pattern_list need tag_status=TagStatus.TAGGED",
            _TAG_STATUS[status],
            "Set tag_status=TagStatus.TAGGED or remove the lists.",
        )
    if all(item is not None for item in lists):
        raise fail(
            scope, "a lifecycle rule takes tag_prefix_list or tag_pattern_list, not both", lists, "Keep one of them."
        )
    for pattern in rule.tag_pattern_list or ():
        if pattern.count("*") > 4:
            raise fail(scope, "a tag pattern has more than four wildcards", pattern, "Use at most four '*'.")


def _whole_days(scope: IConstruct, field: str, age: Duration, minimum: int = 1) -> int:
    days = age.to_days(integral=False)
    if days < minimum or days % 1:
        raise fail(
            scope,
            f"{field} must be a whole number of days, at least {minimum}"
            if minimum > 1
            else f"{field} must be a whole number of days, at least one",
            age.to_human_string(),
            f"Use whole days, such as Duration.days({minimum})."
            + (
                " Archived images have a 90-day minimum storage duration, and a lifecycle policy cannot "
                "delete an image archived less than 90 days ago."
                if minimum == ARCHIVE_MINIMUM_DAYS
                else ""
            ),
        )
    return int(days)


def _selection_and_action(scope: IConstruct, rule: AnyLifecycleRule) -> tuple[dict[str, Any], dict[str, Any]]:
    """The count part of the selection, and the action, of one rule (after its checks)."""
    if isinstance(rule, CacheLifecycleRule):
        given = {
            name: getattr(rule, name)
            for name in ("expire_if_not_pulled_for", "archive_if_not_pulled_for", "expire_archived_after")
            if getattr(rule, name) is not None
        }
        if len(given) != 1:
            raise fail(
                scope,
                "a CacheLifecycleRule needs exactly one of expire_if_not_pulled_for, "
                "archive_if_not_pulled_for and expire_archived_after",
                sorted(given),
                "Split it into one rule per age.",
            )
        ((name, age),) = given.items()
        if name == "expire_archived_after":
            days = _whole_days(scope, name, age, ARCHIVE_MINIMUM_DAYS)
            return (
                {
                    "storageClass": "archive",
                    "countType": "sinceImageTransitioned",
                    "countNumber": days,
                    "countUnit": "days",
                },
                {"type": "expire"},
            )
        days = _whole_days(scope, name, age)
        action = (
            {"type": "expire"}
            if name == "expire_if_not_pulled_for"
            else {"type": "transition", "targetStorageClass": "archive"}
        )
        return {"countType": "sinceImagePulled", "countNumber": days, "countUnit": "days"}, action
    if (rule.max_image_age is None) == (rule.max_image_count is None):
        raise fail(
            scope,
            "a lifecycle rule needs exactly one of max_image_age and max_image_count",
            (rule.max_image_age and rule.max_image_age.to_human_string(), rule.max_image_count),
            "Split it into two rules, one counting images and one by age.",
        )
    if rule.max_image_count is not None:
        if rule.max_image_count < 1:
            raise fail(scope, "max_image_count must be at least 1", rule.max_image_count, "Keep at least one image.")
        return {"countType": "imageCountMoreThan", "countNumber": rule.max_image_count}, {"type": "expire"}
    pushed: Duration = rule.max_image_age  # type: ignore[assignment]  # not None: checked above
    if pushed.to_days(integral=False) < 1 or pushed.to_days(integral=False) % 1:
        raise fail(
            scope,
            "max_image_age must be a whole number of days, at least one",
            pushed.to_human_string(),
            "Use whole days, such as Duration.days(1).",
        )
    return {"countType": "sinceImagePushed", "countNumber": pushed.to_days(), "countUnit": "days"}, {"type": "expire"}


def _storage_class(rule: AnyLifecycleRule) -> str:
    return rule.storage_class if isinstance(rule, CacheLifecycleRule) else "standard"


def _ordered(scope: IConstruct, rules: list[tuple[AnyLifecycleRule, ecr.TagStatus]]) -> list[tuple]:
    """Orders rules as CDK does: prioritized, then unprioritized numbered on, then the ANY rule(s) last.

    ECR allows one ``any`` rule; with storage classes this is taken as one per storage class
    (an archive rule selects only archived images) [UNVERIFIED].
    """
    prioritized = [(r, s) for r, s in rules if r.rule_priority is not None and s is not ecr.TagStatus.ANY]
    automatic = [(r, s) for r, s in rules if r.rule_priority is None and s is not ecr.TagStatus.ANY]
    any_rules = [(r, s) for r, s in rules if s is ecr.TagStatus.ANY]
    for storage_class in STORAGE_CLASSES:
        count = sum(1 for r, _ in any_rules if _storage_class(r) == storage_class)
        if count > 1:
            raise fail(
                scope,
                "a lifecycle policy can have only one TagStatus.ANY rule"
                + ("" if storage_class == "standard" else " per storage class"),
                count,
                "Merge the ANY rules into one.",
            )
    if any(r.rule_priority is not None for r, _ in any_rules) and automatic:
        prioritized_any = next(r.rule_priority for r, _ in any_rules if r.rule_priority is not None)
        raise fail(
            scope,
            "a prioritized TagStatus.ANY rule cannot be combined with unprioritized rules",
            prioritized_any,
            "Remove rule_priority from the ANY rule.",
        )
    next_priority = max((int(r.rule_priority) for r, _ in prioritized if r.rule_priority is not None), default=0) + 1
    ordered = []
    for rule, status in prioritized + automatic + any_rules:
        priority = rule.rule_priority
        if priority is None:
            priority, next_priority = next_priority, next_priority + 1
        ordered.append((priority, rule, status))
    priorities = [priority for priority, _, _ in ordered]
    if len(set(priorities)) != len(priorities):
        raise fail(
            scope,
            "lifecycle rule priorities must be unique",
            sorted(priorities),
            "Give each rule its own rule_priority.",
        )
    others = [priority for priority, _, status in ordered if status is not ecr.TagStatus.ANY]
    for priority, _, status in ordered:
        if status is ecr.TagStatus.ANY and others and priority < max(others):
            raise fail(
                scope,
                "the TagStatus.ANY lifecycle rule must have the highest priority",
                priority,
                f"Give it a priority above {max(others)}, or leave its priority unset.",
            )
    return ordered


def render_lifecycle_policy(scope: IConstruct, rules: Sequence[AnyLifecycleRule]) -> str:
    """Renders ``rules`` as a lifecycle policy JSON string, after the checks CDK and ECR apply."""
    if len(rules) > MAX_RULES:
        raise fail(scope, f"a lifecycle policy has at most {MAX_RULES} rules", len(rules), "Merge rules.")
    checked = []
    for rule in rules:
        if isinstance(rule, CacheLifecycleRule):
            _check_types(scope, rule)
        status = _tag_status(rule)
        _check_tags(scope, rule, status)
        checked.append((rule, status, _selection_and_action(scope, rule)))
    counts = {id(rule): parts for rule, _, parts in checked}
    rendered = []
    for priority, rule, status in _ordered(scope, [(rule, status) for rule, status, _ in checked]):
        count, action = counts[id(rule)]
        selection = {
            "tagStatus": _TAG_STATUS[status],
            "tagPrefixList": _list(rule.tag_prefix_list),
            "tagPatternList": _list(rule.tag_pattern_list),
        } | count
        rendered.append(
            {
                "rulePriority": priority,
                "description": rule.description,
                "selection": {k: v for k, v in selection.items() if v is not None},
                "action": action,
            }
        )
    policy = {"rules": [{k: v for k, v in rule.items() if v is not None} for rule in rendered]}
    check_policy(scope, policy)
    return json.dumps(policy, separators=(",", ":"))


def _check_types(scope: IConstruct, rule: CacheLifecycleRule) -> None:
    ages = ("expire_if_not_pulled_for", "archive_if_not_pulled_for", "expire_archived_after")
    check_arguments(
        scope,
        **{age: (getattr(rule, age), (Duration, None)) for age in ages},
        tag_status=(rule.tag_status, (ecr.TagStatus, None)),
        tag_prefix_list=(rule.tag_prefix_list, (Items(str), None)),
        tag_pattern_list=(rule.tag_pattern_list, (Items(str), None)),
        rule_priority=(rule.rule_priority, (int, None)),
        description=(rule.description, (str, None)),
    )


def _list(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else list(values)


def check_policy(scope: IConstruct, policy: dict[str, Any]) -> None:
    """Checks a rendered lifecycle policy against the service's syntax (user guide
    ``lifecycle_policy_parameters.html``, ``lifecycle_policy_examples.html``, ``archive-image.html``)."""
    for rule in policy["rules"]:
        selection, action = rule["selection"], rule["action"]
        storage_class = selection.get("storageClass", "standard")
        where = f"rule {rule['rulePriority']}"
        if storage_class not in STORAGE_CLASSES:
            raise fail(scope, f"{where}: storageClass must be standard or archive", storage_class, "Fix the rule.")
        if selection["countType"] not in COUNT_TYPES:
            raise fail(
                scope,
                f"{where}: countType must be one of {', '.join(COUNT_TYPES)}",
                selection["countType"],
                "Fix the rule.",
            )
        if action["type"] not in ACTION_TYPES:
            raise fail(scope, f"{where}: action type must be expire or transition", action["type"], "Fix the rule.")
        if action["type"] == "transition" and action.get("targetStorageClass") != "archive":
            raise fail(
                scope,
                f"{where}: a transition can only be to the archive storage class",
                action.get("targetStorageClass"),
                "Set targetStorageClass to archive; restoring an image "
                "to standard is done by hand or by pushing it again.",
            )
        if action["type"] == "transition" and storage_class == "archive":
            raise fail(
                scope,
                f"{where}: archived images cannot be transitioned again",
                storage_class,
                "Select standard images for a transition.",
            )
        if (selection["countType"] == "sinceImageTransitioned") != (storage_class == "archive"):
            raise fail(
                scope,
                f"{where}: sinceImageTransitioned goes with storageClass archive, and archive rules "
                "count by sinceImageTransitioned [UNVERIFIED: the safe path]",
                (storage_class, selection["countType"]),
                "Use CacheLifecycleRule(expire_archived_after=...).",
            )
        if storage_class == "archive" and selection["countNumber"] < ARCHIVE_MINIMUM_DAYS:
            raise fail(
                scope,
                f"{where}: archived images cannot be expired before {ARCHIVE_MINIMUM_DAYS} days",
                selection["countNumber"],
                f"Use at least Duration.days({ARCHIVE_MINIMUM_DAYS}).",
            )
        if selection["countType"] != "imageCountMoreThan" and selection.get("countUnit") != "days":
            raise fail(scope, f"{where}: an age needs countUnit days", selection.get("countUnit"), "Fix the rule.")
