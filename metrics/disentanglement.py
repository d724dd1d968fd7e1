"""Disentanglement scores against ground-truth factors (docs/METRICS.md, "Disentanglement"),
with disentanglement_lib's definitions and defaults: MIG (Chen et al., 2018), DCI (Eastwood &
Williams, 2018), the FactorVAE score (Kim & Mnih, 2018) and SAP (Kumar et al., 2018).

A representation is a (N, D) code per image; the factors are (N, F) integer labels. Continuous
codes are discretised per dimension into equal-width histogram bins (the library's
`_histogram_discretize`, 20 bins), and mutual information is scikit-learn's, in nats.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import entropy
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import mutual_info_score
from sklearn.svm import LinearSVC

from ganctrl.finite import finite_rows
from ganctrl.methods.common.contract import Clusters, Directions
from ganctrl.metrics.code_encoder import encode, generated_codes, has_code, train_encoder
from ganctrl.metrics.evaluate import Context, register_family


def histogram_discretize(codes, bins: int = 20) -> np.ndarray:
    """Each code dimension cut into `bins` equal-width bins over its own range: (N, D) bin ids."""
    codes = finite_rows(codes, "codes")
    discrete = np.empty(codes.shape, dtype=np.int64)
    for d in range(codes.shape[1]):
        edges = np.histogram(codes[:, d], bins)[1]
        discrete[:, d] = np.digitize(codes[:, d], edges[:-1])
    return discrete


def mutual_information(discrete_codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """I(code d; factor f) for every pair: (D, F), in nats."""
    return np.array(
        [
            [
                mutual_info_score(factors[:, f], discrete_codes[:, d])
                for f in range(factors.shape[1])
            ]
            for d in range(discrete_codes.shape[1])
        ]
    )


def mig(codes, factors, bins: int = 20) -> float:
    """Mean over factors of (largest − second largest I(code d; factor)) / H(factor).

    A factor that takes one value carries no information to share: it is refused, since the
    library would divide by its zero entropy."""
    codes, factors = finite_rows(codes, "codes"), np.asarray(factors)
    if factors.ndim != 2 or len(factors) != len(codes):
        raise ValueError(f"factors must be (N, F) with N = {len(codes)} codes, got {factors.shape}")
    if codes.ndim != 2 or codes.shape[1] < 2:
        raise ValueError("MIG needs a code of at least 2 dimensions")
    entropy = np.array([mutual_info_score(f, f) for f in factors.T])
    if (entropy == 0).any():
        raise ValueError(f"factors {np.flatnonzero(entropy == 0).tolist()} are constant")
    information = np.sort(mutual_information(histogram_discretize(codes, bins), factors), axis=0)
    return float(np.mean((information[-1] - information[-2]) / entropy))


@dataclass(frozen=True)
class DCIScores:
    disentanglement: float
    completeness: float
    informativeness_train: float  # accuracy of the per-factor classifiers
    informativeness_test: float
    importance: np.ndarray  # (D, F)


def dci_from_importance(importance: np.ndarray) -> tuple[float, float]:
    """Disentanglement Σ_d ρ_d (1 − H_F(P_d·)) and completeness Σ_f ρ_f (1 − H_D(P_·f)) of a
    (codes × factors) importance matrix; ρ the share of total importance, entropies in base F
    (resp. D). An all-zero matrix is read as uniform, as the library does."""
    importance = np.abs(np.asarray(importance, dtype=np.float64))
    if importance.sum() == 0:
        importance = np.ones_like(importance)
    per_code = 1.0 - entropy(importance.T + 1e-11, base=importance.shape[1])
    code_share = importance.sum(axis=1) / importance.sum()
    per_factor = 1.0 - entropy(importance + 1e-11, base=importance.shape[0])
    factor_share = importance.sum(axis=0) / importance.sum()
    return float(per_code @ code_share), float(per_factor @ factor_share)


def dci(train_codes, train_factors, test_codes, test_factors, seed: int = 0) -> DCIScores:
    """DCI with the library's predictor: one GradientBoostingClassifier (scikit-learn defaults)
    per factor; importances are its feature importances, informativeness its accuracy."""
    train_codes = finite_rows(train_codes, "codes")
    test_codes = finite_rows(test_codes, "codes")
    train_factors, test_factors = np.asarray(train_factors), np.asarray(test_factors)
    importance = np.zeros((train_codes.shape[1], train_factors.shape[1]))
    train_accuracy, test_accuracy = [], []
    for f in range(train_factors.shape[1]):
        model = GradientBoostingClassifier(random_state=seed)
        model.fit(train_codes, train_factors[:, f])
        importance[:, f] = np.abs(model.feature_importances_)
        train_accuracy.append(np.mean(model.predict(train_codes) == train_factors[:, f]))
        test_accuracy.append(np.mean(model.predict(test_codes) == test_factors[:, f]))
    disentanglement, completeness = dci_from_importance(importance)
    return DCIScores(
        disentanglement,
        completeness,
        float(np.mean(train_accuracy)),
        float(np.mean(test_accuracy)),
        importance,
    )


# Draws `batch` codes of images that share value `value` of factor `factor`, from a seeded rng.
FixedFactorSampler = Callable[[int, int, int, np.random.Generator], np.ndarray]


def factor_vae_score(
    codes,
    factors,
    sample_fixed: FixedFactorSampler,
    factor_sizes,
    seed: int = 0,
    batch: int = 64,
    train_votes: int = 10000,
    eval_votes: int = 5000,
    variance_samples: int = 10000,
    prune_threshold: float = 0.05,
) -> dict:
    """The FactorVAE score: a majority-vote classifier from "the code dimension of least
    normalised variance" to "the factor held fixed", trained on `train_votes` batches and scored
    on `eval_votes` more. Dimensions whose standard deviation (over `variance_samples` codes) is
    below `prune_threshold` are left out; with none left the score is 0, as in the library."""
    codes = finite_rows(codes, "codes")
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(codes), min(variance_samples, len(codes)), replace=False)
    global_variance = np.var(codes[rows], axis=0, ddof=1)
    active = np.sqrt(global_variance) >= prune_threshold
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "active_dims": 0}

    def votes(count: int) -> np.ndarray:
        table = np.zeros((codes.shape[1], len(factor_sizes)), dtype=np.int64)
        for _ in range(count):
            factor = int(rng.integers(len(factor_sizes)))
            value = int(rng.integers(factor_sizes[factor]))
            local = np.var(sample_fixed(factor, value, batch, rng), axis=0, ddof=1)
            ratio = local[active] / global_variance[active]
            table[np.flatnonzero(active)[np.argmin(ratio)], factor] += 1
        return table

    train, evaluation = votes(train_votes), votes(eval_votes)
    classifier = np.argmax(train, axis=1)
    return {
        "train_accuracy": float(train.max(axis=1).sum() / train.sum()),
        "eval_accuracy": float(
            evaluation[np.arange(len(classifier)), classifier].sum() / evaluation.sum()
        ),
        "active_dims": int(active.sum()),
    }


def sap_matrix(
    train_codes, train_factors, test_codes, test_factors, continuous: bool
) -> np.ndarray:
    """(D, F) predictiveness of each factor from each single code dimension: the R² of a linear
    fit (continuous form) or the test accuracy of a LinearSVC(C=0.01, balanced) (discrete)."""
    train_codes, test_codes = finite_rows(train_codes, "codes"), finite_rows(test_codes, "codes")
    train_factors, test_factors = np.asarray(train_factors), np.asarray(test_factors)
    scores = np.zeros((train_codes.shape[1], train_factors.shape[1]))
    for d in range(train_codes.shape[1]):
        for f in range(train_factors.shape[1]):
            if continuous:
                covariance = np.cov(train_codes[:, d], train_factors[:, f], ddof=1)
                if covariance[0, 0] > 1e-12:
                    scores[d, f] = covariance[0, 1] ** 2 / (covariance[0, 0] * covariance[1, 1])
            else:
                model = LinearSVC(C=0.01, class_weight="balanced")
                model.fit(train_codes[:, d : d + 1], train_factors[:, f])
                predicted = model.predict(test_codes[:, d : d + 1])
                scores[d, f] = np.mean(predicted == test_factors[:, f])
    return scores


def sap_from_matrix(scores: np.ndarray) -> float:
    """Mean over factors of the gap between the two most predictive code dimensions."""
    ordered = np.sort(np.asarray(scores), axis=0)
    return float(np.mean(ordered[-1] - ordered[-2]))


@dataclass
class DisentanglementSettings:
    generated: int = 10000  # generated images the code encoder learns from
    encoder_epochs: int = 5
    encoder_batch: int = 64
    encoder_lr: float = 1e-3
    train_points: int = 10000  # real images (train split) the scores fit on
    test_points: int = 5000  # real images (test split) they are scored on
    mig_bins: int = 20
    factor_vae_batch: int = 64
    factor_vae_train_votes: int = 10000
    factor_vae_eval_votes: int = 5000


REPRESENTATION = "post-hoc encoder: trained on the control's generated images to predict its code"


def fixed_factor_sampler(codes: np.ndarray, factors: np.ndarray) -> FixedFactorSampler:
    """Codes of images sharing one factor value, drawn (with replacement) from a labelled pool."""
    rows = {
        (f, v): np.flatnonzero(factors[:, f] == v)
        for f in range(factors.shape[1])
        for v in np.unique(factors[:, f])
    }

    def sample(factor: int, value: int, batch: int, rng: np.random.Generator) -> np.ndarray:
        pool = rows.get((factor, value))
        if pool is None:
            raise ValueError(f"no image has factor {factor} = {value}")
        return codes[rng.choice(pool, batch, replace=True)]

    return sample


def scorable(datamodule, control) -> bool:
    """Ground-truth factors to score against, and a control the representation rule covers with
    a code of two values or more (one cluster, as MIC-GAN's K = 1 baseline, says nothing)."""
    return bool(datamodule.factor_names) and has_code(control) and control.k >= 2


@register_family(
    "disentanglement",
    (Directions, Clusters),
    DisentanglementSettings,
    applies=scorable,
    per_generator=True,
)
def disentanglement_family(ctx: Context, control, s: DisentanglementSettings) -> None:
    dm, seed = ctx.datamodule, ctx.settings.seed
    start = time.perf_counter()
    images, codes, classes = generated_codes(control, s.generated, seed)
    device = control.device
    net, curve = train_encoder(
        images,
        codes,
        classes,
        control.k,
        s.encoder_epochs,
        s.encoder_batch,
        s.encoder_lr,
        seed,
        device,
    )
    rng = np.random.default_rng(seed)
    pool_factors = dm.factors("train").numpy()
    pool = encode(net, dm.images("train"), classes, device).numpy()
    train = rng.choice(len(pool), min(s.train_points, len(pool)), replace=False)
    test_rows = rng.choice(dm.size("test"), min(s.test_points, dm.size("test")), replace=False)
    test_codes = encode(
        net, dm.images("test")[torch.from_numpy(test_rows)], classes, device
    ).numpy()
    test_factors = dm.factors("test").numpy()[test_rows]
    train_codes, train_factors = pool[train], pool_factors[train]
    facts = {
        "representation": REPRESENTATION,
        "encoder_loss": curve,
        "encoder_seconds": round(time.perf_counter() - start, 4),
    }

    def record(name: str, fn, *args, n: int, **extra):
        begun = time.perf_counter()
        value = fn(*args)
        ctx.record(name, value, n, time.perf_counter() - begun, **facts, **extra)
        return value

    record("mig", mig, train_codes, train_factors, s.mig_bins, n=len(train), bins=s.mig_bins)
    begun = time.perf_counter()
    scores = dci(train_codes, train_factors, test_codes, test_factors, seed)
    seconds = time.perf_counter() - begun
    pair = {
        "seconds_shared_with": ["dci_disentanglement", "dci_completeness", "dci_informativeness"],
        **facts,
    }
    n = len(train) + len(test_rows)
    ctx.record(
        "dci_disentanglement",
        scores.disentanglement,
        n,
        seconds,
        importance=scores.importance.tolist(),
        **pair,
    )
    ctx.record("dci_completeness", scores.completeness, n, seconds, **pair)
    ctx.record(
        "dci_informativeness",
        scores.informativeness_test,
        n,
        seconds,
        train_accuracy=scores.informativeness_train,
        **pair,
    )
    begun = time.perf_counter()
    vote = factor_vae_score(
        pool,
        pool_factors,
        fixed_factor_sampler(pool, pool_factors),
        dm.factor_sizes,
        seed,
        s.factor_vae_batch,
        s.factor_vae_train_votes,
        s.factor_vae_eval_votes,
        len(pool),
    )
    ctx.record(
        "factor_vae",
        vote["eval_accuracy"],
        s.factor_vae_eval_votes,
        time.perf_counter() - begun,
        train_accuracy=vote["train_accuracy"],
        active_dims=vote["active_dims"],
        batch=s.factor_vae_batch,
        **facts,
    )
    for form, continuous in (("discrete", False), ("continuous", True)):
        record(
            f"sap_{form}",
            lambda *a, c=continuous: sap_from_matrix(sap_matrix(*a, c)),
            train_codes,
            train_factors,
            test_codes,
            test_factors,
            n=n,
            form="LinearSVC accuracy" if not continuous else "R² of a linear fit",
        )
