"""`make perf`: the fidelity layer's cost against the bare feature pass and torch-fidelity, the
shared neighbour step against scikit-learn, and a bench's per-stage times (docs/PERFORMANCE.md).

Every ratio is two timings of one run on this machine: the two sets of images and the net are
made here from a seed (2 × N 32-px RGB images of smooth noise, a seeded random CNN with
--features outputs and a 10-way head), and the same net is registered in torch-fidelity, so both
tools read identical features. Each timing is the median of --repeats runs. On --device cuda
both tools run there, and each line also gives the peak GPU memory it allocated.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganctrl.benchmarks.job import schema
from ganctrl.metrics import fidelity
from ganctrl.metrics.neighbours import KidDraws, ReferenceSet, compare

FEATURES, CLASSES, SIZE = 512, 10, 32


class RandomNet(nn.Module):
    """uint8 (N, 3, 32, 32) → (features, 10 logits); weights from a seed, never trained."""

    def __init__(self, seed: int = 0, features: int = FEATURES):
        super().__init__()
        torch.manual_seed(seed)
        self.trunk = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(64, 128, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(128, features, 3, 2, 1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(features, CLASSES)
        nn.init.normal_(self.head.weight, std=0.5)  # confident enough for IS to move from 1
        self.eval().requires_grad_(False)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(images.float() / 127.5 - 1.0)
        return features, self.head(features)

    @property
    def device(self) -> torch.device:
        return self.head.weight.device


def image_sets(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two uint8 sets of smooth noise; the second a little brighter and blurrier."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(2, n, 3, 8, 8, generator=generator)
    real = F.interpolate(coarse[0], size=SIZE, mode="bilinear", align_corners=False)
    fake = F.interpolate(coarse[1] * 0.9 + 0.1, size=SIZE, mode="bicubic", align_corners=False)
    return (real * 255).round().clamp(0, 255).byte(), (fake * 255).round().clamp(0, 255).byte()


@torch.no_grad()
def feature_pass(net: RandomNet, images: torch.Tensor, batch: int = 500):
    """Features and logits as NumPy arrays, as the metrics layer receives them; the images go to
    the net's device a batch at a time, as a loader would bring them."""
    parts = [net(images[i : i + batch].to(net.device)) for i in range(0, len(images), batch)]
    return tuple(torch.cat([p[j] for p in parts]).cpu().numpy() for j in (0, 1))


def finished(device: torch.device) -> float:
    """The clock once `device` has finished the work queued on it (a CUDA call returns early)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


class Stages:
    """Seconds per named stage of one run, each ending when the device has finished its work."""

    def __init__(self, device: torch.device):
        self.device, self.seconds, self._last = device, {}, time.perf_counter()

    def done(self, name: str) -> None:
        now = finished(self.device)
        self.seconds[name], self._last = now - self._last, now


def ganctrl_five(net: RandomNet, real_images, fake_images) -> tuple[dict, dict[str, float]]:
    """FID, IS, KID, precision/recall and density/coverage as the fidelity family computes them
    (its settings' defaults) on the net's device, feature pass included; and the seconds each
    stage took."""
    stages = Stages(net.device)
    real, _ = feature_pass(net, real_images)
    fake, fake_logits = feature_pass(net, fake_images)
    stages.done("feature passes")
    scores = {"fid": fidelity.fid(fake, real, net.device)}
    stages.done("FID")
    probs = torch.from_numpy(fake_logits).softmax(dim=1).numpy()
    s = fidelity.FidelitySettings()
    scores["is"] = fidelity.inception_score(probs, s.is_splits)[0]
    stages.done("IS")
    draws = KidDraws.of(len(fake), len(real), s.kid_subsets, s.kid_subset_size, 0, net.device)
    reference = ReferenceSet.of(real, (s.pr_k, s.dc_k), draws, device=net.device)
    stages.done("real set: k-NN radii and KID's within-set sums")
    scores.update(compare(reference, fake, s.pr_k, s.dc_k))
    stages.done("generated set: its radii and sums, and the fake–real pass")
    return scores, stages.seconds


def torch_fidelity_four(net: RandomNet, real_images, fake_images) -> dict:
    """torch-fidelity 0.4's FID, IS, KID and precision/recall (k = 3) on the same net and
    device."""
    import torch_fidelity
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    class Extractor(FeatureExtractorBase):
        def __init__(self, name, features_list, **kwargs):
            super().__init__(name, features_list)
            self.net = net

        @staticmethod
        def get_provided_features_list():
            return ("features", "logits_unbiased")

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return "logits_unbiased" if metric == "isc" else "features"

        @staticmethod
        def can_be_compiled():
            return False

        def forward(self, images):
            features, logits = self.net(images)
            found = {"features": features, "logits_unbiased": logits}
            return tuple(found[name] for name in self.features_list)

    class Images(torch.utils.data.Dataset):
        def __init__(self, images):
            self.images = images

        def __len__(self):
            return len(self.images)

        def __getitem__(self, i):
            return self.images[i]

    if "ganctrl_random_net" not in FEATURE_EXTRACTORS_REGISTRY:
        torch_fidelity.register_feature_extractor("ganctrl_random_net", Extractor)
    return torch_fidelity.calculate_metrics(
        input1=Images(fake_images),
        input2=Images(real_images),
        batch_size=500,
        cuda=net.device.type == "cuda",
        feature_extractor="ganctrl_random_net",
        isc=True,
        fid=True,
        kid=True,
        prc=True,
        cache=False,
        verbose=False,
        save_cpu_ram=True,  # no loader workers, as ours
    )


class Row(NamedTuple):
    name: str
    seconds: float
    against: float  # the seconds its ratio divides by
    peak_gib: float | None = None  # the most GPU memory allocated while it ran, on CUDA


class Timing(NamedTuple):
    seconds: float  # the median over the runs
    value: object  # the last run's
    peak_gib: float | None  # the most GPU memory any run allocated, on CUDA


def timed(fn, repeats: int, device: torch.device) -> Timing:
    """`repeats` runs of fn, each ending when the device has finished its work."""
    cuda = device.type == "cuda"
    times, value = [], None
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(repeats):
        start = finished(device)
        value = fn()
        times.append(finished(device) - start)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if cuda else None
    return Timing(statistics.median(times), value, peak)


def fidelity_table(n: int, repeats: int, features: int, device: torch.device):
    """The table's rows, and ganctrl's last run by stage (each stage against the bare pass)."""
    net, (real, fake) = RandomNet(features=features).to(device), image_sets(n)
    bare = timed(lambda: (feature_pass(net, real), feature_pass(net, fake)), repeats, device)
    ours = timed(lambda: ganctrl_five(net, real, fake), repeats, device)
    theirs = timed(lambda: torch_fidelity_four(net, real, fake), repeats, device)
    scores, stages = ours.value
    print(f"values at N = {n}: ganctrl", {k: round(v, 5) for k, v in scores.items()})
    print("            torch-fidelity", {k: round(v, 5) for k, v in theirs.value.items()})
    rows = [
        Row("bare feature pass over both sets", bare.seconds, bare.seconds, bare.peak_gib),
        Row("torch-fidelity FID + IS + KID + PRC", theirs.seconds, bare.seconds, theirs.peak_gib),
        Row("ganctrl FID + IS + KID + P/R + D/C", ours.seconds, bare.seconds, ours.peak_gib),
        Row("ganctrl ÷ torch-fidelity", ours.seconds, theirs.seconds),
    ]
    return rows, [Row(stage, seconds, bare.seconds) for stage, seconds in stages.items()]


def neighbour_table(n: int, device: torch.device) -> list[Row]:
    """The k = 3 and 5 radii of one set of n 512-d points, one run each: the shared pass on
    `device` against scikit-learn's exact NearestNeighbors on every CPU core (6 neighbours,
    itself counted)."""
    from sklearn.neighbors import NearestNeighbors

    points = np.random.default_rng(0).normal(size=(n, FEATURES)).astype(np.float32)
    ours = timed(lambda: ReferenceSet.of(points, (3, 5), device=device), 1, device)
    theirs = timed(
        lambda: NearestNeighbors(n_neighbors=6, n_jobs=-1).fit(points).kneighbors(points), 1, device
    )
    return [
        Row("scikit-learn NearestNeighbors, k = 6", theirs.seconds, theirs.seconds),
        Row("shared pass radii, k = 3 and 5", ours.seconds, theirs.seconds, ours.peak_gib),
    ]


def manifold_table(n: int, features: int, device: torch.device) -> list[Row]:
    """Precision/recall and density/coverage alone (no KID) at n per set, one run, with the peak
    memory the process reached."""
    net, (real_images, fake_images) = RandomNet(features=features).to(device), image_sets(n, 1)
    (real, _), (fake, _) = feature_pass(net, real_images), feature_pass(net, fake_images)
    run = timed(
        lambda: compare(ReferenceSet.of(real, (3, 5), device=device), fake, 3, 5), 1, device
    )
    resident = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB → GiB
    print(f"peak resident memory of this process so far: {resident:.1f} GiB")
    return [Row(f"P/R + D/C, 2 × {n} × {features}", run.seconds, run.seconds, run.peak_gib)]


def stage_table(sweep: Path) -> dict[str, dict[str, float]]:
    """Median seconds per stage of each method's finished jobs under `sweep`."""
    stages: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for path in sweep.rglob("results.json"):
        try:
            record = schema.read(path)
        except schema.SchemaError as error:  # an older sweep's record: its layout is not ours
            print(f"skipped: {error}")
            continue
        if record["status"] == "ok":
            for stage, seconds in record["seconds"].items():
                stages[record["run"]["method"]][stage].append(seconds)
    return {m: {s: statistics.median(v) for s, v in by.items()} for m, by in sorted(stages.items())}


def print_ratios(title: str, rows: list[Row]) -> None:
    gpu = any(row.peak_gib is not None for row in rows)
    print(f"\n{title}\n| | seconds | ratio |" + (" peak GPU GiB |" if gpu else ""))
    print("|---|---|---|" + ("---|" if gpu else ""))
    for row in rows:
        line = f"| {row.name} | {row.seconds:.2f} | {row.seconds / row.against:.2f}× |"
        if gpu:
            line += "" if row.peak_gib is None else f" {row.peak_gib:.2f} |"
        print(line)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="images per set")
    parser.add_argument("--neighbours-n", type=int, default=100_000, help="0 skips it")
    parser.add_argument("--manifold-n", type=int, default=50_000, help="0 skips it")
    parser.add_argument("--features", type=int, default=FEATURES, help="the net's feature size")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto", help="auto: cuda where there is one, else cpu")
    parser.add_argument("--sweep", type=Path, default=Path("outputs/bench/toy"))
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available()
    device = torch.device(("cuda" if cuda else "cpu") if args.device == "auto" else args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {where}")
    title = (
        f"Fidelity at N = {args.n}, {args.features}-d features "
        "(ratios to the bare pass; the last: to torch-fidelity)"
    )
    rows, stages = fidelity_table(args.n, args.repeats, args.features, device)
    print_ratios(title, rows)
    print_ratios("ganctrl's last run by stage (ratios to the bare pass)", stages)
    if args.neighbours_n:
        rows = neighbour_table(args.neighbours_n, device)
        print_ratios(f"Neighbour radii at {args.neighbours_n} × {FEATURES} (one run each)", rows)
    if args.manifold_n:
        rows = manifold_table(args.manifold_n, args.features, device)
        print_ratios(f"Manifold metrics at N = {args.manifold_n} (one run)", rows)
    stages = stage_table(args.sweep)
    if stages:
        names = sorted({s for by in stages.values() for s in by})
        print(f"\nPer-stage median seconds, finished jobs under {args.sweep}")
        print("| method | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
        for method, by in stages.items():
            print(f"| {method} | " + " | ".join(f"{by.get(s, 0):.1f}" for s in names) + " |")


if __name__ == "__main__":
    main()
