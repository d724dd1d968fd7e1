"""Quality against training time: plot the zoo's `.curve.json` files, one line per generator.

    python -m ganctrl.benchmarks.curves docs/results/zoo_curves.png CACHE/generators/*.curve.json

Three panels against training seconds on this machine (evaluation time excluded): FID on a log
scale, precision and recall, each with its real-vs-real floor dashed in the line's colour.
A line's label is the generator's zoo name up to its hash, or what `--labels` gives, in order.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ganctrl.atomic import temporary_sibling  # noqa: E402

PANELS = (("fid", "FID (eval-net features)", "log"), ("precision", "precision", "linear"),
          ("recall", "recall", "linear"))  # fmt: skip


def label(curve: dict) -> str:
    return re.sub(r"-[0-9a-f]{12}$", "", curve["name"])


def plot(curves: list[dict], out: Path, title: str, labels: list[str] | None = None) -> None:
    fig, axes = plt.subplots(1, len(PANELS), figsize=(5 * len(PANELS), 4), layout="constrained")
    for i, curve in enumerate(curves):
        colour = f"C{i}"
        seconds = [p["seconds"] for p in curve["points"]]
        for ax, (key, _, _) in zip(axes, PANELS, strict=True):
            name = labels[i] if labels else label(curve)
            ax.plot(seconds, [p[key] for p in curve["points"]], "o-", ms=3, color=colour,
                    label=name)  # fmt: skip
            ax.axhline(curve["floor"][key], color=colour, ls="--", lw=0.8)
    for ax, (_, name, scale) in zip(axes, PANELS, strict=True):
        ax.set(xlabel="training seconds (2 CPU cores)", ylabel=name, yscale=scale)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{title} (dashed: real train vs real test)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(out)
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    os.replace(tmp, out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("curves", type=Path, nargs="+", help="zoo .curve.json files")
    parser.add_argument("--title", default="Generator quality against training time")
    parser.add_argument("--labels", nargs="+", help="one label per curve file, in order")
    args = parser.parse_args(argv)
    if args.labels and len(args.labels) != len(args.curves):
        parser.error(f"--labels gives {len(args.labels)} labels for {len(args.curves)} curves")
    plot([json.loads(p.read_text()) for p in args.curves], args.out, args.title, args.labels)
    print(args.out)


if __name__ == "__main__":
    main()
