#!/usr/bin/env python3
"""Markdown table of evaluation-during-training results: for each run folder, the evaluation
nearest to 5 and to 12 minutes of training (FID, class accuracy, grey-background share), the
steps and the seconds per step. Usage: levers_table.py RUN_DIR..."""
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


def nearest(points, minutes):
    if not points:
        return None
    best = min(points, key=lambda p: abs(p["train_s"] / 60 - minutes))
    return best if abs(best["train_s"] / 60 - minutes) <= 2.5 else None


def cell(p):
    if p is None:
        return "- | - | -"
    e = p["eval"]
    return (f"{e['fid']:.0f} | {100 * e['cacc']['accuracy']:.0f}% | "
            f"{100 * e['bg']['share']:.0f}%")


print("| run | steps | s/step | FID 5 min | cacc 5 min | grey bg 5 min "
      "| FID 12 min | cacc 12 min | grey bg 12 min |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for run in sys.argv[1:]:
    points, last = evaluations(run)
    steps = last["step"] if last else 0
    per_step = last["train_s"] / steps if last and steps and "train_s" in last else float("nan")
    print(f"| {os.path.basename(run.rstrip('/'))} | {steps} | {per_step:.2f} | "
          f"{cell(nearest(points, 5))} | {cell(nearest(points, 12))} |")
