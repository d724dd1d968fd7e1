"""Precision/recall, density/coverage and KID from one pass over each pair of feature sets.

The four manifold metrics need the real set's k-NN radii (k = 3 for precision/recall, 5 for
density/coverage), the fake set's k = 3 radii, and which real–fake distances fall inside which
radius; KID needs the polynomial kernel over real–real, fake–fake and real–fake pairs. All of it
is read from three matrices of squared distances, each formed once, a tile of rows at a time on
the job's device (memory bounded whatever N is): real–real (`ReferenceSet`, kept for every
comparison against the same real set), fake–fake and fake–real (`compare`).

Exactness. The tiles are float32 matrix products, fast on any device: rows [a, ‖a‖², 1] times
columns [−2b, 1, ‖b‖²] give ‖a‖² + ‖b‖² − 2aᵀb, a squared distance within a known bound
(`_margin`) of the exact one. Every decision the metrics take is a comparison of a distance
with a radius, so a decision the bound cannot settle, and every radius itself, is taken again
from exact float64 differences of the original features (`exact_distances`, the one exact
function: a radius and a distance compared with it come out of the same arithmetic, so exact
duplicates sit at 0 and equal distances tie). The manifold metrics are therefore those of exact
float64 distances, bit for bit. The features are centred on the real set's mean first, which
changes no distance and keeps the bound tight. KID's kernel is formed from the same tiles in
float32 and summed in float64: equal to the float64 formula to float tolerance (tests pin it),
about 1e-6 relative where the features' ‖mean‖²/d is near 1 or below (the kernel's constant);
the error grows with it, to 1e-3 at 2 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ganctrl.finite import finite_rows

# Float32 tile entries held at once; bounds memory whatever N is.
TILE_BYTES = 64 * 2**20
# Candidates beyond the k + 1 nearest that a radius is checked against; more candidates make
# the exact fallback (a row whose bound could not rule out a closer point) rarer.
SPARE_CANDIDATES = 4


def _unit_roundoff(device: torch.device) -> float:
    """Of the float32 products, as the user's matmul precision lets torch compute them: bfloat16
    passes ("medium") keep 8 mantissa bits, TF32 ("high", or allowed on CUDA) keeps 11."""
    precision = torch.get_float32_matmul_precision()
    if precision == "medium":
        return 2.0**-8
    if device.type == "cuda" and (precision == "high" or torch.backends.cuda.matmul.allow_tf32):
        return 2.0**-11
    return 2.0**-24


@dataclass
class Points:
    """One feature set on the engine's device: the exact rows, and the centred float32 rows
    (c = exact − centre) the tiles are formed from."""

    exact: torch.Tensor  # (n, d) float64, as given
    centre: torch.Tensor  # (d,) float64, shared by every set compared with this one
    norms: torch.Tensor  # (n,) float32: ‖c‖²
    as_rows: torch.Tensor  # (n, d + 2) float32: [c, ‖c‖², 1]
    as_columns: torch.Tensor  # (n, d + 2) float32: [−2c, 1, ‖c‖²]
    centre_dots: torch.Tensor  # (n,) float32: (exact − centre)·centre, for KID's raw products

    @classmethod
    def of(cls, values, name: str, centre: torch.Tensor | None = None, device=None) -> Points:
        exact = torch.from_numpy(finite_rows(values, name)).to(device or "cpu")
        centre = exact.mean(dim=0) if centre is None else centre
        centred = exact - centre
        fast = centred.float()
        norms = (fast.double() ** 2).sum(dim=1).float()
        ones = torch.ones_like(norms)
        as_rows = torch.cat([fast, norms[:, None], ones[:, None]], dim=1)
        as_columns = torch.cat([-2 * fast, ones[:, None], norms[:, None]], dim=1)
        return cls(exact, centre, norms, as_rows, as_columns, (centred @ centre).float())

    def like(self, values, name: str) -> Points:
        """Another set, centred on this one's centre and on its device."""
        return Points.of(values, name, self.centre, self.exact.device)

    def __len__(self) -> int:
        return len(self.exact)


def exact_distances(a: Points, rows: torch.Tensor, b: Points, cols: torch.Tensor) -> torch.Tensor:
    """‖a[rows[p]] − b[cols[p]]‖ for each pair p, from float64 differences of the original rows."""
    difference = a.exact[rows] - b.exact[cols]
    return (difference * difference).sum(dim=1).sqrt()


def _tile_rows(columns: int) -> int:
    return max(1, TILE_BYTES // (4 * max(1, columns)))


def squared_tiles(a: Points, b: Points) -> Iterator[tuple[slice, torch.Tensor]]:
    """(rows, float32 squared distances from a[rows] to every b), a tile of rows at a time, each
    written over the last one's memory (a consumer copies what it keeps)."""
    step = _tile_rows(len(b))
    buffer = a.as_rows.new_empty(min(step, len(a)), len(b))
    for start in range(0, len(a), step):
        rows = slice(start, min(start + step, len(a)))
        yield rows, torch.mm(a.as_rows[rows], b.as_columns.T, out=buffer[: rows.stop - start])


def _margin(a: Points, rows: slice, b: Points) -> float:
    """A bound on |computed − exact| squared distance over a tile: the (d + 2)-term float32 dot
    product errs by at most (d + 2)·u times the sum of its terms' magnitudes, 2(‖a‖² + ‖b‖²);
    rounding the inputs and the norms adds a few u·(‖a‖² + ‖b‖²); doubled for safety."""
    u, d = _unit_roundoff(a.exact.device), a.exact.shape[1]
    return 4 * (d + 16) * u * (a.norms[rows].max().item() + b.norms.max().item())


def _any_within(gap: torch.Tensor, margin: float, dim: int, exact) -> torch.Tensor:
    """For each row (dim = 1) or column (dim = 0) of a tile of gaps d² − r², each within `margin`
    of its exact value: whether some entry has d inside r. Lines the margin cannot settle ask
    `exact(i, j)` (rows, columns of the tile) about their entries within the margin, all in one
    call (a call per line cost a device round trip each)."""
    lowest = gap.amin(dim=dim)
    inside = lowest < -margin
    lines = (lowest.abs() <= margin).nonzero(as_tuple=True)[0]
    if len(lines):  # no entry of these is surely inside: the undecided ones answer
        undecided = gap.index_select(1 - dim, lines) <= margin
        line, entry = (undecided if dim == 1 else undecided.T).nonzero(as_tuple=True)
        line = lines[line]
        inside[line[exact(line, entry) if dim == 1 else exact(entry, line)]] = True
    return inside


def _count_within(gap: torch.Tensor, flags: torch.Tensor, margin: float, exact) -> int:
    """How many entries of a tile of gaps d² − r² have d inside r (`flags`: two bool tiles of
    scratch)."""
    sure, maybe = torch.lt(gap, -margin, out=flags[0]), torch.le(gap, margin, out=flags[1])
    count = torch.count_nonzero(sure).item()
    if torch.count_nonzero(maybe).item() == count:
        return count
    i, j = maybe.logical_xor_(sure).nonzero(as_tuple=True)  # sure implies maybe
    return count + int(exact(i, j).sum().item())


def _kth_distances(points: Points, row_ids, computed, columns, low, high, k: int) -> torch.Tensor:
    """Each row's exact (k+1)-th smallest distance to `points`, from its computed squared
    distances (row r's at columns[r] of `points`, or at 0, 1, … where `columns` is None) and two
    bounds around the computed (k+1)-th: an entry below `low` is surely nearer, one above `high`
    surely farther, and only those in between get exact distances. Both tests read the same two
    rounded bounds, so no entry near one falls in neither (one that did left an empty slot, and
    the radius read inf: seen in 1 of 50 000 rows, on a GPU and a CPU)."""
    below = (computed < low).sum(dim=1)
    undecided = (computed >= low) & (computed <= high)
    per_row = undecided.sum(dim=1)  # ≥ 1: the computed (k+1)-th itself
    i, j = undecided.nonzero(as_tuple=True)
    slot = torch.arange(len(i), device=i.device) - (per_row.cumsum(0) - per_row)[i]
    table = torch.full(
        (len(computed), int(per_row.max())), torch.inf, dtype=torch.float64, device=computed.device
    )
    table[i, slot] = exact_distances(
        points, row_ids[i], points, j if columns is None else columns[i, j]
    )
    return table.sort(dim=1).values.gather(1, (k - below)[:, None]).squeeze(1)


def _radii(points: Points, rows: slice, squared: torch.Tensor, ks: tuple[int, ...]):
    """Each row's exact k-NN radius for each k: its (k+1)-th smallest distance, own zero counted
    (dropping column 0 instead would go wrong on exact duplicates, whose own index need not come
    first among the zeros).

    With every computed squared distance within M of the exact one, the computed and the exact
    (k+1)-th smallest are within M of each other, so a point computed 2M below the (k+1)-th is
    surely nearer and one 2M above surely farther: only the few in between need exact distances.
    A row whose candidates end within 2M of it (frequent at 2 048-d, where distances crowd) is
    settled the same way from its whole computed row in the tile."""
    count = min(len(points), max(ks) + 1 + SPARE_CANDIDATES)
    computed, candidates = squared.topk(count, dim=1, largest=False, sorted=True)
    margin = 2 * _margin(points, rows, points)
    row_ids = torch.arange(rows.start, rows.stop, device=squared.device)
    radii = {}
    for k in ks:
        at_k = computed[:, k : k + 1]
        low, high = at_k - margin, at_k + margin
        radius = _kth_distances(points, row_ids, computed, candidates, low, high, k)
        if count < len(points):
            short = (computed[:, -1] <= high[:, 0]).nonzero(as_tuple=True)[0]
            if len(short):
                radius[short] = _kth_distances(
                    points, row_ids[short], squared[short], None, low[short], high[short], k
                )
        radii[k] = radius
    return radii


@dataclass
class KidDraws:
    """KID's seeded subsets (Bińkowski et al.: unbiased MMD² with k(x, y) = (xᵀy/d + 1)³ over
    equal-size subsets), as 0/1 membership columns: x_sets[i, s] = 1 where fake i is in draw s."""

    x_sets: torch.Tensor  # (n_fake, S) float32
    y_sets: torch.Tensor  # (n_real, S) float32
    size: int

    @classmethod
    def of(cls, n_x: int, n_y: int, subsets: int, subset_size: int, seed: int, device=None):
        m = min(subset_size, n_x, n_y)
        if m < 2:
            raise ValueError("KID needs at least 2 samples in each set")
        if m == n_x == n_y:
            subsets = 1  # every "subset" is the whole of both sets: all draws give the same value
        rng = np.random.default_rng(seed)
        x_sets, y_sets = torch.zeros(n_x, subsets), torch.zeros(n_y, subsets)
        for s in range(subsets):  # the draw order of the float64 reference, fidelity.kid
            x_sets[rng.choice(n_x, m, replace=False), s] = 1.0
            y_sets[rng.choice(n_y, m, replace=False), s] = 1.0
        return cls(x_sets.to(device or "cpu"), y_sets.to(device or "cpu"), m)


def _kernel_sums(
    squared: torch.Tensor,
    a: Points,
    rows: slice,
    b: Points,
    a_sets: torch.Tensor,
    b_sets: torch.Tensor,
    same: bool,
    out: torch.Tensor,
) -> torch.Tensor:
    """Per draw s: Σ k(a_i, b_j) over a_i in draw s of `a_sets` (these rows) and b_j in draw s of
    `b_sets`, i ≠ j when a and b are one set (`same`); `out`: scratch of the tile's shape.
    With x = c + centre the raw product is xᵀy = cₓᵀc_y + (cₓ + c_y)·centre + ‖centre‖², and
    cₓᵀc_y = (‖cₓ‖² + ‖c_y‖² − ‖cₓ − c_y‖²) / 2: the kernel's base xᵀy/d + 1 is −squared/2d plus
    a term per row and one per column."""
    d = a.exact.shape[1]
    per_row = (a.norms[rows] / 2 + a.centre_dots[rows]) / d + float(a.centre @ a.centre) / d + 1
    per_column = (b.norms / 2 + b.centre_dots) / d
    kernel = torch.add(per_column[None, :], squared, alpha=-0.5 / d, out=out)
    kernel.add_(per_row[:, None]).pow_(3)
    if same:
        kernel.diagonal(offset=rows.start).zero_()
    return ((kernel @ b_sets).double() * a_sets[rows].double()).sum(dim=0)


def _within_pass(points: Points, ks: tuple[int, ...], sets: torch.Tensor | None):
    """One pass over a set against itself: its k-NN radius for each k, and KID's within-set
    kernel sums over the draws in `sets`."""
    radii = {
        k: torch.empty(len(points), dtype=torch.float64, device=points.exact.device) for k in ks
    }
    sums = 0.0
    if sets is not None:
        scratch = points.as_rows.new_empty(min(_tile_rows(len(points)), len(points)), len(points))
    for rows, squared in squared_tiles(points, points):
        if sets is not None:
            kernel = scratch[: len(squared)]
            sums = sums + _kernel_sums(squared, points, rows, points, sets, sets, True, kernel)
        for k, radius in _radii(points, rows, squared, ks).items():
            radii[k][rows] = radius
    return radii, sums


def _check_k(points: Points, ks: tuple[int, ...], name: str) -> None:
    top = max(ks)
    if not 1 <= min(ks) or top >= len(points):
        raise ValueError(
            f"{name}: a k-th other neighbour (k={top}) needs more than k points, got {len(points)}"
        )


@dataclass
class ReferenceSet:
    """A real set's features, k-NN radii and KID within-set sums, formed in one pass and compared
    with many fake sets (the generated set, then the train-split floor)."""

    points: Points
    radii: dict[int, torch.Tensor]
    kid: KidDraws | None
    kid_within: torch.Tensor | None

    @classmethod
    def of(cls, real, ks: tuple[int, ...], kid: KidDraws | None = None, device=None):
        points = Points.of(real, "real features", device=device)
        ks = tuple(sorted(set(ks)))
        _check_k(points, ks, "real features")
        radii, within = _within_pass(points, ks, None if kid is None else kid.y_sets)
        return cls(points, radii, kid, within if kid is not None else None)


def compare(
    reference: ReferenceSet, fake, pr_k: int = 3, dc_k: int = 5, kid: bool = True
) -> dict[str, float]:
    """Precision and recall (Kynkäänniemi et al., k = pr_k, ≤), density and coverage (Naeem et
    al., k = dc_k, strict <), and, where the reference holds KID draws and `kid`, KID's mean and
    std, of `fake` against the reference, from a fake–fake and a fake–real pass."""
    real = reference.points
    fake = real.like(fake, "fake features")
    _check_k(fake, (pr_k,), "fake features")
    draws = reference.kid if kid else None
    if draws is not None and len(draws.x_sets) != len(fake):
        raise ValueError(f"KID draws were made for {len(draws.x_sets)} fake rows, not {len(fake)}")
    fake_radii, fake_within = _within_pass(fake, (pr_k,), None if draws is None else draws.x_sets)
    fake_pr, real_pr, real_dc = fake_radii[pr_k], reference.radii[pr_k], reference.radii[dc_k]
    fake_pr_sq, real_pr_sq, real_dc_sq = ((r * r).float() for r in (fake_pr, real_pr, real_dc))
    device = real.exact.device
    fake_inside = torch.zeros(len(fake), dtype=torch.bool, device=device)
    real_inside = torch.zeros(len(real), dtype=torch.bool, device=device)
    covered = torch.zeros(len(real), dtype=torch.bool, device=device)
    within_dc, cross = 0, 0.0
    gap = fake.as_rows.new_empty(min(_tile_rows(len(real)), len(fake)), len(real))
    flags = torch.empty((2, *gap.shape), dtype=torch.bool, device=device)
    for rows, squared in squared_tiles(fake, real):
        g, f = gap[: len(squared)], flags[:, : len(squared)]
        if draws is not None:
            sets = (draws.x_sets, draws.y_sets)
            cross = cross + _kernel_sums(squared, fake, rows, real, *sets, same=False, out=g)
        margin = _margin(fake, rows, real)

        def exact(radius, strict: bool, per_fake: bool = False, rows=rows):
            """(i, j) → whether fake rows.start + i lies inside the radius (of that fake where
            `per_fake`, else of real j), from exact distances."""

            def inside(i, j):
                distance = exact_distances(fake, rows.start + i, real, j)
                bound = radius[rows.start + i] if per_fake else radius[j]
                return distance < bound if strict else distance <= bound

            return inside

        torch.sub(squared, real_pr_sq[None, :], out=g)  # precision: k = pr_k, ≤
        fake_inside[rows] = _any_within(g, margin, 1, exact(real_pr, False))
        torch.sub(squared, fake_pr_sq[rows, None], out=g)  # recall: the fake balls, ≤
        real_inside |= _any_within(g, margin, 0, exact(fake_pr, False, per_fake=True))
        torch.sub(squared, real_dc_sq[None, :], out=g)  # density, coverage: k = dc_k, <
        covered |= _any_within(g, margin, 0, exact(real_dc, True))
        within_dc += _count_within(g, f, margin, exact(real_dc, True))
    scores = {
        # counts over sizes, so that no device's summation order moves the last bit
        "precision": fake_inside.count_nonzero().item() / len(fake),
        "recall": real_inside.count_nonzero().item() / len(real),
        "density": within_dc / (len(fake) * dc_k),
        "coverage": covered.count_nonzero().item() / len(real),
    }
    if draws is not None:
        m = draws.size
        values = (fake_within + reference.kid_within) / (m * (m - 1)) - 2 * cross / m**2
        scores["kid"], scores["kid_std"] = values.mean().item(), values.std(correction=0).item()
    return scores
