import json

from PIL import Image

from ganctrl.benchmarks.zoo import curves


def _curve(name: str, fids: list[float]) -> dict:
    points = [
        {
            "iteration": 500 * (i + 1),
            "seconds": 40.0 * (i + 1),
            "fid": f,
            "precision": 0.5 + 0.05 * i,
            "recall": 0.2 * i,
        }
        for i, f in enumerate(fids)
    ]
    return {
        "name": name,
        "floor": {"fid": 11.0, "precision": 0.9, "recall": 0.88},
        "points": points,
    }


def test_curves_plot_one_line_per_generator_labelled_up_to_its_hash(tmp_path):
    files = []
    for name, fids in (
        ("mnist_subset-dcgan-s0-57748c9c9728", [300.0, 90.0, 40.0]),
        ("mnist_subset-stylegan_lite-s0-360ad178eab1", [320.0, 150.0]),
    ):
        files.append(tmp_path / f"{name}.curve.json")
        files[-1].write_text(json.dumps(_curve(name, fids)))
    out = tmp_path / "plots" / "curves.png"
    curves.main([str(out), *map(str, files), "--groups", "dcgan", "stylegan_lite"])
    assert Image.open(out).size[0] > 1000
    assert curves.label(_curve("mnist_subset-dcgan-s0-57748c9c9728", [1.0])) == (
        "mnist_subset-dcgan-s0"
    )
    assert not list(out.parent.glob(".*.tmp"))  # written atomically


def test_curves_share_a_colour_per_group_in_order_of_first_appearance():
    groups = ["dcgan", "dcgan", "sngan", "dcgan", "style"]
    assert curves.colours(groups) == ["C0", "C0", "C1", "C0", "C2"]
