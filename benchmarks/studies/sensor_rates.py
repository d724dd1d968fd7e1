"""How class-structured a sensor's space is (docs/METHODS.md §2): for each AlexNet conv map and
for raw pixels, the share of images whose 1st, 2nd and 5th nearest other image has the same
class — the bound the triple-coupled GAN's neighbour batches put on its accuracy, beside the
paper's Table 2 (89 / 84 / 78 % on MNIST for its untrained AlexNet). Labels are read only here,
to score; no method sees them.

    python -m ganctrl.benchmarks.studies.sensor_rates --data mnist_subset \
        [--sensor-seed 0] [--out F]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from hydra import compose, initialize_config_module
from hydra.utils import instantiate
from tqdm.auto import tqdm

from ganctrl import atomic
from ganctrl.benchmarks.job.config import register_schema
from ganctrl.methods.backbones.sensors import TAP_INDICES, feature_extractor
from ganctrl.methods.common.batched import in_batches
from ganctrl.metrics.exemplars import kth_neighbour_rates

KS = (1, 2, 5)
PAPER_MNIST = {1: 0.89, 2: 0.84, 5: 0.78}  # Durall et al., Table 2, untrained AlexNet


def sensor_rates(
    images: torch.Tensor, labels: torch.Tensor, sensor_seed: int = 0, batch_size: int = 256
) -> list[dict]:
    """One row per candidate: the random AlexNet's conv maps 1–5 (pooled), then pixels."""
    candidates = [
        (f"random_alexnet conv{layer}", "random_alexnet", layer)
        for layer in range(1, len(TAP_INDICES) + 1)
    ]
    candidates.append(("pixels", "pixels", 1))
    rows = []
    for name, sensor, layer in tqdm(candidates, desc="sensors", unit="sensor"):
        extractor = feature_extractor(sensor, layer, sensor_seed)
        features = in_batches(extractor, images, batch_size, "cpu")
        rates = kth_neighbour_rates(features, labels.numpy(), KS)
        row = {"sensor": name, "dim": features.shape[1]}
        rows.append(row | {f"rate_{k}": rates[k] for k in KS})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="mnist_subset", help="a conf/data option")
    parser.add_argument("--sensor-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the rows here as JSON")
    args = parser.parse_args(argv)
    register_schema()
    with initialize_config_module("ganctrl.conf", version_base="1.3"):
        data_cfg = compose("config", overrides=[f"data={args.data}"]).data
    datamodule = instantiate(data_cfg)
    datamodule.setup()
    # every image the data holds, both splits: the paper's rates are over the whole set
    images = torch.cat([datamodule.images("train"), datamodule.images("test")])
    labels = torch.cat([datamodule.labels("train"), datamodule.labels("test")])
    rows = sensor_rates(images, labels, args.sensor_seed)
    print(f"{args.data}: {len(images)} images, same-class share of the k-th nearest other image")
    print("| sensor | dim | 1st | 2nd | 5th |\n|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['sensor']} | {row['dim']} | "
            + " | ".join(f"{row[f'rate_{k}']:.3f}" for k in KS)
            + " |"
        )
    if args.data.startswith("mnist"):
        print(
            "| paper, Table 2 (full MNIST) | | "
            + " | ".join(f"{PAPER_MNIST[k]:.2f}" for k in KS)
            + " |"
        )
    if args.out:
        atomic.write_json({"data": args.data, "images": len(images), "rows": rows}, args.out)


if __name__ == "__main__":
    main()
