"""S_disent and N_attr (ContraFeat; docs/METRICS.md, "Directions"): how many attributes a set of
directions moves, and how singly each direction moves its strongest one.

The input is the attribute-change matrix M[k, a] ≥ 0: how much editing along direction k changes
attribute a (z-scored on real data; built by the directions family). Each row is normalised to a
maximum of 1; rows that change nothing carry no ranking and are left out, and counted.
- S_disent = mean over rows of (largest − second largest): 1 when every direction moves exactly
  one attribute, 0 when its top two attributes move together.
- N_attr = the number of attributes that are some row's maximum (exact ties all count): how many
  distinct attributes the directions control.

An unordered factor (a Shapes hue, an MNIST class) is one attribute per value, and an edit that
turns one value into another moves two of them about equally, so it scores near 0 on S_disent.
`merge_factor_values` gives the factor-level matrix that S_disent_factors and N_attr_factors
score: each factor's value columns replaced by their maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganctrl.finite import finite_rows


@dataclass(frozen=True)
class DisentanglementScores:
    s_disent: float  # NaN when no row moves anything
    n_attr: int
    zero_rows: int  # directions that changed no attribute: excluded from both scores


def attribute_change_scores(matrix) -> DisentanglementScores:
    """S_disent and N_attr of a (directions × attributes) matrix of non-negative changes."""
    changes = np.atleast_2d(finite_rows(matrix, "attribute-change matrix"))
    if changes.shape[1] < 2:
        raise ValueError(f"S_disent needs at least 2 attributes, got {changes.shape[1]}")
    if (changes < 0).any():
        raise ValueError("attribute changes must be >= 0: pass |E[Δ score]| (or E|Δ score|)")
    peaks = changes.max(axis=1)
    moving = peaks > 0
    rows = changes[moving] / peaks[moving, None]
    if not len(rows):
        return DisentanglementScores(float("nan"), 0, int((~moving).sum()))
    ordered = np.sort(rows, axis=1)
    s_disent = float(np.mean(ordered[:, -1] - ordered[:, -2]))
    n_attr = int(np.any(rows == 1.0, axis=0).sum())
    return DisentanglementScores(s_disent, n_attr, int((~moving).sum()))


def merge_factor_values(matrix, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """The columns of one unordered factor ("hue=0", "hue=1", …) merged into one ("hue") by their
    maximum; other columns kept. Factors in order of first appearance."""
    changes = np.atleast_2d(np.asarray(matrix, dtype=float))
    if changes.shape[1] != len(names):
        raise ValueError(f"{changes.shape[1]} attribute columns but {len(names)} names")
    factors = [name.split("=", 1)[0] for name in names]
    merged = list(dict.fromkeys(factors))
    columns = [
        changes[:, [i for i, f in enumerate(factors) if f == factor]].max(axis=1)
        for factor in merged
    ]
    return np.stack(columns, axis=1), merged
