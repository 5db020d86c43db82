"""Lifecycle policies rendered from ``aws_ecr.LifecycleRule`` exactly as CDK renders a repository's.

CDK renders a repository's lifecycle policy privately, so this module mirrors its rules (the
checks of ``Repository.addLifecycleRule`` and the ordering of ``orderedLifecycleRules``) and adds
the ones the service enforces on top: unique priorities and at most 50 rules.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import aws_ecr as ecr
from constructs import IConstruct

from ._validation import fail

#: Rules per lifecycle policy (not adjustable).
MAX_RULES = 50
_TAG_STATUS = {ecr.TagStatus.ANY: "any", ecr.TagStatus.TAGGED: "tagged", ecr.TagStatus.UNTAGGED: "untagged"}


def _tag_status(rule: ecr.LifecycleRule) -> ecr.TagStatus:
    if rule.tag_status is not None:
        return rule.tag_status
    return ecr.TagStatus.ANY if rule.tag_prefix_list is None and rule.tag_pattern_list is None else ecr.TagStatus.TAGGED


def _check(scope: IConstruct, rule: ecr.LifecycleRule, status: ecr.TagStatus) -> None:
    lists = (rule.tag_prefix_list, rule.tag_pattern_list)
    if status is ecr.TagStatus.TAGGED and not any(lists):
        raise fail(scope, "a TAGGED lifecycle rule needs tag_prefix_list or tag_pattern_list", rule.description,
                   "Add tag_prefix_list=[...] or tag_pattern_list=[...], or use TagStatus.ANY/UNTAGGED.")
    if status is not ecr.TagStatus.TAGGED and any(item is not None for item in lists):
        raise fail(scope, "tag_prefix_list and tag_pattern_list need tag_status=TagStatus.TAGGED",
                   _TAG_STATUS[status], "Set tag_status=TagStatus.TAGGED or remove the lists.")
    if all(item is not None for item in lists):
        raise fail(scope, "a lifecycle rule takes tag_prefix_list or tag_pattern_list, not both", lists,
                   "Keep one of them.")
    for pattern in rule.tag_pattern_list or ():
        if pattern.count("*") > 4:
            raise fail(scope, "a tag pattern has more than four wildcards", pattern, "Use at most four '*'.")
    if (rule.max_image_age is None) == (rule.max_image_count is None):
        raise fail(scope, "a lifecycle rule needs exactly one of max_image_age and max_image_count",
                   (rule.max_image_age and rule.max_image_age.to_human_string(), rule.max_image_count),
                   "Split it into two rules, one counting images and one by age.")
    if rule.max_image_count is not None and rule.max_image_count < 1:
        raise fail(scope, "max_image_count must be at least 1", rule.max_image_count, "Keep at least one image.")
    age = rule.max_image_age
    if age is not None and (age.to_days(integral=False) < 1 or age.to_days(integral=False) % 1):
        raise fail(scope, "max_image_age must be a whole number of days, at least one", age.to_human_string(),
                   "Use whole days, such as Duration.days(1).")


def _ordered(scope: IConstruct, rules: list[tuple[ecr.LifecycleRule, ecr.TagStatus]]) -> list[tuple]:
    """Orders rules as CDK does: prioritized, then unprioritized numbered on, then the ANY rule last."""
    prioritized = [(r, s) for r, s in rules if r.rule_priority is not None and s is not ecr.TagStatus.ANY]
    automatic = [(r, s) for r, s in rules if r.rule_priority is None and s is not ecr.TagStatus.ANY]
    any_rules = [(r, s) for r, s in rules if s is ecr.TagStatus.ANY]
    if len(any_rules) > 1:
        raise fail(scope, "a lifecycle policy can have only one TagStatus.ANY rule", len(any_rules),
                   "Merge the ANY rules into one.")
    if any_rules and any_rules[0][0].rule_priority is not None and automatic:
        raise fail(scope, "a prioritized TagStatus.ANY rule cannot be combined with unprioritized rules",
                   any_rules[0][0].rule_priority, "Remove rule_priority from the ANY rule.")
    next_priority = max((r.rule_priority for r, _ in prioritized), default=0) + 1
    ordered = []
    for rule, status in prioritized + automatic + any_rules:
        priority = rule.rule_priority
        if priority is None:
            priority, next_priority = next_priority, next_priority + 1
        ordered.append((priority, rule, status))
    priorities = [priority for priority, _, _ in ordered]
    if len(set(priorities)) != len(priorities):
        raise fail(scope, "lifecycle rule priorities must be unique", sorted(priorities),
                   "Give each rule its own rule_priority.")
    if any_rules and ordered[-1][0] != max(priorities):
        raise fail(scope, "the TagStatus.ANY lifecycle rule must have the highest priority", ordered[-1][0],
                   f"Give it a priority above {max(priorities)}, or leave its priority unset.")
    return ordered


def render_lifecycle_policy(scope: IConstruct, rules: Sequence[ecr.LifecycleRule]) -> str:
    """Renders ``rules`` as a lifecycle policy JSON string, after the checks CDK and ECR apply."""
    if len(rules) > MAX_RULES:
        raise fail(scope, f"a lifecycle policy has at most {MAX_RULES} rules", len(rules), "Merge rules.")
    checked = []
    for rule in rules:
        status = _tag_status(rule)
        _check(scope, rule, status)
        checked.append((rule, status))
    rendered = []
    for priority, rule, status in _ordered(scope, checked):
        selection = {"tagStatus": _TAG_STATUS[status], "tagPrefixList": rule.tag_prefix_list,
                     "tagPatternList": rule.tag_pattern_list}
        if rule.max_image_age is not None:
            selection |= {"countType": "sinceImagePushed", "countNumber": rule.max_image_age.to_days(),
                          "countUnit": "days"}
        else:
            selection |= {"countType": "imageCountMoreThan", "countNumber": rule.max_image_count}
        rendered.append({"rulePriority": priority, "description": rule.description,
                         "selection": {k: v for k, v in selection.items() if v is not None},
                         "action": {"type": "expire"}})
    policy = {"rules": [{k: v for k, v in rule.items() if v is not None} for rule in rendered]}
    return json.dumps(policy, separators=(",", ":"))
