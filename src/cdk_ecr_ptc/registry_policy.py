"""The single registry policy of an account and Region."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Lazy, Resource, Validations
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ._app_registry import AppRegistry
from ._env import facts, partition, repository_arn
from ._grants import account_root, resource_policy_principal, resource_policy_principal_json
from ._jsii import ListProducer, Producer, Validation
from ._model import MAX_REGISTRY_POLICY_LENGTH, SCOPE_METADATA, V1_REGISTRY_ACTIONS, RegistryPolicyScope
from ._statements import Built, LiveStatements, deployed_length, open_access_problems
from ._validation import (
    CALLABLE,
    CONSTRUCT,
    GRANTEE,
    PRINCIPAL,
    Items,
    check_account,
    check_arguments,
    check_construct,
    check_prefix,
    check_type,
    fail,
    policy_statements,
)

__all__ = [
    "DOWNSTREAM_CACHE_ACTIONS",
    "MAX_POLICY_LENGTH",
    "RegistryPolicy",
    "RegistryPolicyScope",
    "account_root",
    "resource_policy_principal",
]

#: The registry policy text limit of the ECR API and the CloudFormation schema.
MAX_POLICY_LENGTH = MAX_REGISTRY_POLICY_LENGTH

#: What the upstream registry must allow a downstream cache account for ECR-to-ECR caching.
DOWNSTREAM_CACHE_ACTIONS = (
    "ecr:BatchGetImage",
    "ecr:BatchImportUpstreamImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:GetImageCopyStatus",
)


@jsii.implements(iam.IResourceWithPolicyV2)
class RegistryPolicy(Resource):
    """Defines the registry policy (``AWS::ECR::RegistryPolicy``) of a stack's account and Region.

    A registry has exactly one policy: CloudFormation fails to create one where a policy already
    exists, and deleting the stack deletes the whole policy. So every construct of a stack shares
    the one returned by :meth:`of`, its text is built at synth from every statement added to it,
    and statements of an existing policy can be carried over with :meth:`carry_over`. The
    ``AWS::ECR::RegistryPolicy`` resource is defined only once a statement is added.

    The policy is rendered for a registry-policy scope (:class:`RegistryPolicyScope`), declared once per
    stack: ``V1`` (the default, which every account accepts) lets it hold only ``ecr:ReplicateImage``,
    ``ecr:BatchImportUpstreamImage`` and ``ecr:CreateRepository``; the library then grants pull actions
    through creation templates' repository policies. ``V2`` puts every granted action here.
    """

    ID = "EcrRegistryPolicy"

    @classmethod
    def of(
        cls,
        scope: IConstruct,
        *,
        registry_policy_scope: RegistryPolicyScope | None = None,
        ensure_registry_policy_scope: bool = False,
    ) -> RegistryPolicy:
        """Returns the registry policy of ``scope``'s stack, defining the construct on first use.

        Args:
            scope: any construct of the stack.
            registry_policy_scope: declares the registry-policy scope of the stack's account and Region.
                Default: - as declared before, else ``V1``.
            ensure_registry_policy_scope: sets the account's scope to ``V2`` with ``ecr:PutAccountSetting``
                (a custom resource) before the policy is written; implies ``V2``. Default: ``False``.
        """
        check_arguments(
            "RegistryPolicy.of",
            scope=(scope, CONSTRUCT),
            ensure_registry_policy_scope=(ensure_registry_policy_scope, bool),
        )
        stack = facts(scope).stack
        policy = _policies.get(stack)
        if policy is None:
            found = stack.node.try_find_child(cls.ID)
            policy = _policies[stack] = found if isinstance(found, RegistryPolicy) else cls(stack, cls.ID)
        if registry_policy_scope is not None or ensure_registry_policy_scope:
            policy.declare_scope(scope, registry_policy_scope, ensure=ensure_registry_policy_scope)
        return policy

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        registry_policy_scope: RegistryPolicyScope | None = None,
        ensure_registry_policy_scope: bool = False,
    ) -> None:
        """
        Args:
            scope: the stack (use :meth:`of` to share the stack's one policy).
            id: the construct id.
            registry_policy_scope: the registry-policy scope of the account and Region. Default: - ``V1``.
            ensure_registry_policy_scope: set the account's scope to ``V2`` before the policy is written.
                Default: ``False``.
        """
        check_construct("RegistryPolicy", scope, id, ensure_registry_policy_scope=(ensure_registry_policy_scope, bool))
        super().__init__(scope, id)
        self._statements = LiveStatements(resolve=facts(self).stack.resolve)
        # One list token per set of resources, so a grant's statement does not send every ARN across jsii.
        self._resource_lists: dict[tuple[str, ...], list[str]] = {}
        # What grant_statement knows of the statement it is adding (its list token, resources and principal).
        self._arriving: Built | None = None
        self._scope: RegistryPolicyScope | None = None
        self._scope_declared_by: str | None = None
        self._scope_used_by: str | None = None
        self._ensure: Construct | None = None
        self._resource: ecr.CfnRegistryPolicy | None = None
        self.node.add_validation(Validation(self._validate))
        if registry_policy_scope is not None or ensure_registry_policy_scope:
            self.declare_scope(self, registry_policy_scope, ensure=ensure_registry_policy_scope)

    @property
    def registry_id(self) -> str:
        """The registry ID (the account ID) once deployed; defines the policy resource."""
        return self._cfn().attr_registry_id

    @property
    def is_empty(self) -> bool:
        """Tells whether the policy has no statement yet."""
        return self._statements.is_empty

    @property
    def scope(self) -> RegistryPolicyScope:
        """The registry-policy scope the policy is rendered for (``V1`` unless declared)."""
        return self._scope or RegistryPolicyScope.V1

    def declare_scope(self, by: IConstruct, scope: RegistryPolicyScope | None, *, ensure: bool = False) -> None:
        """Declares the account's registry-policy scope, once per stack; grants routed before keep theirs.

        Args:
            by: the construct that declares it (named in errors).
            scope: the scope. Default: - ``V2`` when ``ensure`` is set.
            ensure: set the account to ``V2`` with a custom resource before the policy is written.
        """
        check_arguments(self, by=(by, CONSTRUCT), ensure=(ensure, bool))
        if scope is not None and not isinstance(scope, RegistryPolicyScope):
            raise fail(
                by,
                "registry_policy_scope must be a RegistryPolicyScope",
                scope,
                "Use RegistryPolicyScope.V1 or RegistryPolicyScope.V2.",
            )
        if ensure and scope is RegistryPolicyScope.V1:
            raise fail(
                by,
                "ensure_registry_policy_scope sets the scope to V2",
                scope.value,
                "Drop registry_policy_scope=V1, or drop ensure_registry_policy_scope.",
            )
        wanted = RegistryPolicyScope.V2 if ensure else scope
        assert wanted is not None
        if self._scope is not None and self._scope is not wanted:
            raise fail(
                by,
                f"the stack's registry-policy scope was declared {self._scope.value} by {self._scope_declared_by}",
                wanted.value,
                "Declare one scope per stack (it is a setting of the account and Region).",
            )
        if self._scope is None and self._scope_used_by is not None and wanted is not RegistryPolicyScope.V1:
            raise fail(
                by,
                "the registry-policy scope is declared after a grant that was routed for scope V1 "
                f"({self._scope_used_by})",
                wanted.value,
                "Declare registry_policy_scope on the first cache of the stack, or call "
                "RegistryPolicy.of(stack, registry_policy_scope=...) before any grant.",
            )
        self._scope, self._scope_declared_by = wanted, by.node.path
        if ensure and self._ensure is None:
            from .account_setting import RegistryPolicyScopeSetting  # only then: it brings in aws_lambda

            self._ensure = RegistryPolicyScopeSetting(self, "ScopeV2")
            if self._resource is not None:
                self._resource.node.add_dependency(self._ensure)
        if self._resource is not None:
            self._resource.add_metadata(SCOPE_METADATA, self.scope.value)

    def scope_for(self, grant_of: IConstruct) -> RegistryPolicyScope:
        """The scope a grant of ``grant_of`` is routed for; after this, the scope can no longer change."""
        check_arguments(self, grant_of=(grant_of, CONSTRUCT))
        if self._scope_used_by is None:
            self._scope_used_by = grant_of.node.path
        return self.scope

    def add_to_resource_policy(self, statement: iam.PolicyStatement) -> iam.AddToResourcePolicyResult:
        """Adds a statement; it is read at synth (changes made to it later count), and Allow statements
        without a Sid are merged with others.

        Args:
            statement: the statement, with principals.
        """
        check_type(self, "statement", statement, iam.PolicyStatement, "Pass an iam.PolicyStatement.")
        self._statements.add(statement, self._arriving)
        self._arriving = None
        return iam.AddToResourcePolicyResult(statement_added=True, policy_dependable=self._cfn())

    def grant_statement(
        self,
        grantee: iam.IGrantable,
        principal: iam.IPrincipal,
        actions: Sequence[str],
        resources: Sequence[str],
        *,
        prepare: Callable[[iam.PolicyStatement], None] | None = None,
    ) -> iam.Grant:
        """Grants ``principal`` (the principal of ``grantee``) ``actions`` on ``resources`` with an Allow
        statement of its own in this policy, through ``iam.Grant.add_statement_to_resource_policy``.

        An account principal is written ``arn:<partition>:iam::<account>:root`` with this registry's
        partition, so that equal accounts merge (CDK renders a token of its own per ``AccountPrincipal``), and
        its statement is built from plain data. The resources are one list token per distinct list, which
        crosses jsii once; the policy renders it with the ARNs it stands for, so that statements merge by
        resource.

        Args:
            grantee: the grantee, as the grant names it.
            principal: its principal, written into the statement.
            actions: the actions.
            resources: the repository ARNs.
            prepare: changes the statement before it is added (adds a condition, say). Default: - none.
        """
        check_arguments(
            self,
            grantee=(grantee, GRANTEE),
            principal=(principal, PRINCIPAL),
            actions=(actions, Items(str)),
            resources=(resources, Items(str)),
            prepare=(prepare, (CALLABLE, None)),
        )
        key = tuple(resources)
        token = self._resource_lists.get(key)
        if token is None:
            token = self._resource_lists[key] = Lazy.list(ListProducer(list(resources)))
        known = resource_policy_principal_json(partition(self), principal)
        # The statement comes back to add_to_resource_policy as another Python object (jsii gives one per
        # crossing to objects it built), so what it stands for is handed over here.
        self._arriving = Built(token, list(resources), known)
        try:
            if (
                known is not None
                and prepare is None
                and grantee is principal
                and type(principal) is iam.AccountPrincipal
            ):
                # An account principal: CDK builds the statement (its principal renders as a token of its own,
                # which the policy renders as ``known``) and its grant in one call into jsii.
                return iam.Grant.add_to_principal_or_resource(
                    grantee=grantee, actions=list(actions), resource_arns=token, resource=self
                )
            statement = iam.PolicyStatement(
                principals=[resource_policy_principal(partition(self), principal)],
                actions=list(actions),
                resources=token,
            )
            if prepare is not None:
                prepare(statement)
            return iam.Grant.add_statement_to_resource_policy(
                statement=statement, resource=self, grantee=grantee, actions=list(actions), resource_arns=token
            )
        finally:
            self._arriving = None

    def carry_over(self, policy: str | Mapping[str, Any]) -> None:
        """Keeps the statements of the registry policy that already exists in the account.

        CloudFormation cannot create a registry policy where one exists, and this one replaces it
        whole. Export the current one with ``aws ecr get-registry-policy --query policyText
        --output text``, pass it here, then delete it before the first deploy.

        Args:
            policy: the existing policy text (JSON string or parsed document).
        """
        for statement in policy_statements(self, "carry_over", policy):
            self._statements.add_json(dict(statement))
        self._cfn()

    def grant_downstream_cache(self, account: str, *, repository_prefix: str | None = None) -> iam.Grant:
        """Lets a cache registry in ``account`` pull through cache from this (upstream) registry.

        This is the upstream half of cross-account ECR-to-ECR caching. These actions need the registry
        policy scope V2 (declare ``registry_policy_scope=RegistryPolicyScope.V2``): a V1 registry policy
        cannot hold them, and synth fails.

        Args:
            account: the downstream (cache) account.
            repository_prefix: only repositories under this prefix. Default: - every repository.
        """
        check_arguments(self, account=(account, str))
        check_account(self, "grant_downstream_cache account", account)
        if repository_prefix is not None:
            check_prefix(self, "repository_prefix", repository_prefix)
        grantee = iam.AccountPrincipal(account)
        resources = [repository_arn(self, f"{repository_prefix}/*" if repository_prefix else "*")]
        statement = iam.PolicyStatement(
            principals=[resource_policy_principal(partition(self), grantee)],
            actions=list(DOWNSTREAM_CACHE_ACTIONS),
            resources=resources,
        )
        return iam.Grant.add_statement_to_resource_policy(
            statement=statement,
            resource=self,
            grantee=grantee,
            actions=list(DOWNSTREAM_CACHE_ACTIONS),
            resource_arns=resources,
        )

    def document(self) -> dict:
        """Renders the policy document as deployed."""
        return self._statements.document()

    def _cfn(self) -> ecr.CfnRegistryPolicy:
        """The policy resource, defined with the first statement (so that an unused policy leaves no trace)."""
        if self._resource is None:
            self._resource = ecr.CfnRegistryPolicy(self, "Resource", policy_text=Lazy.any(Producer(self.document)))
            self._resource.add_metadata(SCOPE_METADATA, self.scope.value)
            if self._ensure is not None:
                self._resource.node.add_dependency(self._ensure)
            AppRegistry.of(self).add_registry_policy(self)
            Validations.of(self).acknowledge(
                Acknowledgment(
                    id="AwsSolutions::AwsSolutions-ECR1",
                    reason=(
                        "The registry policy's '*' principals are all limited by aws:PrincipalOrgID, "
                        "aws:PrincipalOrgPaths "
                        "or aws:PrincipalAccount: synth fails on any other '*' principal."
                    ),
                )
            )
        return self._resource

    def _validate(self) -> list[str]:
        if self._resource is None:
            return []
        errors = self._statements.errors_for_resource_policy()
        if errors:
            return errors
        document = self.document()
        if not document["Statement"]:
            return [
                "the registry policy has no statements; grant a principal that needs the registry policy, "
                "or do not carry over an empty policy."
            ]
        if problems := open_access_problems(document, "registry policy", facts(self).stack.resolve):
            return problems
        if self.scope is RegistryPolicyScope.V1:
            beyond = sorted(
                {
                    action
                    for statement in document["Statement"]
                    if statement.get("Effect") == "Allow"
                    for action in _as_list(statement.get("Action", []))
                }
                - V1_REGISTRY_ACTIONS
            )
            if beyond or any("NotAction" in statement for statement in document["Statement"]):
                return [
                    f"the registry policy holds actions that registry-policy scope V1 rejects: got {beyond}. "
                    f"A V1 policy may hold only {sorted(V1_REGISTRY_ACTIONS)}; declare "
                    "registry_policy_scope=RegistryPolicyScope.V2 if the account is on V2 (or add "
                    "ensure_registry_policy_scope=True), or grant those actions elsewhere."
                ]
        length = deployed_length(document)
        if length > MAX_POLICY_LENGTH:
            return [
                f"the registry policy would be {length} characters; ECR allows {MAX_POLICY_LENGTH}. "
                "Grant organizations (OrganizationPrincipal) or whole accounts instead of many principals, "
                "or grant on the cache rather than rule by rule."
            ]
        return []


#: The registry policy of each stack, once looked up.
_policies: weakref.WeakKeyDictionary[Any, RegistryPolicy] = weakref.WeakKeyDictionary()


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]
