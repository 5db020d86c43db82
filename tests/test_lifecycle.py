"""Eviction rules for cached images: CacheLifecycleRule, the RepositorySettings shortcuts, and the service's
lifecycle syntax.

Service facts (Amazon ECR User Guide):
- ``lifecycle_policy_examples.html`` (the policy template): ``selection.storageClass`` is ``standard`` or
  ``archive``; ``selection.countType`` is ``imageCountMoreThan``, ``sinceImagePushed``, ``sinceImagePulled``
  or ``sinceImageTransitioned``; ``action.type`` is ``expire`` or ``transition``, with
  ``action.targetStorageClass: "archive"``.
- ``lifecycle_policy_parameters.html``: each rule has a unique ``rulePriority``; a rule with
  ``tagStatus: any`` must have the highest priority and be evaluated last.
- ``archive-image.html``: archived images cannot be pulled (404) and have a 90-day minimum storage duration;
  a lifecycle policy cannot delete an image archived less than 90 days ago.
"""

import json

import pytest
from aws_cdk import Duration
from aws_cdk import aws_ecr as ecr
from aws_cdk.assertions import Template

from cdk_ecr_ptc import CacheLifecycleRule, PullThroughCacheRule, RepositorySettings, Upstream
from cdk_ecr_ptc.lifecycle import ACTION_TYPES, COUNT_TYPES, STORAGE_CLASSES, check_policy, render_lifecycle_policy

TAGGED, UNTAGGED, ANY = ecr.TagStatus.TAGGED, ecr.TagStatus.UNTAGGED, ecr.TagStatus.ANY


def policy_of(stack, **settings) -> dict:
    PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay(), repository_settings=RepositorySettings(**settings))
    (template,) = Template.from_stack(stack).find_resources("AWS::ECR::RepositoryCreationTemplate").values()
    text = template["Properties"]["LifecyclePolicy"]
    assert len(text) >= 100  # CloudFormation's minimum (FACTS §1.3)
    return json.loads(text)


def test_the_service_vocabulary_is_the_user_guides():
    assert STORAGE_CLASSES == ("standard", "archive")
    assert COUNT_TYPES == ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")
    assert ACTION_TYPES == ("expire", "transition")


def test_expire_if_not_pulled_for_renders_since_image_pulled(stack):
    assert policy_of(stack, expire_if_not_pulled_for=Duration.days(30)) == {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Expire images not pulled for 30 days",
                "selection": {
                    "tagStatus": "any",
                    "countType": "sinceImagePulled",
                    "countNumber": 30,
                    "countUnit": "days",
                },
                "action": {"type": "expire"},
            }
        ]
    }


def test_archive_then_expire_archived(stack):
    policy = policy_of(
        stack,
        lifecycle_rules=[
            CacheLifecycleRule(archive_if_not_pulled_for=Duration.days(30)),
            CacheLifecycleRule(expire_archived_after=Duration.days(90), description="Expire archived images"),
        ],
    )
    assert policy == {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "any",
                    "countType": "sinceImagePulled",
                    "countNumber": 30,
                    "countUnit": "days",
                },
                "action": {"type": "transition", "targetStorageClass": "archive"},
            },
            {
                "rulePriority": 2,
                "description": "Expire archived images",
                "selection": {
                    "tagStatus": "any",
                    "storageClass": "archive",
                    "countType": "sinceImageTransitioned",
                    "countNumber": 90,
                    "countUnit": "days",
                },
                "action": {"type": "expire"},
            },
        ]
    }


def test_archive_shortcut(stack):
    (rule,) = policy_of(stack, archive_if_not_pulled_for=Duration.days(60))["rules"]
    assert rule["action"] == {"type": "transition", "targetStorageClass": "archive"}
    assert rule["selection"]["countType"] == "sinceImagePulled" and rule["selection"]["countNumber"] == 60


def test_cache_and_cdk_rules_mix_with_the_any_rule_last(stack):
    policy = policy_of(
        stack,
        expire_untagged_after=Duration.days(1),
        lifecycle_rules=[
            CacheLifecycleRule(expire_if_not_pulled_for=Duration.days(14)),
            CacheLifecycleRule(
                tag_status=TAGGED, tag_pattern_list=["v*"], expire_if_not_pulled_for=Duration.days(90), rule_priority=3
            ),
        ],
    )
    assert [(r["rulePriority"], r["selection"]["tagStatus"], r["selection"]["countType"]) for r in policy["rules"]] == [
        (3, "tagged", "sinceImagePulled"),
        (4, "untagged", "sinceImagePushed"),
        (5, "any", "sinceImagePulled"),
    ]
    assert policy["rules"][0]["selection"]["tagPatternList"] == ["v*"]


def test_cdk_rules_still_render_as_cdk_renders_them(stack):
    rules = [
        ecr.LifecycleRule(max_image_count=30),
        ecr.LifecycleRule(tag_status=UNTAGGED, max_image_age=Duration.days(7), description="u"),
        ecr.LifecycleRule(tag_status=TAGGED, tag_pattern_list=["v*"], max_image_count=3, rule_priority=5),
    ]
    ecr.Repository(stack, "Reference", lifecycle_rules=rules)
    template = Template.from_stack(stack)
    (repository,) = template.find_resources("AWS::ECR::Repository").values()
    assert render_lifecycle_policy(stack, rules) == repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]


@pytest.mark.parametrize(
    ("rules", "value", "message", "fix"),
    [
        ([CacheLifecycleRule()], "[]", "a CacheLifecycleRule needs exactly one of", "one rule per age"),
        (
            [CacheLifecycleRule(expire_if_not_pulled_for=Duration.days(3), archive_if_not_pulled_for=Duration.days(3))],
            "['archive_if_not_pulled_for', 'expire_if_not_pulled_for']",
            "a CacheLifecycleRule needs exactly one of",
            "one rule per age",
        ),
        (
            [CacheLifecycleRule(expire_archived_after=Duration.days(30))],
            "'30 days'",
            "expire_archived_after must be a whole number of days, at least 90",
            "90-day minimum storage duration",
        ),
        (
            [CacheLifecycleRule(expire_if_not_pulled_for=Duration.hours(36))],
            "'1 day 12 hours'",
            "expire_if_not_pulled_for must be a whole number of days, at least one",
            "whole days",
        ),
        (
            [CacheLifecycleRule(archive_if_not_pulled_for=Duration.hours(12))],
            "'12 hours'",
            "archive_if_not_pulled_for must be a whole number of days",
            "whole days",
        ),
        (
            [
                CacheLifecycleRule(expire_if_not_pulled_for=Duration.days(3)),
                CacheLifecycleRule(archive_if_not_pulled_for=Duration.days(9)),
            ],
            "2",
            "a lifecycle policy can have only one TagStatus.ANY rule",
            "Merge the ANY rules",
        ),
        (
            [
                CacheLifecycleRule(expire_archived_after=Duration.days(90)),
                CacheLifecycleRule(expire_archived_after=Duration.days(180)),
            ],
            "2",
            "a lifecycle policy can have only one TagStatus.ANY rule per storage class",
            "Merge the ANY rules",
        ),
        (
            [
                CacheLifecycleRule(expire_if_not_pulled_for=Duration.days(3), rule_priority=1),
                CacheLifecycleRule(tag_status=UNTAGGED, expire_if_not_pulled_for=Duration.days(3), rule_priority=2),
            ],
            "1",
            "the TagStatus.ANY lifecycle rule must have the highest priority",
            "priority above 2",
        ),
        (
            [
                CacheLifecycleRule(tag_status=UNTAGGED, expire_if_not_pulled_for=Duration.days(3), rule_priority=1),
                ecr.LifecycleRule(tag_status=TAGGED, tag_prefix_list=["v"], max_image_count=1, rule_priority=1),
            ],
            "[1, 1]",
            "lifecycle rule priorities must be unique",
            "its own rule_priority",
        ),
        (
            [CacheLifecycleRule(tag_status=TAGGED, expire_if_not_pulled_for=Duration.days(3))],
            "None",
            "a TAGGED lifecycle rule needs tag_prefix_list or tag_pattern_list",
            "tag_prefix_list",
        ),
        (
            [CacheLifecycleRule(tag_status=UNTAGGED, tag_prefix_list=["v"], expire_if_not_pulled_for=Duration.days(3))],
            "'untagged'",
            "tag_prefix_list and tag_pattern_list need tag_status=TagStatus.TAGGED",
            "TagStatus.TAGGED",
        ),
        (
            [CacheLifecycleRule(tag_pattern_list=["a*b*c*d*e*"], expire_if_not_pulled_for=Duration.days(3))],
            "'a*b*c*d*e*'",
            "a tag pattern has more than four wildcards",
            "at most four",
        ),
    ],
)
def test_fails_on_rules_the_service_rejects(stack, rules, value, message, fix):
    with pytest.raises(ValueError) as raised:
        render_lifecycle_policy(stack, rules)
    text = str(raised.value)
    assert text.startswith(f"[Test] {message}") and f": got {value}. " in text and fix in text


def test_fails_when_two_shortcuts_make_two_any_rules(stack):
    with pytest.raises(
        ValueError,
        match=r"^\[Test/Rule/Template\] a lifecycle policy can have only one "
        r"TagStatus.ANY rule: got 2\.",
    ):
        policy_of(stack, keep_last_images=5, expire_if_not_pulled_for=Duration.days(30))


def rule(selection, action, priority=1):
    return {"rules": [{"rulePriority": priority, "selection": {"tagStatus": "any", **selection}, "action": action}]}


PULLED = {"countType": "sinceImagePulled", "countNumber": 30, "countUnit": "days"}


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            rule(PULLED, {"type": "transition", "targetStorageClass": "standard"}),
            "a transition can only be to the archive storage class: got 'standard'",
        ),
        (rule(PULLED, {"type": "transition"}), "a transition can only be to the archive storage class: got None"),
        (
            rule(
                {**PULLED, "storageClass": "archive", "countType": "sinceImageTransitioned", "countNumber": 90},
                {"type": "transition", "targetStorageClass": "archive"},
            ),
            "archived images cannot be transitioned again",
        ),
        (rule({**PULLED, "storageClass": "glacier"}, {"type": "expire"}), "storageClass must be standard or archive"),
        (rule({**PULLED, "countType": "sinceImageCreated"}, {"type": "expire"}), "countType must be one of"),
        (rule(PULLED, {"type": "delete"}), "action type must be expire or transition"),
        (rule({**PULLED, "storageClass": "archive"}, {"type": "expire"}), "sinceImageTransitioned goes with"),
        (
            rule({**PULLED, "countType": "sinceImageTransitioned"}, {"type": "expire"}),
            "sinceImageTransitioned goes with",
        ),
        (
            rule(
                {**PULLED, "storageClass": "archive", "countType": "sinceImageTransitioned", "countNumber": 89},
                {"type": "expire"},
            ),
            "archived images cannot be expired before 90 days: got 89",
        ),
        (rule({**PULLED, "countUnit": "hours"}, {"type": "expire"}), "an age needs countUnit days"),
    ],
)
def test_the_rendered_policy_is_checked_against_the_service_syntax(stack, policy, message):
    with pytest.raises(ValueError, match=r"^\[Test\] rule 1: " + message.replace("(", r"\(")):
        check_policy(stack, policy)


def test_the_access_report_summarizes_cache_rules(tmp_path):
    from aws_cdk import App, Environment, Stack

    from cdk_ecr_ptc.report import build_report, read_assembly

    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Cache", env=Environment(account="111122223333", region="us-east-1"))
    PullThroughCacheRule(
        stack,
        "Rule",
        upstream=Upstream.quay(),
        repository_settings=RepositorySettings(
            lifecycle_rules=[
                CacheLifecycleRule(archive_if_not_pulled_for=Duration.days(30)),
                CacheLifecycleRule(expire_archived_after=Duration.days(90)),
            ]
        ),
    )
    app.synth()
    (template,) = build_report(read_assembly(tmp_path))["registries"][0]["templates"]
    assert template["lifecycle_rules"] == [
        "archive if not pulled for 30 days",
        "expire archived images 90 days after archiving",
    ]
