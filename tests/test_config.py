from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from hydra.utils import get_class

from ganctrl.benchmarks.job.config import ConfigError, validate

CONF = Path(__file__).parents[1] / "conf"
GROUPS = ["data", "generator", "method", "trainer", "logger", "metrics", "experiment", "bench"]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "group,option", [(g, o) for g in GROUPS for o in options(g)], ids=lambda x: str(x)
)
def test_every_option_composes_and_validates(compose_cfg, group, option):
    cfg = compose_cfg(f"{group}={option}")
    validate(cfg)


def test_every_group_has_options():
    for group in GROUPS:
        assert options(group), group


@pytest.mark.parametrize(
    "launcher, target",
    [
        ("basic", "hydra._internal.core_plugins.basic_launcher.BasicLauncher"),
        ("joblib", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"),
        ("slurm", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"),
        ("submitit_local", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"),
    ],
)
def test_each_launcher_composes_to_an_importable_plugin(compose_cfg, launcher, target):
    chosen = compose_cfg(f"hydra/launcher={launcher}", return_hydra_config=True).hydra.launcher
    assert chosen._target_ == target and get_class(target)
    if launcher == "slurm":  # ours, over submitit's: one GPU, four hours
        assert (chosen.gpus_per_node, chosen.timeout_min) == (1, 240)


def test_the_default_bench_pairs_each_method_with_its_null_baseline(compose_cfg):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = compose_cfg("bench=default", return_hydra_config=True).hydra.sweeper.params
    (override,) = OverridesParser.create().parse_overrides([f"method={params.method}"])
    rows = list(override.sweep_string_iterator())
    assert set(rows) <= set(options("method")) and params.data == "mnist_subset"
    pairs = [
        ("imle_clusters", "imle_clusters_random"),
        ("triple_coupled", "triple_coupled_baseline"),
        ("contrafeat_bi", "random_directions_stylegan_lite"),
        ("lu_centroid", "random_directions"),
    ]
    assert all(method in rows and baseline in rows for method, baseline in pairs)
    for method, baseline in pairs:  # a baseline steers (or trains) the same generator
        generators = [compose_cfg(f"method={m}").generator for m in (method, baseline)]
        assert generators[0] == generators[1], (method, baseline)
    assert "mic_gan" in rows and "pixel_kmeans" in rows  # clusters of the real images: no G


def test_unknown_group_option_lists_the_choices(compose_cfg):
    with pytest.raises(ConfigCompositionException) as error:
        compose_cfg("data=mnsit")
    assert "mnist_subset" in str(error.value) and "shapes" in str(error.value)


def test_unknown_key_in_target_node_names_it_and_the_valid_keys(compose_cfg):
    cfg = compose_cfg("+data.bach_size=3")
    with pytest.raises(ConfigError, match=r"data\.bach_size.*valid keys:.*batch_size"):
        validate(cfg)


def test_unknown_key_without_plus_fails_at_compose(compose_cfg):
    with pytest.raises(ConfigCompositionException, match="bach_size"):
        compose_cfg("data.bach_size=3")


def test_wrong_type_names_key_and_expected_type(compose_cfg):
    cfg = compose_cfg("data.batch_size=many")
    with pytest.raises(ConfigError, match=r"data\.batch_size: expected int, got 'many'"):
        validate(cfg)


def test_bad_literal_lists_the_valid_values(compose_cfg):
    cfg = compose_cfg("generator.train.loss=wasserstein")
    with pytest.raises(ConfigError, match=r"generator\.train\.loss.*'nonsaturating' \| 'hinge'"):
        validate(cfg)


def test_tuple_length_is_checked(compose_cfg):
    cfg = compose_cfg("generator.train.betas=[0.5]")
    with pytest.raises(ConfigError, match=r"generator\.train\.betas"):
        validate(cfg)


def test_root_schema_rejects_typos_and_bad_types(compose_cfg):
    with pytest.raises(ConfigCompositionException, match="seedd"):
        compose_cfg("seedd=1")
    with pytest.raises(ConfigError, match="seedd: not a setting; valid top-level keys: .*seed"):
        validate(compose_cfg("+seedd=1"))
    with pytest.raises(ConfigCompositionException) as error:
        compose_cfg("seed=abc")
    assert "Value 'abc' of type 'str' could not be converted to Integer" in str(
        error.value.__cause__
    )


def test_unimportable_target_is_named(compose_cfg):
    cfg = compose_cfg("method._target_=ganctrl.methods.nope.Nope")
    with pytest.raises(ConfigError, match=r"method\._target_: cannot import"):
        validate(cfg)


# --- budgets: each method's YAML states its own per profile ---------------------------------

PROFILES = options("experiment")
# What a method row runs in each profile: (num_latents, epochs) for the IMLE family, whose
# baselines inherit the method's tables; None for rows without a budget of their own. A row not
# listed here is still composed and validated in every profile below.
IMLE_BUDGETS = {"smoke": (1000, 2), "toy": (20000, 100), "paper": (20000, 400)}
BUDGETS = {
    "unconditional": None,
    "imle_clusters": IMLE_BUDGETS,
    "imle_clusters_on_z": IMLE_BUDGETS,
    "imle_clusters_random": IMLE_BUDGETS,
    "imle_clusters_truncated": None,  # its clustering is IMLE's: see the test below
    "imle_clusters_truncation_trick": None,
    "random_directions": None,  # the direction baselines: nothing to train
    "axis_directions": None,
    "ganspace": None,
    "sefa": None,
}


def test_the_three_profiles_exist():
    assert {"paper", "smoke", "toy"} <= set(PROFILES)


@pytest.mark.parametrize(
    "method,profile", [(m, p) for m in options("method") for p in PROFILES], ids=str
)
def test_every_method_gets_its_budget_in_every_profile(compose_cfg, method, profile):
    cfg = compose_cfg(f"method={method}", f"experiment={profile}")
    validate(cfg)
    assert cfg.profile.name == profile
    expected = (BUDGETS.get(method) or {}).get(profile)
    if expected is not None:
        assert (cfg.method.clustering.num_latents, cfg.method.epochs) == expected


@pytest.mark.parametrize("control", ["imle_clusters_truncated", "imle_clusters_truncation_trick"])
@pytest.mark.parametrize("profile", PROFILES)
def test_truncation_controls_cluster_exactly_as_imle(compose_cfg, control, profile):
    """The same seed must form the same clusters, so every clustering setting is IMLE's."""
    imle = compose_cfg("method=imle_clusters", f"experiment={profile}").method
    truncated = compose_cfg(f"method={control}", f"experiment={profile}").method
    assert truncated.clustering == imle.clustering and len(imle.clustering) == 11
    imle_only = {"epochs", "rematch_every", "pool_factor", "jitter", "lr", "hidden"}
    assert not imle_only & set(truncated)


@pytest.mark.parametrize(
    "generator,profile", [(g, p) for g in options("generator") for p in PROFILES], ids=str
)
def test_every_generator_gets_its_zoo_budget_in_every_profile(compose_cfg, generator, profile):
    cfg = compose_cfg(f"generator={generator}", f"experiment={profile}")
    validate(cfg)
    steps = cfg.generator.train.steps
    assert isinstance(steps, int) and steps > 0
    if profile == "smoke":  # CI: seconds, not minutes
        assert steps <= 10 and cfg.generator.net.width <= 8
    if profile == "paper":
        assert steps >= 50_000


@pytest.mark.parametrize("profile,expected", [("paper", (5000, 1)), ("toy", (3000, 3))])
def test_the_post_hoc_reconstructor_s_budget_per_profile(compose_cfg, profile, expected):
    """Paper scale keeps Voynov's protocol (every batch fresh); toy reuses rendered edits."""
    directions = compose_cfg(f"experiment={profile}").metrics.directions
    assert (directions.rca_steps, directions.rca_reuse) == expected


def test_a_profile_missing_from_a_budget_fails_at_start_naming_method_and_profile(compose_cfg):
    cfg = compose_cfg("method=imle_clusters_on_z", "profile.name=mini")
    with pytest.raises(
        ConfigError,
        match=r"method\.[\w.]+: .*(IMLEClusters|LatentClustering) has no budget for "
        r"profile 'mini' \(it has paper, toy, smoke\)",
    ):
        validate(cfg)


def test_a_profile_with_a_fallback_runs_that_profiles_budgets(compose_cfg):
    cfg = compose_cfg("method=imle_clusters", "profile.name=mini", "profile.fallback=toy")
    validate(cfg)
    assert (cfg.method.clustering.num_latents, cfg.method.epochs) == IMLE_BUDGETS["toy"]


def test_a_users_override_beats_the_budget(compose_cfg):
    cfg = compose_cfg("method=imle_clusters", "experiment=toy", "method.epochs=7")
    assert cfg.method.epochs == 7 and cfg.method.clustering.num_latents == 20000


def test_the_bench_sets_each_generators_seed_to_the_jobs(compose_cfg):
    assert compose_cfg("bench=default", "seed=3").generator.seed == 3
