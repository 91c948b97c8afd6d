"""Numbers as table text, a whole column at a time: exact decimal seconds from integer
nanoseconds, floats with a fixed number of decimals, and the few distinct values of a
column that repeats them (each formatted once). Used by :mod:`pcapkit.reports.table`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def ns_decimal(ns: np.ndarray, digits: int) -> np.ndarray:
    """Integer nanoseconds as exact decimal seconds with ``digits`` decimals (truncated,
    as :func:`pcapkit.frame.format_epoch_ns`), for a whole array at once."""
    import numpy as np

    if not ns.size:  # (numpy's zfill cannot size an empty array)
        return np.array([], dtype=str)
    neg = ns < 0
    mag = np.abs(ns)
    seconds, nanos = np.divmod(mag, 1_000_000_000)
    text = np.char.add(np.where(neg, "-", ""), seconds.astype(str))
    if digits > 0:
        frac = nanos // 10 ** (9 - min(digits, 9))
        frac_text = np.char.zfill(frac.astype(str), min(digits, 9))
        if digits > 9:
            frac_text = np.char.add(frac_text, "0" * (digits - 9))
        text = np.char.add(np.char.add(text, "."), frac_text)
    return text


def fixed_decimals(values: np.ndarray, decimals: int) -> np.ndarray:
    """Floats as text with ``decimals`` decimals (as ``%.Nf``, but rounded half to even on the
    scaled value), by integer arithmetic over the whole array; ``%.Nf`` itself (one
    Python call per value) only for magnitudes past 2**53 once scaled, and NaN/inf."""
    import numpy as np

    scale = 10 ** decimals
    scaled = np.abs(values) * scale
    exact = np.isfinite(scaled) & (scaled < 2.0**53)
    units = np.round(np.where(exact, scaled, 0.0)).astype(np.int64)
    whole, frac = np.divmod(units, scale)
    text = whole.astype(str)
    if decimals > 0:
        text = np.char.add(np.char.add(text, "."), np.char.zfill(frac.astype(str), decimals))
    text = np.char.add(np.where((values < 0) & (units != 0), "-", ""), text)
    if not exact.all():
        slow = np.flatnonzero(~exact)
        text = text.astype(object)
        text[slow] = [f"{v:.{decimals}f}" for v in values[slow]]
        text = text.astype(str)
    return text


def distinct_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(the distinct values, the index of each value among them) when a column repeats few
    values (a counter that is mostly 0, a flag), so that each is formatted once; None when
    formatting every value costs less: integers over a short range by their offset from
    the least, other numbers through :func:`numpy.unique` when a first look finds repeats."""
    import numpy as np

    n = values.shape[0]
    if n < 64 or values.dtype.kind not in "iuf":
        return None
    if values.dtype.kind in "iu":
        low, high = int(values.min()), int(values.max())
        if high - low >= n // 4:
            return None
        return np.arange(low, high + 1, dtype=values.dtype), (values - low).astype(np.intp)
    if np.unique(values[:64]).shape[0] > 16 or (np.signbit(values) & (values == 0)).any():
        return None  # (few repeats; or -0.0, which unique takes for 0.0)
    distinct, index = np.unique(values, return_inverse=True)
    if distinct.shape[0] > n // 4:
        return None
    return distinct, index.reshape(-1)
