"""`make perf`: the fidelity layer's cost against the bare feature pass and torch-fidelity, the
shared neighbour step against scikit-learn, and a bench's per-stage times (docs/PERFORMANCE.md).

Every ratio is two timings of one run on this machine: the two sets of images and the net are
made here from a seed (2 × N 32-px RGB images of smooth noise, a seeded random 512-d CNN with a
10-way head), and the same net is registered in torch-fidelity, so both tools read identical
features. Each timing is the median of --repeats runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganctrl.metrics import fidelity
from ganctrl.metrics.neighbours import KidDraws, ReferenceSet, compare

FEATURES, CLASSES, SIZE = 512, 10, 32


class RandomNet(nn.Module):
    """uint8 (N, 3, 32, 32) → (512 features, 10 logits); weights from a seed, never trained."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.trunk = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2, 1), nn.ReLU(), nn.Conv2d(64, 128, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(128, FEATURES, 3, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.head = nn.Linear(FEATURES, CLASSES)
        nn.init.normal_(self.head.weight, std=0.5)  # confident enough for IS to move from 1
        self.eval().requires_grad_(False)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(images.float() / 127.5 - 1.0)
        return features, self.head(features)


def image_sets(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two uint8 sets of smooth noise; the second a little brighter and blurrier."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(2, n, 3, 8, 8, generator=generator)
    real = F.interpolate(coarse[0], size=SIZE, mode="bilinear", align_corners=False)
    fake = F.interpolate(coarse[1] * 0.9 + 0.1, size=SIZE, mode="bicubic", align_corners=False)
    return (real * 255).round().clamp(0, 255).byte(), (fake * 255).round().clamp(0, 255).byte()


@torch.no_grad()
def feature_pass(net: RandomNet, images: torch.Tensor, batch: int = 500):
    parts = [net(images[i : i + batch]) for i in range(0, len(images), batch)]
    return torch.cat([p[0] for p in parts]).numpy(), torch.cat([p[1] for p in parts]).numpy()


def ganctrl_five(net: RandomNet, real_images, fake_images) -> dict:
    """FID, IS, KID, precision/recall and density/coverage as the fidelity family computes them
    (its settings' defaults), feature pass included."""
    real, _ = feature_pass(net, real_images)
    fake, fake_logits = feature_pass(net, fake_images)
    probs = torch.from_numpy(fake_logits).softmax(dim=1).numpy()
    s = fidelity.FidelitySettings()
    scores = {"fid": fidelity.fid(fake, real)}
    scores["is"] = fidelity.inception_score(probs, s.is_splits)[0]
    draws = KidDraws.of(len(fake), len(real), s.kid_subsets, s.kid_subset_size, seed=0)
    scores.update(compare(ReferenceSet.of(real, (s.pr_k, s.dc_k), draws), fake, s.pr_k, s.dc_k))
    return scores


def torch_fidelity_four(net: RandomNet, real_images, fake_images) -> dict:
    """torch-fidelity 0.4's FID, IS, KID and precision/recall (k = 3) on the same net."""
    import torch_fidelity
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    class Extractor(FeatureExtractorBase):
        def __init__(self, name, features_list, **kwargs):
            super().__init__(name, features_list)
            self.net = net

        @staticmethod
        def get_provided_features_list():
            return ("512", "logits_unbiased")

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return "logits_unbiased" if metric == "isc" else "512"

        @staticmethod
        def can_be_compiled():
            return False

        def forward(self, images):
            features, logits = self.net(images)
            found = {"512": features, "logits_unbiased": logits}
            return tuple(found[name] for name in self.features_list)

    class Images(torch.utils.data.Dataset):
        def __init__(self, images):
            self.images = images

        def __len__(self):
            return len(self.images)

        def __getitem__(self, i):
            return self.images[i]

    if "ganctrl_random_512" not in FEATURE_EXTRACTORS_REGISTRY:
        torch_fidelity.register_feature_extractor("ganctrl_random_512", Extractor)
    return torch_fidelity.calculate_metrics(
        input1=Images(fake_images), input2=Images(real_images), cuda=False, batch_size=500,
        feature_extractor="ganctrl_random_512", isc=True, fid=True, kid=True, prc=True,
        cache=False, verbose=False, save_cpu_ram=True,  # no loader workers, as ours
    )  # fmt: skip


def median_seconds(fn, repeats: int):
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def fidelity_table(n: int, repeats: int) -> list[tuple[str, float, float]]:
    net, (real, fake) = RandomNet(), image_sets(n)
    bare, _ = median_seconds(lambda: (feature_pass(net, real), feature_pass(net, fake)), repeats)
    ours, scores = median_seconds(lambda: ganctrl_five(net, real, fake), repeats)
    theirs, reference = median_seconds(lambda: torch_fidelity_four(net, real, fake), repeats)
    print(f"values at N = {n}: ganctrl", {k: round(v, 5) for k, v in scores.items()})
    print("            torch-fidelity", {k: round(v, 5) for k, v in reference.items()})
    return [
        ("bare feature pass over both sets", bare, bare),
        ("torch-fidelity FID + IS + KID + PRC", theirs, bare),
        ("ganctrl FID + IS + KID + P/R + D/C", ours, bare),
        ("ganctrl ÷ torch-fidelity", ours, theirs),
    ]


def neighbour_table(n: int, repeats: int) -> list[tuple[str, float, float]]:
    """The k = 3 and 5 radii of one set of n 512-d points: the shared pass against scikit-learn's
    exact NearestNeighbors (6 neighbours, itself counted)."""
    from sklearn.neighbors import NearestNeighbors

    points = np.random.default_rng(0).normal(size=(n, FEATURES)).astype(np.float32)
    ours, _ = median_seconds(lambda: ReferenceSet.of(points, (3, 5)), repeats)
    theirs, _ = median_seconds(
        lambda: NearestNeighbors(n_neighbors=6, n_jobs=-1).fit(points).kneighbors(points), repeats
    )
    return [("scikit-learn NearestNeighbors, k = 6", theirs, theirs),
            ("shared pass radii, k = 3 and 5", ours, theirs)]  # fmt: skip


def manifold_table(n: int) -> list[tuple[str, float, float]]:
    """Precision/recall and density/coverage alone (no KID) at n per set, with the peak memory
    the process reached."""
    net, (real_images, fake_images) = RandomNet(), image_sets(n, seed=1)
    (real, _), (fake, _) = feature_pass(net, real_images), feature_pass(net, fake_images)
    start = time.perf_counter()
    compare(ReferenceSet.of(real, (3, 5)), fake, 3, 5)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB → GiB
    print(f"peak resident memory of this process so far: {peak:.1f} GiB")
    return [(f"P/R + D/C, 2 × {n} × {FEATURES}", seconds, seconds)]


def stage_table(sweep: Path) -> dict[str, dict[str, float]]:
    """Median seconds per stage of each method's finished jobs under `sweep`."""
    stages: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for path in sweep.rglob("results.json"):
        record = json.loads(path.read_text())
        if record.get("status") == "ok":
            for stage, seconds in record["seconds"].items():
                stages[record["run"]["method"]][stage].append(seconds)
    return {m: {s: statistics.median(v) for s, v in by.items()} for m, by in sorted(stages.items())}


def print_ratios(title: str, rows: list[tuple[str, float, float]]) -> None:
    print(f"\n{title}\n| | seconds | ratio |\n|---|---|---|")
    for name, seconds, against in rows:
        print(f"| {name} | {seconds:.2f} | {seconds / against:.2f}× |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="images per set")
    parser.add_argument("--neighbours-n", type=int, default=100_000, help="0 skips it")
    parser.add_argument("--manifold-n", type=int, default=50_000, help="0 skips it")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sweep", type=Path, default=Path("outputs/bench/toy"))
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    title = f"Fidelity at N = {args.n} (ratios to the bare pass; the last: to torch-fidelity)"
    print_ratios(title, fidelity_table(args.n, args.repeats))
    if args.neighbours_n:
        rows = neighbour_table(args.neighbours_n, 1)
        print_ratios(f"Neighbour radii at {args.neighbours_n} × {FEATURES} (one run each)", rows)
    if args.manifold_n:
        print_ratios(f"Manifold metrics at N = {args.manifold_n} (one run)",
                     manifold_table(args.manifold_n))  # fmt: skip
    stages = stage_table(args.sweep)
    if stages:
        names = sorted({s for by in stages.values() for s in by})
        print(f"\nPer-stage median seconds, finished jobs under {args.sweep}")
        print("| method | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
        for method, by in stages.items():
            print(f"| {method} | " + " | ".join(f"{by.get(s, 0):.1f}" for s in names) + " |")


if __name__ == "__main__":
    main()
