"""Quality against training time: plot the zoo's `.curve.json` files, one line per generator.

    python -m ganctrl.benchmarks.zoo.curves docs/results/zoo_curves.png \
        CACHE/generators/*.curve.json

Three panels against training seconds on this machine (evaluation time excluded): FID on a log
scale, precision and recall, each with its real-vs-real floor dashed in the line's colour.
A line's label is the generator's zoo name up to its hash, or what `--labels` gives, in order;
`--groups` gives lines one colour per group (e.g. per backbone, for several seeds of each).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ganctrl.atomic import save_figure  # noqa: E402

PANELS = (
    ("fid", "FID (eval-net features)", "log"),
    ("precision", "precision", "linear"),
    ("recall", "recall", "linear"),
)


def label(curve: dict) -> str:
    return re.sub(r"-[0-9a-f]{12}$", "", curve["name"])


def colours(groups: list[str]) -> list[str]:
    """One matplotlib colour per distinct group, in order of first appearance."""
    index = {group: i for i, group in enumerate(dict.fromkeys(groups))}
    return [f"C{index[group] % 10}" for group in groups]


def plot(
    curves: list[dict],
    out: Path,
    title: str,
    labels: list[str] | None = None,
    groups: list[str] | None = None,
) -> None:
    fig, axes = plt.subplots(1, len(PANELS), figsize=(5 * len(PANELS), 4), layout="constrained")
    line_colours = colours(groups or [str(i) for i in range(len(curves))])
    for i, (curve, colour) in enumerate(zip(curves, line_colours, strict=True)):
        seconds = [p["seconds"] for p in curve["points"]]
        name = labels[i] if labels else label(curve)
        for ax, (key, _, _) in zip(axes, PANELS, strict=True):
            ax.plot(
                seconds, [p[key] for p in curve["points"]], "o-", ms=3, color=colour, label=name
            )
            ax.axhline(curve["floor"][key], color=colour, ls="--", lw=0.8)
    for ax, (_, name, scale) in zip(axes, PANELS, strict=True):
        ax.set(xlabel="training seconds (2 CPU cores)", ylabel=name, yscale=scale)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{title} (dashed: real train vs real test)")
    save_figure(fig, out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("curves", type=Path, nargs="+", help="zoo .curve.json files")
    parser.add_argument("--title", default="Generator quality against training time")
    parser.add_argument("--labels", nargs="+", help="one label per curve file, in order")
    parser.add_argument("--groups", nargs="+", help="one group per curve file: a colour each")
    args = parser.parse_args(argv)
    for option in ("labels", "groups"):
        given = getattr(args, option)
        if given and len(given) != len(args.curves):
            parser.error(f"--{option} gives {len(given)} names for {len(args.curves)} curves")
    curves = [json.loads(p.read_text()) for p in args.curves]
    plot(curves, args.out, args.title, args.labels, args.groups)
    print(args.out)


if __name__ == "__main__":
    main()
