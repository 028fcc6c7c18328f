"""Complexity checks for other repositories' tests and CI (``../../docs/testing_and_ci.md``).

    from netcalc.testing import (assert_budget, assert_complexity, assert_lock,
                                 assert_matches_fvcore, assert_matches_lock)

    assert_complexity("regnetx_800mf", flops=799_700_712, params="7.26M", rel=1e-3)
    assert_budget("regnetx_800mf", flops="800M", params="7.5M")   # at most
    assert_complexity(my_module, flops=810_028_128, convention="fvcore", resolution=224)
    assert_matches_fvcore("specs/my_net.yaml")       # the real module, traced, layer by layer
    assert_lock("netcalc.lock")                     # no count changed since `netcalc lock`
    assert_matches_lock("models/net.py:build", "netcalc.lock")   # nor a layer of the model

The assertions live in :mod:`netcalc.testing.assertions`, the pytest fixture and option in
:mod:`netcalc.testing.plugin` (loaded with ``pytest_plugins = ["netcalc.testing"]``). The
lock-file format (:mod:`netcalc.lockfile`) and budgets (:mod:`netcalc.budgets`) are not test
code (``netcalc check`` and ``netcalc lock`` use them) and are re-exported here for tests.
"""
import sys

from ..budgets import BudgetRow, check_budgets
from ..lockfile import (IMPORT_LOCK_FORMAT, LOCK_FORMAT, LockChange, LockDifferences, LockedModel,
                        dump_lock, lock_changes, lock_differences, lock_entry, make_lock,
                        read_lock, read_lock_file, refresh_lock, render_lock_changes)
from .assertions import (Expected, Failure, assert_budget, assert_complexity, assert_lock,
                         assert_matches_fvcore, assert_matches_lock, compare_counts)

__all__ = ["assert_complexity", "assert_budget", "assert_matches_fvcore", "assert_lock",
           "assert_matches_lock",
           "compare_counts", "Failure", "Expected", "BudgetRow", "check_budgets", "LOCK_FORMAT",
           "LockChange", "LockedModel", "dump_lock", "lock_changes", "lock_entry", "make_lock",
           "read_lock", "refresh_lock", "render_lock_changes", "IMPORT_LOCK_FORMAT",
           "LockDifferences", "lock_differences", "read_lock_file"]

if "pytest" in sys.modules:         # the plugin: pytest_plugins = ["netcalc.testing"]
    from .plugin import LockFixture, netcalc_lock, pytest_addoption  # noqa: F401
