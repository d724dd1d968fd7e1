import pytest
import torch
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra

from ganctrl.benchmarks.job.config import register_schema


@pytest.fixture
def compose_cfg():
    """Compose the real config tree (as `ganctrl` would) with overrides."""
    register_schema()

    def _compose(*overrides: str, return_hydra_config: bool = False):
        GlobalHydra.instance().clear()
        with initialize_config_module("ganctrl.conf", version_base="1.3"):
            return compose(
                "config", overrides=list(overrides), return_hydra_config=return_hydra_config
            )

    yield _compose
    GlobalHydra.instance().clear()


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    """One cache for every CLI test that does not test the cache itself: the smoke generator and
    the evaluation nets train once per test run."""
    return tmp_path_factory.mktemp("shared_cache")


@pytest.fixture
def restore_threads():
    """torch's thread count before the test (yielded), set back after it."""
    before = torch.get_num_threads()
    yield before
    torch.set_num_threads(before)
