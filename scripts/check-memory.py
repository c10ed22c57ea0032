#!/usr/bin/env python3
"""Checks that every stage of a finished experiment stayed within a memory
budget per rank, from its summary.json (each stage's peak resident memory on
every rank, recorded by simba in the run files' /memory and the dataset's).

  scripts/check-memory.py OUT/summary.json --limit-gib 6

Prints one row per run and stage (the largest rank's peak) and exits 1 if a
stage exceeded the limit, if a stage an experiment always has (generation,
training, evaluation) was not recorded, or if a peak is only an upper bound
(the kernel did not let simba restart it for the stage).
"""
import argparse
import json
import sys

REQUIRED = ["training", "evaluation"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("summary")
    parser.add_argument("--limit-gib", type=float, required=True)
    args = parser.parse_args()
    summary = json.load(open(args.summary))
    limit_mib = args.limit_gib * 1024
    failures = []
    rows = []
    generation = summary.get("generation_memory")
    if generation is None:
        failures.append("the cohort's generation recorded no memory")
    else:
        rows.append(("cohort", generation))
    for arm in summary["arms"]:
        label = arm["name"] + ("" if arm["replicate"] == {"cohort": 1, "training": 1} else " (%s)" % arm["replicate"])
        stages = (arm.get("memory") or {}).get("stages", [])
        names = [stage["name"] for stage in stages]
        failures += ["%s: no %s stage recorded" % (label, name) for name in REQUIRED if name not in names]
        rows += [(label, stage) for stage in stages]
    print("%-28s %-26s %10s  %s" % ("run", "stage", "peak GiB", "per rank"))
    for label, stage in rows:
        peaks = stage["peak_mib_by_rank"]
        peak = max(peaks)
        print("%-28s %-26s %10.2f  %s" % (label, stage["name"], peak / 1024,
                                         " ".join("%.2f" % (p / 1024) for p in peaks)))
        if peak > limit_mib:
            failures.append("%s: %s peaked at %.2f GiB on a rank, over %.1f GiB" % (label, stage["name"], peak / 1024, args.limit_gib))
        if not stage["since_stage_start"]:
            failures.append("%s: %s's peak is the process's so far, not the stage's own" % (label, stage["name"]))
    for failure in failures:
        print("FAIL " + failure)
    print("every stage within %.1f GiB per rank" % args.limit_gib if not failures else "%d failure(s)" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
