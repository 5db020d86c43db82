"""Integ: the example cache (examples/app.py), pulled through each unauthenticated upstream.

Proves that the example deploys as written, that ``ECR.batchGetImage`` by tag through ECR Public,
registry.k8s.io and Quay creates ``<prefix>/<repository>``, and that ``ECR.describeRepositories`` shows it.
Docker Hub is left out: its secret holds a placeholder token until you put yours. [UNVERIFIED: the
example also grants ``arn:aws:iam::444455556666:role/ci-image-puller``; a registry policy naming a role
that does not exist may be rejected, in which case deploy with that role present or edit the example.]
"""

from _support import IMAGES, delete_cached, describe, first_pull
from aws_cdk import App
from aws_cdk.integ_tests_alpha import IntegTest

from examples.app import PullThroughCacheStack

app = App()
stack = PullThroughCacheStack(app, "IntegExampleCache")
integ = IntegTest(app, "ExampleCache", test_cases=[stack], diff_assets=True)
for prefix, (repository, tag) in IMAGES.items():
    first_pull(integ, stack, prefix, repository, tag).next(describe(integ, stack, prefix, repository)).next(
        delete_cached(integ, stack, prefix, repository)
    )
app.synth()
