#!/usr/bin/env python3
"""Markdown table of evaluation-during-training results: for each run folder, the evaluation
nearest to 5 minutes of training and the last one (FID, class accuracy, grey-background share),
with the steps, seconds per step and minutes of training.

Minutes come from each run's own `train_s` (time in training steps). A run that shared the
machine with other work has an inflated `train_s`; for it, give its step cost measured alone
(`noisesched bench train`) as NAME=SECONDS, and its minutes become steps x that cost (marked *).

Usage: levers_table.py RUN_DIR... [NAME=SECONDS_PER_STEP...]"""
import json
import os
import sys


def evaluations(run):
    points, last = [], None
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            doc = json.loads(line)
            if "eval" in doc and "train_s" in doc:
                points.append(doc)
            elif "loss" in doc:
                last = doc
    return points, last


def cell(p):
    if p is None:
        return "- | - | -"
    e = p["eval"]
    return (f"{e['fid']:.0f} | {100 * e['cacc']['accuracy']:.0f}% | "
            f"{100 * e['bg']['share']:.1f}%")


runs = [a for a in sys.argv[1:] if "=" not in a]
costs = {k: float(v) for k, v in (a.split("=", 1) for a in sys.argv[1:] if "=" in a)}

print("| run | steps | s/step | FID ~5 min | cacc ~5 min | grey ~5 min "
      "| end: minutes | FID | cacc | grey |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for run in runs:
    name = os.path.basename(run.rstrip("/"))
    points, last = evaluations(run)
    steps = last["step"] if last else 0
    if name in costs:
        per_step, mark = costs[name], "*"
        minutes_of = lambda p: p["step"] * per_step / 60  # noqa: E731
    else:
        per_step = last["train_s"] / steps if last and steps and "train_s" in last else float("nan")
        mark = ""
        minutes_of = lambda p: p["train_s"] / 60  # noqa: E731
    five = min(points, key=lambda p: abs(minutes_of(p) - 5)) if points else None
    end = points[-1] if points else None
    minutes = f"{minutes_of(end):.1f}{mark}" if end else "-"
    print(f"| {name} | {steps} | {per_step:.2f}{mark} | {cell(five)} | "
          f"{minutes} | {cell(end)} |")
