#!/usr/bin/env python3
"""The layers of noisesched's source folders, drawn from the includes.

Reads every `#include "noisesched/<folder>/..."` in include/noisesched/, src/ and python/, checks
that each folder includes only folders of lower layers (LAYERS below, lowest first: the architecture as
intended), that there is no cycle between folders, and writes docs/layers.md with the drawing
docs/figures/layers.svg (a dependency matrix: which folder includes which, in layer order, so that
layered code has every mark right of the diagonal).

  scripts/layers.py            write docs/layers.md and docs/figures/layers.svg
  scripts/layers.py --check    exit 1 naming each include that goes up or sideways, a cycle, or a
                               drawing that is not what the includes give (run without --check)

Python's standard library only (run by the test suite).
"""
import argparse
import collections
import html
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Lowest first. A folder may include its own layer's headers only from itself, and any lower layer.
LAYERS = [
    ("foundations", ["common"]),
    ("schedule maths", ["schedule"]),
    ("configuration", ["config"]),
    ("files and data", ["data", "io"]),
    ("reports", ["report"]),
    ("the study", ["study"]),
    ("LibTorch runtime", ["core"]),
    ("networks", ["models"]),
    ("optimizers", ["optim"]),
    ("the diffusion process", ["diffusion"]),
    ("sampling", ["sampling"]),
    ("evaluation", ["eval"]),
    ("training", ["train"]),
    ("the program and the Python module", ["cli", "python"]),
]
LAYER_OF = {folder: i for i, (_, folders) in enumerate(LAYERS) for folder in folders}
# What each folder compiles into (src/CMakeLists.txt).
LIBRARY = {
    "common": "noisesched::common", "schedule": "noisesched::schedule",
    "config": "noisesched::config", "data": "noisesched::data",
    "io": "noisesched::io (the tensor files: noisesched::tensor)", "report": "noisesched::report",
    "study": "noisesched::study", "cli": "the noisesched program",
    "python": "the Python module noisesched._core (python/bindings.cpp)",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"noisesched/([A-Za-z_]+)/([^"]+)"')


def source_files():
    for base, folder_index in (("include/noisesched", 2), ("src", 1), ("python", 0)):
        for dirpath, _, names in os.walk(os.path.join(ROOT, base)):
            for name in sorted(names):
                if name.endswith((".h", ".cpp", ".h.in")):
                    path = os.path.relpath(os.path.join(dirpath, name), ROOT)
                    parts = path.split(os.sep)
                    if len(parts) > folder_index + 1:
                        yield path, parts[folder_index]


def read_edges():
    edges = collections.defaultdict(list)  # (from, to) -> ["path:line", ...]
    folders = set()
    for path, folder in source_files():
        folders.add(folder)
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if m and m.group(1) != folder:
                    edges[(folder, m.group(1))].append(f"{path}:{number}")
    return folders, edges


def problems(folders, edges):
    found = []
    for folder in sorted(folders - set(LAYER_OF)):
        found.append(f"folder '{folder}' is in no layer: add it to LAYERS in scripts/layers.py")
    for (a, b), places in sorted(edges.items()):
        if a not in LAYER_OF or b not in LAYER_OF:
            continue
        if LAYER_OF[b] >= LAYER_OF[a]:
            how = "up" if LAYER_OF[b] > LAYER_OF[a] else "sideways"
            for place in places:
                found.append(f"{place}: {a}/ ({LAYERS[LAYER_OF[a]][0]}) includes {b}/ "
                             f"({LAYERS[LAYER_OF[b]][0]}), {how}")
    # Cycles between folders (impossible when every edge goes down, reported all the same).
    graph = collections.defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    state, stack = {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                found.append("folder cycle: " + " -> ".join(cycle))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def svg(edges):
    """A dependency matrix: row folder includes column folder, folders in layer order (highest
    first). Layered code has every mark right of the diagonal; a mark left of it (red) is an
    include sideways or up, and every cycle needs one."""
    order = [f for _, folders in reversed(LAYERS) for f in folders]
    cell, left, top, margin = 30, 230, 92, 12
    n = len(order)
    width = left + n * cell + margin
    height = top + n * cell + margin + 24
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    most = max((len(p) for p in edges.values()), default=1)
    for i, a in enumerate(order):
        y = top + i * cell
        layer = LAYER_OF[a]
        out.append(f'<text x="{left - 8}" y="{y + cell / 2 + 4}" text-anchor="end">'
                   f'{layer}. {html.escape(LAYERS[layer][0])}: {a}/</text>')
        x = left + i * cell
        out.append(f'<text transform="translate({x + cell / 2 + 4},{top - 8}) rotate(-60)">'
                   f'{a}/</text>')
        for j, b in enumerate(order):
            x = left + j * cell
            places = edges.get((a, b), [])
            if a == b:
                fill = "#888"
            elif not places:
                fill = "#f7f7f7"
            elif LAYER_OF[b] >= LAYER_OF[a]:
                fill = "#d62728"
            else:
                shade = 0.25 + 0.75 * (len(places) ** 0.5) / (most ** 0.5)
                fill = "#%02x%02x%02x" % tuple(int(255 - shade * (255 - c)) for c in (31, 119, 180))
            out.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                       f'fill="{fill}"><title>{a}/ includes {b}/: {len(places)} lines</title>'
                       '</rect>')
            if places and a != b:
                colour = "white" if len(places) > most / 4 else "#222"
                out.append(f'<text x="{x + (cell - 2) / 2}" y="{y + cell / 2 + 3}" '
                           f'text-anchor="middle" font-size="10" fill="{colour}">{len(places)}'
                           '</text>')
    wrong = sum(1 for (a, b) in edges if a in LAYER_OF and b in LAYER_OF and
                LAYER_OF[b] >= LAYER_OF[a])
    out.append(f'<text x="{left}" y="{top + n * cell + 18}" fill="#444">row includes column '
               f'(include lines); left of the diagonal (sideways or up): {wrong or "none"}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def markdown(edges):
    lines = [
        "# The layers of the source",
        "",
        "Generated by `scripts/layers.py` from the `#include` lines of `include/noisesched/`,",
        "`src/` and `python/` (do not edit; run the script). The test suite runs `scripts/layers.py --check`,",
        "which fails on an include from a folder to one of its own or a higher layer, on a cycle",
        "between folders, and on this page being out of date.",
        "",
        "![which folder includes which, in layer order](figures/layers.svg)",
        "",
        "Each row is a folder, highest layer first; a blue cell says the row's folder includes the",
        "column's (the number is the count of include lines). Every mark lies right of the",
        "diagonal:",
        "no folder includes one of its own or a higher layer, so there is no cycle between",
        "folders (a cycle needs at least one include upwards). Layers 0 to 5 build without",
        "LibTorch; layers 6 to 12 (and `io/safetensors.*`, `io/checkpoint.*`) are the LibTorch",
        "library `noisesched::tensor`; the program (`cli/`) and the Python module (`python/`)",
        "link both.",
        "",
        "| Layer | Folder | Includes (folder: include lines) |",
        "| --- | --- | --- |",
    ]
    for i, (name, folders) in enumerate(LAYERS):
        for folder in folders:
            uses = sorted(((b, len(p)) for (a, b), p in edges.items() if a == folder),
                          key=lambda item: -LAYER_OF.get(item[0], -1))
            text = ", ".join(f"{b}: {n}" for b, n in uses) or "nothing of noisesched"
            lines.append(f"| {i}. {name} | `{folder}/` | {text} |")
    lines.append("")
    return "\n".join(lines)


def main():
    global ROOT
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--root", default=ROOT, help="the repository (default: this script's)")
    args = parser.parse_args()
    ROOT = os.path.abspath(args.root)
    folders, edges = read_edges()
    found = problems(folders, edges)
    outputs = {os.path.join("docs", "layers.md"): markdown(edges),
               os.path.join("docs", "figures", "layers.svg"): svg(edges)}
    if args.check:
        for path, text in outputs.items():
            try:
                with open(os.path.join(ROOT, path), encoding="utf-8") as f:
                    current = f.read()
            except OSError:
                current = None
            if current != text:
                found.append(f"{path} is not what the includes give: run scripts/layers.py")
        for problem in found:
            print(problem, file=sys.stderr)
        if found:
            return 1
        print(f"layers: {len(folders)} folders in {len(LAYERS)} layers, "
              f"{sum(len(p) for p in edges.values())} includes between folders, all downward, "
              f"no cycle")
        return 0
    for path, text in outputs.items():
        full = os.path.join(ROOT, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {path}")
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
