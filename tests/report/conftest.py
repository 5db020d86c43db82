"""Fixtures for the access report: a hand-written cloud assembly and the report built from it."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cdk_ecr_ptc.report import build_report, read_assembly

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def app_dir() -> Path:
    """A cloud assembly with one concrete-env stack and a Stage holding an environment-agnostic stack."""
    return FIXTURES / "app"


@pytest.fixture(scope="session")
def report(app_dir: Path) -> dict[str, Any]:
    return build_report(read_assembly(app_dir))


def _stack(report: dict[str, Any], name: str) -> dict[str, Any]:
    (stack,) = [s for s in report["stacks"] if s["name"] == name]
    return stack


@pytest.fixture
def ptc(report: dict[str, Any]) -> dict[str, Any]:
    """The concrete-env stack (aws://111122223333/us-east-1)."""
    return _stack(report, "PtcStack")


@pytest.fixture
def mirror(report: dict[str, Any]) -> dict[str, Any]:
    """The environment-agnostic stack inside the ``Prod`` Stage."""
    return _stack(report, "Prod/Mirror")


@pytest.fixture
def entry() -> Callable[[dict[str, Any], str, str], dict[str, Any]]:
    """Looks up the access entry of a principal and a rule (by ECR prefix) in a stack report."""

    def find(stack: dict[str, Any], principal: str, rule: str) -> dict[str, Any]:
        (found,) = [a for a in stack["access"] if a["principal"] == principal and a["rule"] == rule]
        return found

    return find


@pytest.fixture
def missing() -> Callable[[dict[str, Any]], dict[str, str]]:
    """``{action: side}`` of an access entry's missing actions."""
    return lambda access: {m["action"]: m["side"] for m in access["missing"]}
