"""Every port has a fake in tests/fakes.py and an adapter, and both implement its Protocol method for method."""

from __future__ import annotations

import inspect
from typing import Protocol

import pytest

from packshot import ports
from packshot.adapters.executions import PipelineStarter
from packshot.adapters.records import RecordsTable
from packshot.adapters.review import FunctionUrlReviewApi, ReviewTable, S3Presigner, StepFunctionsTokens
from packshot.adapters.s3 import S3Store
from tests import fakes

# Each port, the fake that stands in for it and what implements it on AWS (Powertools' Metrics for MetricSink).
IMPLEMENTATIONS: dict[type, tuple[type, type | None]] = {
    ports.ObjectStore: (fakes.FakeStore, S3Store),
    ports.Records: (fakes.FakeRecords, RecordsTable),
    ports.BatchRecords: (fakes.FakeRecords, RecordsTable),
    ports.ClosingRecords: (fakes.FakeRecords, RecordsTable),
    ports.ScannableRecords: (fakes.FakeRecords, RecordsTable),
    ports.RecordReader: (fakes.FakeRecords, RecordsTable),
    ports.Starter: (fakes.FakeStarter, PipelineStarter),
    ports.Withdrawals: (fakes.FakeReviewItems, ReviewTable),
    ports.ReviewItems: (fakes.FakeReviewItems, ReviewTable),
    ports.TaskTokens: (fakes.FakeTokens, StepFunctionsTokens),
    ports.Presigner: (fakes.FakePresigner, S3Presigner),
    ports.ReviewApi: (None, FunctionUrlReviewApi),  # its fakes are scripted per test (see test_review.py)
    ports.MetricSink: (fakes.FakeMetrics, None),
}


def protocol_methods(protocol: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(member) for name, member in vars(protocol).items()
            if callable(member) and not name.startswith("_")}


def mismatches(protocol: type, implementation: type) -> list[str]:
    """How `implementation` falls short of `protocol`: a missing method, a missing or different parameter (name,
    kind, default), or an extra parameter without a default. Extra methods and defaulted parameters are fine."""
    problems = []
    for name, wanted in protocol_methods(protocol).items():
        member = getattr(implementation, name, None)
        if not callable(member):
            problems.append(f"{name}: missing")
            continue
        got = inspect.signature(member).parameters
        for param in wanted.parameters.values():
            other = got.get(param.name)
            if other is None or other.kind != param.kind or other.default != param.default:
                problems.append(f"{name}: parameter {param.name} is {other}, the port says {param}")
        for extra in set(got) - set(wanted.parameters):
            if got[extra].default is inspect.Parameter.empty and got[extra].kind not in (
                    inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                problems.append(f"{name}: extra parameter {extra} without a default")
    return problems


def every_port() -> list[type]:
    # Protocol's flag, not issubclass: issubclass(Record, Protocol) has answered True once other tests ran.
    return [member for member in vars(ports).values()
            if isinstance(member, type) and getattr(member, "_is_protocol", False)
            and member.__module__ == ports.__name__]


def test_every_port_is_listed_with_its_fake_and_its_adapter() -> None:
    assert set(every_port()) == set(IMPLEMENTATIONS)


@pytest.mark.parametrize("port", list(IMPLEMENTATIONS), ids=lambda p: p.__name__)
def test_the_fake_and_the_adapter_implement_every_method_of_the_port(port: type) -> None:
    assert protocol_methods(port), f"{port.__name__} declares no methods"
    for implementation in IMPLEMENTATIONS[port]:
        if implementation is not None:
            assert mismatches(port, implementation) == [], implementation.__name__


class _Port(Protocol):
    def read(self, key: str, *, exact: bool = False) -> bytes: ...
    def write(self, key: str, data: bytes) -> None: ...


class _Lacking:
    def read(self, key: str, exact: bool = False) -> bytes:
        return b""


class _Renamed:
    def read(self, name: str, *, exact: bool = False) -> bytes:
        return b""

    def write(self, key: str, data: bytes, mode: str) -> None: ...


def test_the_check_fails_a_fake_that_lacks_a_method_or_takes_other_parameters() -> None:
    lacking = mismatches(_Port, _Lacking)
    assert "write: missing" in lacking
    assert any(p.startswith("read: parameter exact") for p in lacking)  # positional where the port says keyword
    renamed = mismatches(_Port, _Renamed)
    assert any(p.startswith("read: parameter key") for p in renamed)
    assert "write: extra parameter mode without a default" in renamed
