#!/usr/bin/env python3
"""Checks the claims of finished counterfactual bias experiments from their
summary.json, on intervals pooled over replicates (two-level bootstrap over
training replicates and test subjects), never on point estimates.

  scripts/check-science.py QUICKSTART/summary.json [--null NULL/summary.json]
                           [--multisite MULTISITE/summary.json]
                           [--unlearning UNLEARNING/summary.json]

The quickstart (bias in 90% / 10% of disease / healthy):
  0. every arm learned the disease in every replicate (test AUROC and
     balanced accuracy at or above the experiment's floors);
  1. the no-bias twin shows no disparity: its pooled ΔTPR and ΔFPR
     intervals include 0;
  2. the bias group's TPR and FPR rise against the twin beyond the
     interval (ΔΔ = Δ_biased − Δ_twin, lower bound above 0);
  3. the rise is learned: the biased model's Δ falls when the bias is
     taken out of its input (learned part above 0), and the bias in the
     images alone does not move the twin model (its interval includes 0);
  4. reweighing: its verdict is what its interval says ("shown" only if
     the ΔΔ against the biased arm lies beyond 0 on the shrinking side),
     and it is printed either way;
  5. the bias is decodable above chance from every layer of the biased
     model and from no layer of the twin, in every replicate (one-sided
     binomial tests, Holm-adjusted over the layers; the probe's sample count
     and power are printed, and the twin's model on the biased images is
     shown for information).
The null control (--null: the same cohort with the bias in 50% of each
class): every arm learned; biased vs twin ΔΔTPR and ΔΔFPR intervals include
0 and the tool says the shortcut is "not shown".
The multi-site experiment (--multisite, configs/multisite-science.yaml):
every strategy — central, federated and travelling (precise batch norm
across sites) and local (one model per site, deployed at its own site) —
learned the disease.
The unlearning experiment (--unlearning, configs/quickstart-unlearning.yaml:
the quickstart's cohort with arms biased, twin and unlearning, all its
losses reweighed and the budget's last epoch kept): every arm learned; in
every replicate the bias is less than halfway from chance to the biased
model's decodability at the last layer (the features the disease head
reads; within-class probe on balanced subsets); the mitigation verdicts
against the biased arm and the twin are printed either way.
In every summary, every verdict the tool printed must agree with its
interval. Exit 1 if a claim fails.
"""
import argparse
import json
import sys

failures = []


def check(ok, text):
    print(("ok   " if ok else "FAIL ") + text)
    if not ok:
        failures.append(text)


def fmt(cell):
    if cell.get("estimate") is None:
        return "–"
    if cell.get("lower") is None or cell.get("upper") is None:
        return f"{cell['estimate']:+.3f}"
    return f"{cell['estimate']:+.3f} [{cell['lower']:+.3f}, {cell['upper']:+.3f}]"


def includes_zero(cell):
    return cell.get("lower") is not None and cell.get("upper") is not None and cell["lower"] <= 0 <= cell["upper"]


def above_zero(cell):
    return cell.get("lower") is not None and cell["lower"] > 0


def floors(summary, label):
    """Claim 0, recomputed from each replicate's own test table, for every
    arm; the tool's own verdict on each must agree."""
    floor = summary["floors"]
    for name in dict.fromkeys(arm["name"] for arm in summary["arms"]):
        worst_auroc, worst_balanced = 1.0, 1.0
        for arm in (a for a in summary["arms"] if a["name"] == name):
            table = arm["evaluation"]["by_group"]
            row = table["keys"].index("all")

            def value(metric):
                v = table["cells"][row][table["metrics"].index(metric)].get("estimate")
                return float("nan") if v is None or isinstance(v, str) else v
            worst_auroc = min(worst_auroc, value("AUROC"))
            worst_balanced = min(worst_balanced, (value("TPR") + value("TNR")) / 2)
        learned = worst_auroc >= floor["auroc"] and worst_balanced >= floor["balanced_accuracy"]
        text = (f"{label}: {name} learned the disease in every replicate (lowest AUROC {worst_auroc:.3f} ≥ {floor['auroc']}, "
                f"balanced accuracy {worst_balanced:.3f} ≥ {floor['balanced_accuracy']})")
        check(learned, text)
        verdict = next(v for v in summary["verdicts"] if v["claim"] == "learned" and v["arm"] == name)
        check(verdict.get("holds") == learned, f"{label}: the tool says: {verdict['text']}")


def verdicts_agree(summary, label):
    """Every printed verdict says what its interval says."""
    wrong = []
    comparisons = {(c["arm"], c["against"], c["metric"], c["group"]): c for c in summary["comparisons"]}
    for v in summary["verdicts"]:
        if v.get("holds") is None or v["claim"] not in ("shortcut", "strategy", "twin_fair", "mitigation", "residual"):
            continue
        if v["claim"] == "twin_fair":
            cell = next(d["disparity"]["pooled"] for d in summary["disparities"]
                        if d["arm"] == v["arm"] and d["metric"] == v["metric"] and d["group"] == v["group"])
            expected = includes_zero(cell)
        elif v["claim"] == "mitigation":
            c = comparisons[(v["arm"], v["against"], v["metric"], v["group"])]
            before, d = c["against_disparity"].get("estimate") or 0, c["difference"]
            expected = (before > 0 and d.get("upper") is not None and d["upper"] < 0) or \
                       (before < 0 and d.get("lower") is not None and d["lower"] > 0)
        else:
            d = comparisons[(v["arm"], v["against"], v["metric"], v["group"])]["difference"]
            expected = not includes_zero(d) and d.get("lower") is not None
        if v.get("holds") != expected:
            wrong.append(v["text"])
    check(not wrong, f"{label}: every verdict agrees with its interval" + (f" (disagree: {wrong})" if wrong else ""))


def pooled(summary, arm, metric, group="morph"):
    return next(d["disparity"] for d in summary["disparities"]
                if d["arm"] == arm and d["metric"] == metric and d["group"] == group)


def comparison(summary, arm, against, metric, group="morph"):
    return next(c for c in summary["comparisons"]
                if c["arm"] == arm and c["against"] == against and c["metric"] == metric and c["group"] == group)


def spread(cells):
    return ", ".join(f"{c['estimate']:+.3f}" if c.get("estimate") is not None else "–" for c in cells)


def quickstart(summary):
    label = "quickstart"
    print(f"{label}: {summary['replicates']} training replicate(s) × {summary['cohort_replicates']} cohort(s) per arm")
    floors(summary, label)
    verdicts_agree(summary, label)
    for metric in ("ΔTPR", "ΔFPR"):
        d = pooled(summary, "twin", metric)
        check(includes_zero(d["pooled"]),
              f"twin {metric} = {fmt(d['pooled'])} (replicates {spread(d['by_replicate'])}): the interval includes 0")
    for metric in ("ΔTPR", "ΔFPR"):
        c = comparison(summary, "biased", "twin", metric)
        check(above_zero(c["difference"]),
              f"biased vs twin Δ{metric} = {fmt(c['difference'])} (replicates {spread(c['difference_by_replicate'])}): rise beyond the interval")
    for metric in ("ΔTPR", "ΔFPR"):
        d = next(d for d in summary["decomposition"] if d["metric"] == metric and d["group"] == "morph")
        check(above_zero(d["learned"]["pooled"]),
              f"{metric} learned by the biased model (its Δ on biased − on twin images) = {fmt(d['learned']['pooled'])}: beyond the interval")
        check(includes_zero(d["input"]["pooled"]),
              f"{metric} from the images alone (twin model, biased − twin images) = {fmt(d['input']['pooled'])}: the interval includes 0")
    if any(a["name"] == "reweighed" for a in summary["arms"]):
        for metric in ("ΔTPR", "ΔFPR"):
            c = comparison(summary, "reweighed", "biased", metric)
            verdict = next(v for v in summary["verdicts"] if v["claim"] == "mitigation" and v["arm"] == "reweighed"
                           and v["metric"] == metric and v["group"] == "morph")
            print(f"info reweighing, {metric}: {fmt(c['against_disparity'])} → {fmt(c['arm_disparity'])}, "
                  f"ΔΔ {fmt(c['difference'])}: {'shown' if verdict.get('holds') else 'not shown'}")
    else:
        check(False, "no reweighed arm in the experiment")
    for name, present in (("biased", True), ("twin", False)):
        for arm in (a for a in summary["arms"] if a["name"] == name):
            encoding = arm["encoding"]
            probes = encoding["targets"]["bias"]
            above = [p.get("p_value_holm") is not None and p["p_value_holm"] < 0.05 for p in probes]
            accuracies = ", ".join(f"{layer} {p.get('accuracy') or float('nan'):.3f}" for layer, p in zip(encoding["layers"], probes))
            replicate = arm["replicate"]
            which = f"{name} (cohort {replicate['cohort']}, training {replicate['training']})"
            power = f"{probes[0].get('samples')} images probed, power {probes[0].get('power', float('nan')):.2f}"
            if present:
                check(all(above), f"{which}: bias decodable above chance (Holm p < 0.05) from every layer ({accuracies}; {power})")
            else:
                check(not any(above), f"{which}: bias not decodable (Holm p < 0.05) from any layer ({accuracies}; {power})")
            on_biased = arm.get("encoding_on_biased_images")
            if on_biased:
                probes = on_biased["targets"]["bias"]
                print("info " + f"{which} on the biased images (bias in the input, never trained on it): "
                      + ", ".join(f"{layer} {p.get('accuracy') or float('nan'):.3f}{' *' if (p.get('p_value_holm') or 1) < 0.05 else ''}"
                                  for layer, p in zip(on_biased["layers"], probes)))


def null_control(summary):
    label = "null control (bias in 50% of each class)"
    floors(summary, label)
    verdicts_agree(summary, label)
    for metric in ("ΔTPR", "ΔFPR"):
        c = comparison(summary, "biased", "twin", metric)
        check(includes_zero(c["difference"]),
              f"{label}: biased vs twin Δ{metric} = {fmt(c['difference'])} (replicates {spread(c['difference_by_replicate'])}): the interval includes 0")
        verdict = next(v for v in summary["verdicts"] if v["claim"] == "shortcut" and v["metric"] == metric and v["group"] == "morph")
        check(verdict.get("holds") is False, f"{label}: the tool says: {verdict['text']}")


def multisite(summary):
    """Every strategy must learn before any is compared with central."""
    label = "multi-site"
    floors(summary, label)
    verdicts_agree(summary, label)


def last_layer_bias(arm):
    """The within-class bias probe at the network's last probed layer."""
    encoding = arm["encoding"]
    return encoding["layers"][-1], encoding["targets"]["bias"][-1]


def unlearning(summary):
    label = "unlearning"
    floors(summary, label)
    verdicts_agree(summary, label)
    biased = {tuple(a["replicate"].values()): a for a in summary["arms"] if a["name"] == "biased"}
    for arm in (a for a in summary["arms"] if a["name"] == "unlearning"):
        replicate = arm["replicate"]
        layer, probe = last_layer_bias(arm)
        _, before = last_layer_bias(biased[tuple(replicate.values())])
        chance, after, was = probe["chance"], probe.get("accuracy"), before.get("accuracy")
        fell = after is not None and was is not None and after - chance <= (was - chance) / 2
        check(fell, f"{label} (cohort {replicate['cohort']}, training {replicate['training']}): bias at {layer} "
                    f"{was:.3f} (biased) → {after:.3f}, chance {chance:.2f}: less than halfway from chance to the biased model's "
                    f"({probe.get('samples')} images probed, power {probe.get('power', float('nan')):.2f})")
    for v in summary["verdicts"]:
        if v["arm"] == "unlearning" and v["claim"] in ("mitigation", "residual"):
            print(f"info [{'shown' if v.get('holds') else 'not shown'}] {v['text']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("quickstart", nargs="?", help="the quickstart's summary.json")
    parser.add_argument("--null", help="the null control's summary.json (preset quickstart-null)")
    parser.add_argument("--multisite", help="the multi-site experiment's summary.json")
    parser.add_argument("--unlearning", help="the unlearning experiment's summary.json (configs/quickstart-unlearning.yaml)")
    args = parser.parse_args()
    if not (args.quickstart or args.null or args.multisite or args.unlearning):
        parser.error("give at least one summary.json")
    if args.quickstart:
        quickstart(json.load(open(args.quickstart)))
    if args.null:
        null_control(json.load(open(args.null)))
    if args.multisite:
        multisite(json.load(open(args.multisite)))
    if args.unlearning:
        unlearning(json.load(open(args.unlearning)))
    print(f"{len(failures)} claim(s) failed" if failures else "every claim holds")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
