"""IAM action lists, kept in one place like aws-ecr's ``perms.ts``."""

#: What the ECR docs add on top of ordinary pull access for a pull through the cache.
PULL_THROUGH = ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")

#: Needed by a puller only when a creation template tags the repositories it creates.
TAG_RESOURCE = "ecr:TagResource"

#: The repository-scoped pull actions, as CDK's ``Repository.grant_pull`` grants them.
PULL = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")

#: The one action that has no resource-level permission.
AUTH_TOKEN = "ecr:GetAuthorizationToken"

#: Repository-scoped actions of the ECR-to-ECR custom role (documented on ``*``; we scope them).
ECR_TO_ECR_ROLE = (
    "ecr:BatchGetImage",
    "ecr:BatchImportUpstreamImage",
    "ecr:CompleteLayerUpload",
    "ecr:GetDownloadUrlForLayer",
    "ecr:GetImageCopyStatus",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)

#: The repository creation template role's actions on the template's repositories.
TEMPLATE_ROLE = ("ecr:CreateRepository", "ecr:TagResource")

#: Added to the template role when the template applies to replication.
REPLICATE_IMAGE = "ecr:ReplicateImage"

#: The template role's actions on the template's KMS key.
TEMPLATE_ROLE_KMS = ("kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant")

#: What a creation template's repository policy allows a principal granted the pull of a rule.
REPOSITORY_POLICY_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:BatchImportUpstreamImage",
                          "ecr:GetDownloadUrlForLayer")
