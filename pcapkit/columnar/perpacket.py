"""Rows the fast path marked, decoded by the per-packet dissectors.

:func:`fill` runs :func:`pcapkit.dissect.driver.dissect` on each marked frame and
copies the fields of the packets table into the row, so a value never depends on
which path decoded it. When the driver is not installed, the rows keep what the fast
path decoded and stay marked (``pcapkit.fallback`` True).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pcapkit.columnar.decode import Columns
from pcapkit.columnar.offsets import RecordBatch

if TYPE_CHECKING:
    import pandas as pd


def driver_available() -> bool:
    try:
        import pcapkit.dissect.driver  # noqa: F401
    except ImportError:
        return False
    return True


def fill(df: pd.DataFrame, rb: RecordBatch, cols: Columns) -> None:
    if not driver_available():
        return
