"""Adapters that carry Python callables across the jsii bridge."""

from collections.abc import Callable
from typing import Any

import jsii
from aws_cdk import IStableAnyProducer, IStableListProducer, IStableStringProducer
from constructs import IValidation


@jsii.implements(IStableAnyProducer)
class Producer:
    """Produces a value lazily for ``Lazy.any``."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn

    def produce(self) -> Any:
        return self._fn()


@jsii.implements(IStableStringProducer)
class StringProducer:
    """Produces a string (or nothing) lazily for ``Lazy.string``."""

    def __init__(self, fn: Callable[[], str | None]) -> None:
        self._fn = fn

    def produce(self) -> str | None:
        return self._fn()


@jsii.implements(IStableListProducer)
class ListProducer:
    """Produces a fixed list of strings for ``Lazy.list``: one token crosses jsii instead of every string."""

    def __init__(self, values: list[str]) -> None:
        self._values = values

    def produce(self) -> list[str]:
        return self._values


@jsii.implements(IValidation)
class Validation:
    """Runs a Python function as a construct validation; it returns error messages."""

    def __init__(self, fn: Callable[[], list[str]]) -> None:
        self._fn = fn

    def validate(self) -> list[str]:
        return self._fn()
