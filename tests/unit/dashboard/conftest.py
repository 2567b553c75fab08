from __future__ import annotations

import pytest

from overcast.dashboard import DashboardApp

from .fake_source import FakeSource
from .helpers import Clock, KeyBook, Visitor, sample_source


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def source(clock: Clock) -> FakeSource:
    return sample_source(clock)


@pytest.fixture
def keys() -> KeyBook:
    return KeyBook()


@pytest.fixture
def app(source: FakeSource, clock: Clock, keys: KeyBook) -> DashboardApp:
    return DashboardApp(source, keys.authenticate, identify=keys.identify, clock=clock)


@pytest.fixture
def visitor(app: DashboardApp) -> Visitor:
    return Visitor(app)


@pytest.fixture
def signed_in(app: DashboardApp) -> Visitor:
    visitor = Visitor(app)
    assert visitor.sign_in().status == 303
    return visitor
