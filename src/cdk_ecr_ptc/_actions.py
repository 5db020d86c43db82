"""IAM action lists of the library's roles, kept in one place like aws-ecr's ``perms.ts``.

The actions of grants are part of the domain model (:mod:`._model`) and re-exported here.
"""

from ._model import AUTH_TOKEN, PULL, PULL_THROUGH, REPOSITORY_POLICY_PULL, TAG_RESOURCE

__all__ = [
    "AUTH_TOKEN",
    "ECR_TO_ECR_READ",
    "ECR_TO_ECR_ROLE",
    "ECR_TO_ECR_WRITE",
    "PULL",
    "PULL_THROUGH",
    "REPLICATE_IMAGE",
    "REPOSITORY_POLICY_PULL",
    "TAG_RESOURCE",
    "TEMPLATE_ROLE",
    "TEMPLATE_ROLE_KMS",
]

#: The ECR-to-ECR custom role's read actions, on the upstream registry's repositories.
ECR_TO_ECR_READ = (
    "ecr:BatchGetImage",
    "ecr:BatchImportUpstreamImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:GetImageCopyStatus",
)

#: The ECR-to-ECR custom role's write actions, on the cache's own repositories only.
ECR_TO_ECR_WRITE = ("ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart")

#: Every repository-scoped action of the ECR-to-ECR custom role (AWS documents them on ``*``; we scope them).
ECR_TO_ECR_ROLE = tuple(sorted(ECR_TO_ECR_READ + ECR_TO_ECR_WRITE))

#: The repository creation template role's actions on the template's repositories.
TEMPLATE_ROLE = ("ecr:CreateRepository", "ecr:TagResource")

#: Added to the template role when the template applies to replication.
REPLICATE_IMAGE = "ecr:ReplicateImage"

#: The template role's actions on the template's KMS key.
TEMPLATE_ROLE_KMS = ("kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant")
