#!/usr/bin/env python3
"""Checks the claims of a finished counterfactual bias experiment from its
summary.json (issue 6, "the science must hold"):
  1. the no-bias twin shows no disparity between bias groups: the intervals
     of its ΔTPR and ΔFPR include 0;
  2. the bias group's TPR and FPR rise relative to the twin (the shortcut),
     by more than the confidence interval: ΔΔ = Δ_biased − Δ_twin > 0 with
     its paired-bootstrap interval above 0;
  3. reweighing shrinks that disparity: |Δ_reweighed| < |Δ_biased|;
  4. the bias is decodable above chance (p < 0.05) from every layer of the
     biased model, and from no layer of the twin.
Usage: scripts/check-science.py OUTDIR/summary.json   (exit 1 if a claim fails)
"""
import json
import sys


def main(path):
    summary = json.load(open(path))
    arms = {arm["name"]: arm for arm in summary["arms"]}
    failures = []

    def check(ok, text):
        print(("ok   " if ok else "FAIL ") + text)
        if not ok:
            failures.append(text)

    def disparity(arm, metric):
        table = arms[arm]["evaluation"]["disparities"]
        column = table["metrics"].index(metric)
        return table["cells"][0][column]

    for metric in ("ΔTPR", "ΔFPR"):
        cell = disparity("twin", metric)
        check(cell["lower"] <= 0 <= cell["upper"],
              f"twin {metric} = {cell['estimate']:+.3f} [{cell['lower']:+.3f}, {cell['upper']:+.3f}]: the interval includes 0")
    for metric in ("ΔTPR", "ΔFPR"):
        comparison = next(c for c in summary["comparisons"]
                          if c["arm"] == "biased" and c["against"] == "twin" and c["metric"] == metric)
        d = comparison["difference"]
        check(d["estimate"] > 0 and d["lower"] > 0,
              f"biased vs twin Δ{metric} = {d['estimate']:+.3f} [{d['lower']:+.3f}, {d['upper']:+.3f}]: rise beyond the interval")
    if "reweighed" in arms:
        for metric in ("ΔTPR", "ΔFPR"):
            biased, reweighed = disparity("biased", metric)["estimate"], disparity("reweighed", metric)["estimate"]
            check(abs(reweighed) < abs(biased), f"reweighing shrinks {metric}: {biased:+.3f} → {reweighed:+.3f}")
    else:
        check(False, "no reweighed arm in the experiment")
    for arm, present in (("biased", True), ("twin", False)):
        encoding = arms[arm]["encoding"]
        probes = encoding["targets"]["bias"]
        above = [p.get("p_value") is not None and p["p_value"] < 0.05 for p in probes]
        accuracies = ", ".join(f"{layer} {p.get('accuracy', float('nan')):.3f}" for layer, p in zip(encoding["layers"], probes))
        if present:
            check(all(above), f"{arm}: bias decodable above chance from every layer ({accuracies})")
        else:
            check(not any(above), f"{arm}: bias not decodable from any layer ({accuracies})")
    print(f"{len(failures)} claim(s) failed" if failures else "every claim holds")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "out/summary.json"))
