#!/usr/bin/env python3
"""Markdown table of evaluation-during-training results: for each run folder, the evaluation
nearest to 5 minutes of training and the last one (FID, class accuracy, grey-background share),
with the steps, seconds per step and minutes of training. Usage: levers_table.py RUN_DIR..."""
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


print("| run | steps | s/step | FID ~5 min | cacc ~5 min | grey ~5 min "
      "| end: minutes | FID | cacc | grey |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for run in sys.argv[1:]:
    points, last = evaluations(run)
    steps = last["step"] if last else 0
    per_step = last["train_s"] / steps if last and steps and "train_s" in last else float("nan")
    five = min(points, key=lambda p: abs(p["train_s"] / 60 - 5)) if points else None
    end = points[-1] if points else None
    minutes = f"{end['train_s'] / 60:.1f}" if end else "-"
    print(f"| {os.path.basename(run.rstrip('/'))} | {steps} | {per_step:.2f} | {cell(five)} | "
          f"{minutes} | {cell(end)} |")
