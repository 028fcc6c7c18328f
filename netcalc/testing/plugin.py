"""The pytest side: a ``netcalc_lock`` fixture and the ``--netcalc-update-lock`` option.

Loaded by ``pytest_plugins = ["netcalc.testing"]`` (or by importing the fixture); imported only
when pytest is running, so ``netcalc.testing`` itself does not need pytest.
"""
from __future__ import annotations

import sys
from typing import Any, Sequence

import pytest

from ..lockfile import dump_lock, refresh_lock
from .assertions import assert_lock


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--netcalc-update-lock", action="store_true", default=False,
                     help="rewrite netcalc lock files checked with the netcalc_lock fixture")


class LockFixture:
    """``netcalc_lock.check(path, specs)``: assert the lock, or rewrite it when asked."""

    def __init__(self, update: bool):
        self.update = update

    def check(self, lock_path: str, specs: Sequence[str] = ()) -> None:
        if self.update:
            text = dump_lock(refresh_lock(lock_path))
            with open(lock_path, "w", encoding="utf-8") as handle:
                handle.write(text)
            sys.stderr.write(f"wrote {lock_path}\n")     # shown with pytest -s or on a failure
            return
        assert_lock(lock_path, specs)


@pytest.fixture
def netcalc_lock(request: Any) -> LockFixture:
    """Use with ``pytest_plugins = ["netcalc.testing"]`` (or import the fixture)."""
    return LockFixture(bool(request.config.getoption("--netcalc-update-lock", default=False)))
