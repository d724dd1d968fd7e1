"""`evaluate` wired end to end on real digits, with hand-made controls whose answers are known."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from ganctrl.data.mnist_subset import MNISTSubset
from ganctrl.data.shapes import Shapes
from ganctrl.methods.backbones.base import GeneratorBase
from ganctrl.methods.backbones.dcgan import DCGANGenerator
from ganctrl.methods.common.closed_form_directions import random_orthonormal
from ganctrl.methods.common.contract import Clusters, Control, Exemplars, Unconditional
from ganctrl.methods.common.latent_clusters import LatentClusters
from ganctrl.methods.common.linear_directions import LinearDirections
from ganctrl.metrics import evaluate as evaluate_module
from ganctrl.metrics import neighbours
from ganctrl.metrics.attribute_change import attribute_change_scores
from ganctrl.metrics.attributes import STROKE_MEASURES
from ganctrl.metrics.evaluate import evaluate, register_family
from ganctrl.metrics.features import EvaluationNet, register_feature_net
from ganctrl.metrics.fidelity import FidelitySettings
from ganctrl.metrics.settings import MetricsConfig

SETTINGS = OmegaConf.merge(
    OmegaConf.structured(MetricsConfig),
    {
        "n": 300,
        "feature_net_epochs": 2,
        "fidelity": {"kid_subsets": 10, "kid_subset_size": 100},
        "clusters": {"per_cluster": 30},
        "exemplars": {"exemplars": 30, "samples_per_exemplar": 2},
        "path_length": {"samples": 50},
        "directions": {
            "calibration_samples": 32,
            "rca_steps": 30,
            "rca_batch": 16,
            "rca_eval_batches": 4,
            "ppl_samples": 50,
            "attribute_samples": 16,
        },
        "disentanglement": {
            "generated": 400,
            "encoder_epochs": 1,
            "train_points": 400,
            "test_points": 200,
            "factor_vae_train_votes": 100,
            "factor_vae_eval_votes": 100,
        },
    },
)


@pytest.fixture(scope="module")
def digits():
    dm = MNISTSubset()
    dm.setup()
    return dm


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


class RealImageClusters(Clusters):
    """Cluster c replays real test digits; `collapse` makes every cluster emit the same 3 zeros."""

    def __init__(self, dm, collapse: bool):
        super().__init__(DCGANGenerator(width=4))
        self.images, self.labels = dm.images("test"), dm.labels("test")
        self.k, self.collapse = 10, collapse
        self.weights = torch.full((10,), 0.1)

    def sample_cluster(self, cluster, n, seed=0):
        label = 0 if self.collapse else cluster
        pool = self.images[self.labels == label][: 3 if self.collapse else None]
        rows = torch.randint(len(pool), (n,), generator=torch.Generator().manual_seed(seed))
        return pool[rows]

    def assign(self, images):  # the oracle: test images are this control's own
        return self.labels.clone()


def test_honest_clusters_score_high_on_every_cluster_metric(digits, cache):
    out = evaluate(RealImageClusters(digits, collapse=False), digits, SETTINGS, cache, "cpu")
    m = out["metrics"]
    assert [f["family"] for f in out["families"]] == ["fidelity", "clusters"]
    assert m["generated_purity"]["value"] > 0.8 and m["class_coverage"]["value"] == 1.0
    assert m["recall"]["value"] > 0.6 and m["coverage"]["value"] > 0.6
    for name in ("purity", "nmi", "ari", "cluster_accuracy"):
        assert m[name]["value"] == pytest.approx(1.0), name
    assert m["purity_top"]["covered"] == pytest.approx(1.0) and m["purity_top"]["top"] == 10
    assert out["pictures"]["cluster_labels"].shape[0] == 3
    assert not any(name.startswith("assigned_nmi") for name in m)  # digits have no factors
    for entry in m.values():
        assert {"value", "n", "feature_net", "seconds", "seed"} <= set(entry)
        assert entry["feature_net"] == "mnist_lenet"


def test_collapsed_clusters_buy_purity_and_show_the_loss(digits, cache):
    m = evaluate(RealImageClusters(digits, collapse=True), digits, SETTINGS, cache, "cpu")[
        "metrics"
    ]
    assert m["generated_purity"]["value"] > 0.9
    assert m["class_coverage"]["value"] == pytest.approx(0.1)
    assert m["recall"]["value"] < 0.1 and m["coverage"]["value"] < 0.1
    assert m["generated_purity"]["guards"]["class_coverage"] == pytest.approx(0.1)


def test_second_evaluation_runs_no_feature_pass_over_real_images(digits, cache, monkeypatch):
    control = Unconditional(DCGANGenerator(width=4))
    evaluate(control, digits, SETTINGS, cache, "cpu")  # warms the reference cache
    sizes = []
    original = EvaluationNet.run

    def counting_run(self, images, batch_size=500):
        sizes.append(len(images))
        return original(self, images, batch_size)

    monkeypatch.setattr(EvaluationNet, "run", counting_run)
    out = evaluate(control, digits, SETTINGS, cache, "cpu")
    generated, path_length = SETTINGS.n, SETTINGS.path_length.samples
    assert sizes == [generated] + [path_length] * 2  # generated images only
    assert out["passes"]["reference_cached"] is True
    assert out["feature_net"]["trained_here"] is False


class ReplayExemplars(Exemplars):
    """sample_like returns each exemplar itself: conditional accuracy = the classifier's."""

    def __init__(self):
        super().__init__(DCGANGenerator(width=4))

    def sample(self, n, seed=0):
        return torch.zeros(n, 1, 32, 32)

    def grid(self, seed=0):
        return torch.zeros(3, 8, 8)

    def sample_like(self, images, n_per, seed=0):
        return images.repeat_interleave(n_per, dim=0)

    def encode(self, images):
        return images.flatten(1)


def test_exemplar_family_reports_accuracy_with_chance_and_ceiling(digits, cache):
    out = evaluate(ReplayExemplars(), digits, SETTINGS, cache, "cpu")
    m = out["metrics"]
    # one row per class among the exemplars: its first exemplar, then its samples
    exemplar_labels = digits.labels("test")[seeded_exemplars(digits, SETTINGS)]
    classes = len(exemplar_labels.unique())
    n_per = SETTINGS.exemplars.samples_per_exemplar
    assert out["pictures"]["exemplars"].shape[1:] == (classes * 33 + 1, (1 + n_per) * 33 + 1)
    accuracy = m["conditional_accuracy"]
    assert accuracy["value"] > 0.8 and accuracy["chance"] == pytest.approx(0.1)
    assert accuracy["classifier_test_accuracy"] > 0.8
    # A misread sample moves one sample's share from its class to another: the spread of the
    # predictions differs from the exemplars' by at most the error rate (total variation).
    truth = np.bincount(exemplar_labels, minlength=10)
    shares = np.array(accuracy["predicted_shares"])
    assert shares.shape == (10,) and shares.sum() == pytest.approx(1.0)
    assert 0.5 * np.abs(shares - truth / truth.sum()).sum() <= 1 - accuracy["value"] + 1e-9
    assert m["sensor_neighbour_rate_1"]["value"] > 0.8  # raw pixels: 1-NN is mostly same digit
    assert m["sensor_neighbour_rate_1"]["value"] >= m["sensor_neighbour_rate_5"]["value"] - 0.05
    assert "factor_conditional_accuracy" not in m  # digits have no factors


class ReplayGenerator(GeneratorBase):
    """z[:, 0] picks a real test digit (through a sigmoid), so a latent's class is known."""

    z_dim = 2

    def __init__(self, images):
        super().__init__()
        self.images = images
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # gives the control a device

    def latent_of(self, rows: torch.Tensor) -> torch.Tensor:
        centre = (rows.double() + 0.5) / len(self.images)
        return torch.stack([torch.logit(centre).float(), torch.zeros(len(rows))], dim=1)

    def forward(self, z):
        rows = (torch.sigmoid(z[:, 0].double()) * len(self.images)).long()
        return self.images[rows.clamp(0, len(self.images) - 1)]


class ReplayLatentClusters(LatentClusters):
    """Cluster c holds the latents of the class-c digits; `collapse` maps every noise of a
    cluster onto its first latent."""

    def __init__(self, dm, collapse: bool, subpopulation: bool = False):
        images, labels = dm.images("test"), dm.labels("test")
        generator = ReplayGenerator(images)
        members = [generator.latent_of(torch.nonzero(labels == c)[:, 0]) for c in range(10)]
        super().__init__(generator, members, subpopulation)
        self.collapse = collapse

    def sample_cluster_latents(self, cluster, n, seed=0):
        members = self.members[cluster]
        rows = torch.randint(len(members), (n,), generator=torch.Generator().manual_seed(seed))
        return members[rows * (not self.collapse)]


def test_latent_clusters_report_sources_spread_and_the_generators_own_recall(digits, cache):
    honest = evaluate(ReplayLatentClusters(digits, False), digits, SETTINGS, cache, "cpu")
    collapsed = evaluate(ReplayLatentClusters(digits, True), digits, SETTINGS, cache, "cpu")
    m, c = honest["metrics"], collapsed["metrics"]
    assert m["source_purity"]["value"] > 0.8 and m["source_class_coverage"]["value"] == 1.0
    assert m["latent_spread_ratio"]["value"] == pytest.approx(1.0, abs=0.15)
    assert c["latent_spread_ratio"]["value"] == 0.0
    assert c["source_purity"]["value"] == m["source_purity"]["value"]  # the same clusters
    # The generator's own recall does not depend on the mapping; the collapsed mixture's does.
    assert c["unconditional_recall"]["value"] == m["unconditional_recall"]["value"]
    assert c["recall"]["value"] < 0.1 < m["recall"]["value"]
    guards = c["generated_purity"]["guards"]
    assert set(guards) == {
        "class_coverage",
        "mixture_recall",
        "mixture_coverage",
        "source_purity",
        "latent_spread_ratio",
        "unconditional_recall",
        "unconditional_coverage",
    }
    assert guards["mixture_recall"] < 0.1 < guards["unconditional_recall"]
    plain = evaluate(RealImageClusters(digits, collapse=False), digits, SETTINGS, cache, "cpu")
    assert "source_purity" not in plain["metrics"]


def test_a_subpopulations_mixture_guards_are_not_applicable(digits, cache):
    """Clusters that split one coarse cluster (IMLE's hierarchy) cover part of the data by
    design: their mixture's recall against the whole test set would read as collapse."""
    part = ReplayLatentClusters(digits, collapse=False, subpopulation=True)
    guards = evaluate(part, digits, SETTINGS, cache, "cpu")["metrics"]["generated_purity"]["guards"]
    assert guards["mixture_recall"] is None and guards["mixture_coverage"] is None
    assert set(guards["not_applicable"]) == {"mixture_recall", "mixture_coverage"}
    assert "part of the data" in guards["not_applicable"]["mixture_recall"]
    assert guards["unconditional_recall"] > 0.1  # the generator's own guards still apply


def test_registries_refuse_a_name_taken_twice():
    with pytest.raises(ValueError, match="'fidelity' is registered already"):
        register_family("fidelity", Control, FidelitySettings)(lambda ctx, control, s: None)
    with pytest.raises(ValueError, match="'mnist_lenet' is registered already"):
        register_feature_net("mnist_lenet", lambda *args: None)


@dataclass
class DoublingSettings:
    factor: float = 2.0


def test_a_new_family_is_a_registration_and_its_settings_node(digits, cache, monkeypatch):
    monkeypatch.setattr(evaluate_module, "FAMILIES", dict(evaluate_module.FAMILIES))

    @register_family("doubling", Unconditional, DoublingSettings, needs=("fidelity",))
    def doubling(ctx, control, s):
        ctx.record("fid_doubled", s.factor * ctx.results["fid"]["value"], 1, 0.0)

    settings = OmegaConf.create({**OmegaConf.to_container(SETTINGS), "doubling": {"factor": 3}})
    out = evaluate(Unconditional(DCGANGenerator(width=4)), digits, settings, cache, "cpu")
    m = out["metrics"]
    # each family after those it needs, then those others read first, then by name: not the
    # order the modules were imported in
    assert [f["family"] for f in out["families"]] == ["fidelity", "doubling", "path_length"]
    assert m["fid_doubled"]["family"] == "doubling" and m["fid_doubled"]["better"] == "higher"
    assert (m["fid"]["better"], m["ppl_standard"]["ranked_within"]) == ("lower", "generator")
    assert m["fid_doubled"]["value"] == pytest.approx(3 * m["fid"]["value"])

    settings.families = ["doubling"]  # a selection brings what it needs, and nothing else
    out = evaluate(Unconditional(DCGANGenerator(width=4)), digits, settings, cache, "cpu")
    assert [f["family"] for f in out["families"]] == ["fidelity", "doubling"]
    settings.families = ["fidelity", "dubling"]
    with pytest.raises(KeyError, match="dubling"):
        evaluate(Unconditional(DCGANGenerator(width=4)), digits, settings, cache, "cpu")

    register_family("orphan", Unconditional, DoublingSettings, needs=("nope",))(lambda *a: None)
    settings.families = None
    with pytest.raises(KeyError, match="need \\['nope'\\], which are not registered"):
        evaluate(Unconditional(DCGANGenerator(width=4)), digits, settings, cache, "cpu")


def test_direction_family_records_every_metric_at_calibrated_scales(digits, cache):
    generator = DCGANGenerator(width=4, z_dim=16)
    control = LinearDirections(generator, random_orthonormal(16, 3, seed=0), "z")
    out = evaluate(control, digits, SETTINGS, cache, "cpu")
    m = out["metrics"]
    assert [f["family"] for f in out["families"]] == ["fidelity", "directions", "path_length"]
    scale = m["edit_scale"]
    assert len(scale["per_direction"]) == 3 and scale["tau"] > 0
    for k, change in enumerate(scale["changes"]):  # the bisection's own check, per direction
        if scale["reached"][k]:
            assert change == pytest.approx(scale["tau"], rel=0.011)
    assert m["rca_posthoc"]["chance"] == pytest.approx(1 / 3) and m["rca_posthoc"]["n"] == 64
    assert 0 <= m["rca_posthoc"]["value"] <= 1 and "rca_own" not in m
    assert m["ppl_directions"]["value"] > 0 and m["ppl_standard"]["value"] > 0
    assert "channel-normalised" in m["ppl_directions"]["distance"]
    assert m["n_attr"]["attributes"][-5:] == list(STROKE_MEASURES)
    assert np.array(m["s_disent"]["matrix"]).shape == (3, 15)  # 10 classes + 5 stroke measures
    merged = m["s_disent_factors"]  # the ten class columns as one
    assert merged["attributes"] == ["class", *STROKE_MEASURES]
    classes = np.array(m["s_disent"]["matrix"])[:, :10].max(axis=1)
    np.testing.assert_allclose(np.array(merged["matrix"])[:, 0], classes)
    expected = attribute_change_scores(merged["matrix"])
    assert merged["value"] == pytest.approx(expected.s_disent)
    assert m["n_attr_factors"]["value"] == expected.n_attr
    assert set(out["pictures"]) == {"traversals", "attribute_change"}
    assert out["pictures"]["traversals"].shape[0] == 3


@pytest.fixture(scope="module")
def shapes():
    dm = Shapes(n_train=2000, n_test=500)
    dm.setup()
    return dm


class ShapeClusters(Clusters):
    """Cluster c replays real Shapes images of shape c: a code that is exactly one factor."""

    def __init__(self, dm):
        super().__init__(DCGANGenerator(channels=3, width=4))
        self.images, self.labels = dm.images("train"), dm.labels("train")
        self.test_labels = dm.labels("test")
        self.k, self.weights = 3, torch.full((3,), 1 / 3)

    def sample_cluster(self, cluster, n, seed=0):
        pool = self.images[self.labels == cluster]
        return pool[torch.randint(len(pool), (n,), generator=torch.Generator().manual_seed(seed))]

    def assign(self, images):
        """The test images (the family's only caller) to their true shape."""
        return self.test_labels.clone()


def seeded_exemplars(dm, settings) -> torch.Tensor:
    """The test rows the exemplar family draws as its exemplars."""
    rows = torch.randperm(dm.size("test"), generator=torch.Generator().manual_seed(settings.seed))
    return rows[: settings.exemplars.exemplars]


def test_exemplar_family_scores_every_factor_on_shapes(shapes, cache):
    """Replayed exemplars carry every factor over: each factor scores what the factor net reads
    of it (the short test training learns the colours, not yet rotation)."""
    settings = OmegaConf.merge(SETTINGS, {"families": ["exemplars"]})  # its samples are grey
    m = evaluate(ReplayExemplars(), shapes, settings, cache, "cpu")["metrics"]
    accuracy = m["factor_conditional_accuracy"]
    assert set(accuracy["per_factor"]) == set(shapes.factor_names)
    assert accuracy["per_factor"]["shape"] == pytest.approx(m["conditional_accuracy"]["value"])
    assert accuracy["value"] == pytest.approx(np.mean(list(accuracy["per_factor"].values())))
    assert accuracy["per_factor"]["hue"] > 0.9 and accuracy["per_factor"]["background"] > 0.9
    assert accuracy["chance"]["shape"] == pytest.approx(1 / 3)
    exemplar_factors = shapes.factors("test")[seeded_exemplars(shapes, settings)]
    for i, (name, size) in enumerate(zip(shapes.factor_names, shapes.factor_sizes, strict=True)):
        truth = np.bincount(exemplar_factors[:, i], minlength=size) / len(exemplar_factors)
        shares = np.array(accuracy["predicted_shares"][name])
        assert shares.shape == (size,) and shares.sum() == pytest.approx(1.0)
        assert 0.5 * np.abs(shares - truth).sum() <= 1 - accuracy["per_factor"][name] + 1e-9


class OneImageExemplars(ReplayExemplars):
    """A collapsed conditional generator: every sample is the first exemplar."""

    def sample_like(self, images, n_per, seed=0):
        return images[:1].expand(len(images) * n_per, -1, -1, -1).clone()


def test_a_collapsed_generator_puts_every_sample_on_one_value_of_each_factor(shapes, cache):
    """Identical samples get identical predictions: each factor's shares are one-hot, and its
    accuracy is the share of exemplars holding the predicted value."""
    settings = OmegaConf.merge(SETTINGS, {"families": ["exemplars"]})
    m = evaluate(OneImageExemplars(), shapes, settings, cache, "cpu")["metrics"]
    accuracy = m["factor_conditional_accuracy"]
    exemplar_factors = shapes.factors("test")[seeded_exemplars(shapes, settings)]
    for i, name in enumerate(shapes.factor_names):
        shares = np.array(accuracy["predicted_shares"][name])
        value = int(shares.argmax())
        assert shares[value] == 1.0 and shares.sum() == 1.0
        held = (exemplar_factors[:, i] == value).float().mean().item()
        assert accuracy["per_factor"][name] == pytest.approx(held)
    shape_shares = np.array(m["conditional_accuracy"]["predicted_shares"])
    assert shape_shares.max() == 1.0 and shape_shares.shape == (3,)


def test_disentanglement_family_scores_the_posthoc_representation_on_shapes(shapes, cache):
    m = evaluate(ShapeClusters(shapes), shapes, SETTINGS, cache, "cpu")["metrics"]
    names = (
        "mig",
        "dci_disentanglement",
        "dci_completeness",
        "dci_informativeness",
        "factor_vae",
        "sap_discrete",
        "sap_continuous",
    )
    for name in names:
        assert 0 <= m[name]["value"] <= 1, name
        assert m[name]["representation"].startswith("post-hoc encoder"), name
    # the clusters are the shape factor: the encoder's posterior should find it
    importance = np.array(m["dci_disentanglement"]["importance"])
    assert importance.shape == (3, 7) and importance.sum(axis=0).argmax() == 0
    assert m["factor_vae"]["active_dims"] >= 1
    # assigned by true shape: the assignment follows the shape factor and no other
    assert m["assigned_nmi_shape"]["value"] == pytest.approx(1.0)
    assert max(m[f"assigned_nmi_{f}"]["value"] for f in shapes.factor_names[1:]) < 0.1


def test_one_real_neighbour_pass_serves_every_family(digits, cache, monkeypatch):
    """The fidelity family's pass over the real test images (their radii, KID's sums) also gives
    the cluster family's unconditional recall and coverage: formed once per evaluation."""
    formed, of = [], neighbours.ReferenceSet.of.__func__

    def counted(cls, real, ks, kid=None, device=None):
        formed.append((tuple(ks), kid is not None))
        return of(cls, real, ks, kid, device)

    monkeypatch.setattr(neighbours.ReferenceSet, "of", classmethod(counted))
    m = evaluate(ReplayLatentClusters(digits, False), digits, SETTINGS, cache, "cpu")["metrics"]
    assert formed == [((3, 5), True)]
    assert {"kid", "recall", "unconditional_recall", "unconditional_coverage"} <= set(m)


def test_every_family_found_by_the_package_has_its_settings_node():
    """metrics/__init__.py imports every module before settings.py assembles the `metrics` node:
    a family registered later would run with no settings of its own."""
    from dataclasses import fields

    from ganctrl.metrics.evaluate import FAMILIES

    assert len(FAMILIES) == 6
    assert set(FAMILIES) <= {f.name for f in fields(MetricsConfig)}
