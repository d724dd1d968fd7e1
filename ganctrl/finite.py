"""Non-finite inputs are an error at every metric and search entry point, never a number.

Downstream code would not say so: FAISS answers a NaN query with index -1, which numpy reads as
the last point; ball counts compare False against NaN and return a plausible share; FID stops
inside an eigenvalue solver with a message that does not mention NaN.
"""

from __future__ import annotations

import numpy as np
import torch


def finite_rows(values, name: str, dtype=np.float64) -> np.ndarray:
    """`values` (array-like or tensor, on any device) as a contiguous `dtype` array; a ValueError
    naming `name` and counting the rows (entries along axis 0) that hold NaN or inf otherwise.

    The check runs after the cast, so a float64 value beyond float32's range is caught as the inf
    a float32 consumer (FAISS) would receive.
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
        if values.dtype == torch.bfloat16:
            values = values.double()  # numpy has no bfloat16; widening is exact
        values = values.numpy()
    with np.errstate(over="ignore"):  # an overflow is reported below, as the inf it made
        array = np.ascontiguousarray(values, dtype=dtype)
    if array.ndim == 0:
        raise ValueError(f"{name}: expected rows, got a scalar")
    bad = ~np.isfinite(array).all(axis=tuple(range(1, array.ndim)))
    if bad.any():
        raise ValueError(f"{name}: {int(bad.sum())} of {len(array)} rows hold NaN or inf")
    return array
