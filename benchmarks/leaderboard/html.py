"""The leaderboard as one self-contained HTML page: per data set and metric family, bars of each
metric's mean ± std over seeds, the table with each column's best in bold, and each row's
pictures from its lowest seed (the sample grid: a row per cluster or exemplar; traversal strips
and the attribute-change heat map; the cluster label histogram with π; IMLE's source grid;
ContraFeat's layer attention and patterns).
Pictures and plots are embedded as base64 PNG, so the file can be mailed or committed alone."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import pandas as pd

from ganctrl.benchmarks.job.records import REAL_IMAGES

BEST, FLOOR, OTHER = "#00aa55", "#b8b8b8", "#4c72b0"  # BEST is the table's bold green
PICTURES = (
    "grid",
    "traversals",
    "attribute_change",
    "cluster_labels",
    "exemplars",
    "source_grid",
    "patterns",
)
CODE_HEADING = "Code behind these numbers"
MIXED_NOTE = "Rows whose seeds ran different code (their mean ± std mixes code versions):"
NETS_HEADING = "Networks behind these numbers"
MIXED_NETS_NOTE = (
    "A network listed with more than one weights hash (the same net trained again, "
    "as on another machine, gets other weights) scored or steered the jobs of its "
    "data set with different weights, so their numbers do not compare like for "
    "like; jobs.csv says which job used which. Rerun the jobs of one set of weights "
    "(delete their folders) to make them comparable."
)


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode()


def _image(data: str, alt: str, width: int | None = None) -> str:
    size = f' width="{width}"' if width else ""
    return f'<img alt="{html.escape(alt)}"{size} src="data:image/png;base64,{data}">'


def bar_colours(cells: pd.DataFrame) -> list[str]:
    """A metric's bars: its best rows in the table's green, real-image rows (the floor) grey."""
    marked = cells["best"].eq(True)  # a row without this metric reindexes to NaN
    return [
        BEST if best else FLOOR if generator == REAL_IMAGES else OTHER
        for best, generator in zip(marked, cells["generator"], strict=True)
    ]


def axis_end(reach: pd.Series, gap: float = 5.0) -> float | None:
    """Where a metric's axis should end so that rows far beyond the rest (a collapsed GAN's FID
    is tens of times the others') do not flatten every other bar: walking down the rows' reaches
    (|mean| + std), the first drop by more than `gap` times cuts the rows above it, at most half
    of them; the axis ends at the largest reach left. None when no row stands out."""
    ordered = reach.dropna().sort_values(ascending=False).to_numpy()
    for i in range(len(ordered) // 2):
        if ordered[i + 1] > 0 and ordered[i] > gap * ordered[i + 1]:
            return float(ordered[i + 1])
    return None


def metric_bars(part: pd.DataFrame) -> str:
    """Small multiples: one panel per metric, a bar per row with its std as the error bar, the
    axis cut short of outlying rows (`axis_end`). `part` carries the `best` column."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    metrics = sorted(part["metric"].unique())
    columns = min(4, len(metrics))
    rows = -(-len(metrics) // columns)
    labels = sorted(part["row"].unique())
    figure = Figure(figsize=(3.2 * columns, (1.0 + 0.28 * len(labels)) * rows))
    FigureCanvasAgg(figure)
    for i, metric in enumerate(metrics):
        axes = figure.add_subplot(rows, columns, i + 1)
        cells = part[part["metric"] == metric].set_index("row").reindex(labels)
        spread = cells["std"].fillna(0)
        axes.barh(range(len(labels)), cells["mean"], xerr=spread, color=bar_colours(cells))
        reach = cells["mean"].abs() + spread
        end = axis_end(reach)
        if end is not None:  # cut bars end at the axis edge, their value written there
            low = (cells["mean"] - spread)[reach <= end].min()
            edge = 1.15 * end
            axes.set_xlim(min(0.0, 1.15 * low), edge)
            for y, mean in enumerate(cells["mean"]):
                if abs(mean) > edge:
                    axes.text(1.13 * end, y, f"{mean:.4g} ▸", ha="right", va="center", fontsize=6)
        axes.set_yticks(range(len(labels)), labels if i % columns == 0 else [], fontsize=7)
        axes.invert_yaxis()
        better = part.loc[part["metric"] == metric, "better"].iloc[0]
        arrow = {"lower": " ↓", "higher": " ↑"}.get(better, "")
        axes.set_title(f"{metric}{arrow}", fontsize=8)
        axes.tick_params(axis="x", labelsize=7)
    figure.tight_layout()
    return _image(_png(figure), "metric bars")


def _table(part: pd.DataFrame, cell) -> str:
    metrics = sorted(part["metric"].unique())
    head = "".join(f"<th>{html.escape(m)}</th>" for m in metrics)
    out = [f"<table><tr><th>row</th><th>generator</th>{head}<th>seeds</th></tr>"]
    for (row, generator), cells in part.groupby(["row", "generator"]):
        by_metric = cells.set_index("metric")
        values = "".join(
            f"<td>{cell(by_metric.loc[m]) if m in by_metric.index else ''}</td>" for m in metrics
        )
        out.append(
            f"<tr><td>{html.escape(row)}</td><td>{html.escape(generator)}</td>{values}"
            f"<td>{int(cells['seeds'].max())}</td></tr>"
        )
    return "\n".join(out + ["</table>"])


def _plain_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = [
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in values) + "</tr>"
        for values in frame.itertuples(index=False)
    ]
    return "\n".join([f"<table><tr>{head}</tr>", *body, "</table>"])


def render(
    summary: pd.DataFrame,
    failures: pd.DataFrame,
    pictures: dict,
    families: list[str],
    note: str,
    provenance,
) -> str:
    """`summary` carries a `best` column; `pictures` maps (data, row, generator) to
    {name: path of a PNG}; `provenance` (provenance.Provenance): the jobs per commit, the jobs of
    rows whose seeds ran different code, and the jobs per data set and network weights."""

    def cell(line) -> str:
        text = (
            f"{line['mean']:.3f}"
            if pd.isna(line["std"])
            else (f"{line['mean']:.3f} ± {line['std']:.3f}")
        )
        return f"<b>{text}</b>" if line["best"] else text

    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>ganctrl-bench leaderboard"
        "</title><style>body{font-family:sans-serif;margin:2em;max-width:1400px}"
        "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}b{color:#0a5}</style></head><body>",
        "<h1>ganctrl-bench leaderboard</h1>",
        f"<p>{html.escape(note)}</p>",
    ]
    for data, by_data in summary.groupby("data"):
        out.append(f"<h2>{html.escape(str(data))}</h2>")
        for family in families:
            part = by_data[by_data["family"] == family]
            if part.empty:
                continue
            out += [
                f"<h3>{html.escape(family or 'other')}</h3>",
                metric_bars(part),
                _table(part, cell),
            ]
        shown = [(key, found) for key, found in sorted(pictures.items()) if key[0] == data]
        if shown:
            out.append("<h3>pictures (lowest seed of each row)</h3>")
        for (_, row, generator), found in shown:
            images = "".join(
                _image(base64.b64encode(Path(path).read_bytes()).decode(), name, 320)
                for name, path in found.items()
            )
            out.append(f"<h4>{html.escape(row)} ({html.escape(generator)})</h4><p>{images}</p>")
    if not failures.empty:
        shown = failures.assign(error=failures["error"].str.join(" "))
        out += [
            "<h2>Jobs without results (failed, or still running)</h2>",
            _plain_table(shown[["data", "method", "seed", "status", "error"]]),
        ]
    out += [f"<h2>{CODE_HEADING}</h2>", _plain_table(provenance.commits)]
    if not provenance.mixed_code.empty:
        out += [f"<p>{html.escape(MIXED_NOTE)}</p>", _plain_table(provenance.mixed_code)]
    out += [f"<h2>{NETS_HEADING}</h2>", _plain_table(provenance.networks)]
    if provenance.mixed_networks:
        out.append(f"<p><b>{html.escape(MIXED_NETS_NOTE)}</b></p>")
    return "\n".join(out + ["</body></html>"])
