"""Design spaces: exact sizes, sampling inside a complexity regime, statistics and fits.

    >>> from netcalc import spaces
    >>> space = spaces.load_space("anynetx_a")
    >>> spaces.space_size(space)
    1846757322198614016
    >>> sample = spaces.sample(space, 10, spaces.Regime.of(space, flops=(360_000_000, 400_000_000)))
    >>> len(sample.records)
    10

Uses numpy (a dependency of netcalc); the analytic counting path never imports this package.
See docs/design_spaces.md.
"""
from .fit import Fit, fit_widths, spec_widths
from .loading import load_space, shipped_names
from .schema import Space
from .regime import Regime
from .sampling import Sample, sample
from .sizes import distinct_networks, size_report, space_size, table1

__all__ = ["Space", "load_space", "shipped_names", "space_size", "size_report", "table1",
           "distinct_networks", "Regime", "Sample", "sample", "Fit", "fit_widths", "spec_widths"]
