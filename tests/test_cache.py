"""Build-once caches whose keys carry the version of the code that builds them."""

import torch

from ganctrl import cache
from ganctrl.data.shapes import Shapes
from ganctrl.methods.backbones.dcgan import DCGANGenerator
from ganctrl.methods.unconditional.method import UnconditionalGAN


def test_code_version_follows_every_module_of_ours_that_the_code_imports(monkeypatch):
    before = cache.code_version(DCGANGenerator), cache.code_version(UnconditionalGAN)
    original = cache._source

    def edited(name: str) -> str:  # conditioning.py is imported by dcgan.py, not by the GAN loop
        text = original(name)
        return text + "\nEDITED = 1\n" if name.endswith("backbones.conditioning") else text

    monkeypatch.setattr(cache, "_source", edited)
    cache._code.cache_clear()
    after = cache.code_version(DCGANGenerator), cache.code_version(UnconditionalGAN)
    cache._code.cache_clear()
    assert after[0] != before[0] and after[1] == before[1]


def test_code_version_ignores_comments_and_layout(monkeypatch):
    before = cache.code_version(DCGANGenerator)
    original = cache._source

    def reformatted(name: str) -> str:
        text = original(name).replace("(\n", "(  # a comment the formatter may move\n")
        return text + "\n\n# a trailing comment\n"

    monkeypatch.setattr(cache, "_source", reformatted)
    cache._code.cache_clear()
    after = cache.code_version(DCGANGenerator)
    cache._code.cache_clear()
    assert reformatted("ganctrl.methods.backbones.dcgan") != original(
        "ganctrl.methods.backbones.dcgan"
    )
    assert after == before


def test_modules_reached_include_from_imports_of_constants():
    reached = cache._our_modules("ganctrl.methods.unconditional.method")
    # `from … import GAN_LOSSES`: a dict, not a class
    assert "ganctrl.methods.common.gan_losses" in reached


def test_data_identity_carries_the_renderers_code(monkeypatch):
    before = Shapes().identity()
    original = cache._source
    monkeypatch.setattr(
        cache, "_source", lambda name: original(name) + "\nX = 1" * (name == "ganctrl.data.shapes")
    )
    cache._code.cache_clear()
    assert Shapes().identity()["code"] != before["code"]
    cache._code.cache_clear()


def test_build_once_builds_then_loads(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return {"x": torch.arange(3)}

    first, built = cache.build_once(tmp_path / "a.pt", build)
    second, built_again = cache.build_once(tmp_path / "a.pt", build)
    assert built and not built_again and len(calls) == 1
    assert torch.equal(first["x"], second["x"])
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temporary behind
