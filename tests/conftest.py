import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra

from ganctrl.benchmarks.config import register_schema


@pytest.fixture
def compose_cfg():
    """Compose the real config tree (as `ganctrl` would) with overrides."""
    register_schema()

    def _compose(*overrides: str):
        GlobalHydra.instance().clear()
        with initialize_config_module("ganctrl.conf", version_base="1.3"):
            return compose("config", overrides=list(overrides))

    yield _compose
    GlobalHydra.instance().clear()
