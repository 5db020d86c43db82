"""Shared fixtures: a fresh App per test, concrete and environment-agnostic stacks."""

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import pytest  # noqa: E402
from aws_cdk import App, Environment, Stack  # noqa: E402

ACCOUNT = "111122223333"
REGION = "us-east-1"


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
def stack(app: App) -> Stack:
    return Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))


@pytest.fixture
def agnostic_stack(app: App) -> Stack:
    return Stack(app, "Agnostic")
