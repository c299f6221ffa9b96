"""Renders a noisesched figure description (JSON) to PNG with matplotlib.

Called by the noisesched program (the script is compiled into it): every number drawn is
computed by the C++ library; this script only draws. Usage: render_figure.py FIGURE.json OUT.png
"""
import json
import math
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # the caller tries the next Python, or names what it tried
    sys.exit(3)


def values(seq):
    return [math.nan if v is None else v for v in seq]


def main(spec_path, out_path):
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    panels = spec["panels"]
    columns = min(len(panels), spec.get("columns", 3))
    rows = math.ceil(len(panels) / columns)
    width, height = spec.get("panel_size", [5.0, 3.8])
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows + 1.0),
                             squeeze=False)
    for index, panel in enumerate(panels):
        ax = axes[index // columns][index % columns]
        if panel.get("image"):
            image = plt.imread(panel["image"])
            ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(panel.get("title", ""), fontsize=10)
            ax.set_xlabel(panel.get("xlabel", ""))
            ax.set_ylabel(panel.get("ylabel", ""))
            continue
        for series in panel["series"]:
            x = series["x"] if "x" in series else panel["x"]  # shared by the panel's series
            ax.plot(values(x), values(series["y"]), series.get("style", "-"),
                    label=series.get("label"), linewidth=1.6)
        ax.set_title(panel.get("title", ""), fontsize=11)
        ax.set_xlabel(panel.get("xlabel", ""))
        ax.set_ylabel(panel.get("ylabel", ""))
        if panel.get("log_y"):
            ax.set_yscale("log")
        if panel.get("xlim"):
            ax.set_xlim(*panel["xlim"])
        if panel.get("ylim"):
            ax.set_ylim(*panel["ylim"])
        ax.grid(True, alpha=0.3)
        if spec.get("legend", "figure") == "panel" and ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=8)
    for index in range(len(panels), rows * columns):
        axes[index // columns][index % columns].axis("off")
    if spec.get("legend", "figure") == "figure" and panels[0]["series"]:
        handles, labels = axes[0][0].get_legend_handles_labels()
        if labels:
            fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=9,
                       frameon=False)
    if spec.get("title"):
        fig.suptitle(spec["title"], fontsize=13)
    legend_rows = (math.ceil(len(panels[0]["series"]) / 4)
                   if spec.get("legend", "figure") == "figure" else 0)
    bottom = min(0.35, (0.35 + 0.25 * legend_rows) / (height * rows + 1.0))
    fig.tight_layout(rect=(0, bottom, 1, 0.95 if spec.get("title") else 1))
    fig.savefig(out_path, dpi=spec.get("dpi", 110), format="png")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.stderr.write("usage: render_figure.py FIGURE.json OUT.png\n")
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
