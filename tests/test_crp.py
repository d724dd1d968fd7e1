"""MIC-GAN's CRP step (docs/METHODS.md §5): the Gibbs sweep against a brute-force sampler, the
counts it keeps, the Gaussian refit with its inflation, and the removal of small tables."""

import itertools
import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from ganctrl.methods.mic_gan.crp import (
    Tables,
    crp_rounds,
    gibbs_sweep,
    initial_tables,
    log_likelihoods,
    normalised_likelihoods,
    reassign_removed,
    refit,
)

LIKELIHOODS = np.array([[1.0, 0.5, 0.1], [0.2, 1.0, 0.7], [1.0, 0.9, 0.05], [0.6, 1.0, 0.3]])
START = np.array([0, 1, 1, 0])  # four images: counts of 2 against 1 tell n_k·ℓ from (n_k + c)·ℓ


def exact_sweep_distribution(likelihoods, start, alpha=0.0) -> dict[tuple, float]:
    """P(labels after one sweep), by enumerating every visiting order and every draw."""
    n, k = likelihoods.shape
    result: dict[tuple, float] = {}
    for order in itertools.permutations(range(n)):
        states = {tuple(start): 1.0 / math.factorial(n)}
        for i in order:
            following: dict[tuple, float] = {}
            for state, p in states.items():
                counts = np.bincount(state, minlength=k).astype(float)
                counts[state[i]] -= 1
                weights = np.where(counts > 0, counts, alpha) * likelihoods[i]
                for table in range(k):
                    if weights[table] > 0:
                        new = list(state)
                        new[i] = table
                        q = p * weights[table] / weights.sum()
                        following[tuple(new)] = following.get(tuple(new), 0.0) + q
            states = following
        for state, p in states.items():
            result[state] = result.get(state, 0.0) + p
    return result


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_the_sweep_samples_the_sequential_crp_exactly(alpha):
    exact = exact_sweep_distribution(LIKELIHOODS, START, alpha)
    rng, draws = np.random.default_rng(0), 50_000
    seen: dict[tuple, int] = {}
    for _ in range(draws):
        labels, counts = START.copy(), np.bincount(START, minlength=3).astype(float)
        gibbs_sweep(LIKELIHOODS, labels, counts, rng, alpha)
        assert counts.tolist() == np.bincount(labels, minlength=3).tolist()
        seen[tuple(labels)] = seen.get(tuple(labels), 0) + 1
    states = set(exact) | set(seen)
    total_variation = 0.5 * sum(abs(exact.get(s, 0.0) - seen.get(s, 0) / draws) for s in states)
    assert total_variation < 0.02
    assert set(seen) <= set(exact)  # no state the process cannot reach


def test_the_sweep_is_seeded_and_falls_back_to_uniform_on_zero_weights():
    runs = []
    for _ in range(2):
        labels, counts = START.copy(), np.array([2.0, 2.0, 0.0])
        gibbs_sweep(LIKELIHOODS, labels, counts, np.random.default_rng(7))
        runs.append(labels.tolist())
    assert runs[0] == runs[1]
    # one image alone at its table, every other table with likelihood 0: it may go anywhere
    lonely = np.array([[0.0, 0.0, 1.0]])
    landed = set()
    for seed in range(30):
        labels, counts = np.array([2]), np.array([0.0, 0.0, 1.0])
        gibbs_sweep(lonely, labels, counts, np.random.default_rng(seed))
        landed.add(int(labels[0]))
    assert landed == {0, 1, 2}


def test_likelihoods_are_gaussian_densities_normalised_per_image():
    rng = np.random.default_rng(1)
    tables = initial_tables(3, 4)
    tables.covariances[1] = np.diag([0.5, 1.0, 2.0, 0.3])
    tables.removed[2] = True
    e = rng.normal(size=(5, 4))
    ll = log_likelihoods(e, tables)
    for k in (0, 1):
        expected = multivariate_normal(tables.means[k], tables.covariances[k]).logpdf(e)
        assert np.allclose(ll[:, k], expected)
    assert np.all(ll[:, 2] == -np.inf)
    normalised = normalised_likelihoods(ll)
    assert np.allclose(normalised.max(axis=1), 1.0) and np.all(normalised[:, 2] == 0)
    far = normalised_likelihoods(np.array([[-2000.0, -2001.0]]))  # the raw densities underflow
    assert np.allclose(far, [[1.0, math.exp(-1.0)]])


def test_refit_inflates_the_deviations_and_removes_small_tables():
    rng = np.random.default_rng(2)
    dim = 2
    keep = 10 * (dim + 1) + 1  # one more than the removal threshold
    members = rng.normal(3.0, 2.0, size=(keep, dim))
    embeddings = np.concatenate([members, rng.normal(size=(10 * (dim + 1), dim))])
    labels = np.array([0] * keep + [1] * (10 * (dim + 1)))
    tables = refit(embeddings, labels, initial_tables(2, dim))
    centred = members - members.mean(axis=0)
    assert np.allclose(tables.means[0], members.mean(axis=0))
    assert np.allclose(tables.covariances[0], 1.1**2 * centred.T @ centred / (keep - 1))
    assert tables.removed.tolist() == [False, True]
    assert np.allclose(tables.covariances[1], 0.1 * np.eye(dim))  # a removed table is not refitted
    degenerate = np.concatenate([np.zeros((keep, dim)), embeddings[keep:]])
    kept = refit(degenerate, labels, initial_tables(2, dim))
    assert np.allclose(kept.covariances[0], 0.1 * np.eye(dim))  # singular fit: the old Gaussian
    looser = refit(embeddings, labels, initial_tables(2, dim), min_members_per_dim=3)
    assert looser.removed.tolist() == [False, False]  # 30 members > 3·(d + 1)
    assert np.allclose(looser.means[1], embeddings[keep:].mean(axis=0))


def test_removed_tables_send_their_images_to_kept_ones_at_random():
    removed = np.array([False, True, False, True])
    labels = np.array([1, 3, 1, 0, 2, 3] * 50)
    moved = reassign_removed(labels, removed, np.random.default_rng(3))
    assert set(moved.tolist()) == {0, 2}
    assert np.array_equal(moved[~removed[labels]], labels[~removed[labels]])
    assert 0.35 < np.mean(moved[removed[labels]] == 0) < 0.65
    with pytest.raises(ValueError, match="every table"):
        reassign_removed(labels, np.ones(4, dtype=bool), np.random.default_rng(0))


def test_crp_rounds_find_well_separated_groups_and_drop_empty_tables():
    """Three tight groups near three of five one-hot means: the two idle tables are removed."""
    rng = np.random.default_rng(4)
    dim, size = 5, 200
    centres = np.eye(dim)[[0, 2, 4]]
    embeddings = np.concatenate([c + 0.05 * rng.normal(size=(size, dim)) for c in centres])
    truth = np.repeat([0, 2, 4], size)
    labels, tables, weights, seconds = crp_rounds(embeddings, initial_tables(5, dim), rng)
    assert tables.removed.tolist() == [False, True, False, True, False]
    assert np.array_equal(labels, truth)
    assert np.allclose(weights, [1 / 3, 0, 1 / 3, 0, 1 / 3]) and len(seconds) == 9
    assert isinstance(tables, Tables)
