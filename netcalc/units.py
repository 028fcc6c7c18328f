"""What a count's unit is, for column headers: one "flop" of pycls and fvcore is one
multiply-accumulate (docs/conventions.md), one of torch's FlopCounterMode is half of one."""
from __future__ import annotations

from typing import List, Sequence

# conventions whose flops count one per multiply-accumulate (pycls adds one per bias, fvcore
# two per batch-norm input element and one per pooled element, in the same unit)
MAC_CONVENTIONS = ("pycls", "fvcore")


def quantity_headers(quantities: Sequence[str], convention: str) -> List[str]:
    """Column headers of ``quantities``: ``flops (MACs)`` where the convention counts MACs."""
    return [f"{q} (MACs)" if q == "flops" and convention in MAC_CONVENTIONS else q
            for q in quantities]
