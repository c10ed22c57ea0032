/// One claim of an experiment, judged on intervals pooled over replicates,
/// never on point estimates, and only for arms that learned the disease.
public struct Verdict: Codable, Sendable, Equatable {
    public enum Claim: String, Codable, Sendable {
        /// Every replicate of the arm reaches the floors (AUROC, balanced accuracy).
        case learned
        /// The twin (trained without the bias) shows no disparity: its interval includes 0.
        case twinFair = "twin_fair"
        /// The bias changed the disparity: ΔΔ biased vs twin beyond its interval.
        case shortcut
        /// The biased model's disparity shrinks when the bias is removed from its input.
        case learnedFromInput = "learned_from_input"
        /// The twin model's disparity moves when the bias is put into its input.
        case inputAlone = "input_alone"
        /// A mitigation shrinks the biased arm's disparity beyond its interval.
        case mitigation
        /// A mitigated arm's disparity still differs from the twin's beyond
        /// its interval: the mitigation left part of the bias's effect.
        case residual
        /// A site-partitioned strategy's disparity differs from central training's.
        case strategy
    }

    public var claim: Claim
    public var arm: String
    public var against: String?
    public var metric: String?
    public var group: String?
    /// true: shown; false: not shown (the interval does not exclude it);
    /// nil: not judged (an arm did not learn).
    public var holds: Bool?
    public var text: String

    /// Every claim the summary's numbers allow.
    static func judge(_ summary: ExperimentSummary) -> [Verdict] {
        var verdicts: [Verdict] = []
        var learned: [String: Bool] = [:]
        for name in summary.armNames {
            let (ok, detail) = learnedDisease(summary.replicates(of: name), floors: summary.floors)
            learned[name] = ok
            verdicts.append(Verdict(claim: .learned, arm: name, holds: ok,
                                    text: ok ? "\(name) learned the disease (\(detail))"
                                        : "\(name) did not learn the disease (\(detail)): no fairness verdict is given for it"))
        }
        func unlearned(_ arms: String...) -> String? { arms.first { learned[$0] == false } }

        for d in summary.disparities where d.arm == ArmName.twin {
            let cell = d.disparity.pooled
            if let arm = unlearned(d.arm) {
                verdicts.append(Verdict(claim: .twinFair, arm: d.arm, metric: d.metric, group: d.group, holds: nil,
                                        text: "twin \(d.metric) (\(d.group)): not judged, \(arm) did not learn"))
            } else {
                let fair = !cell.excludesZero
                verdicts.append(Verdict(claim: .twinFair, arm: d.arm, metric: d.metric, group: d.group, holds: fair,
                                        text: "the twin shows \(fair ? "no" : "a") \(d.metric) between \(d.group) and \(d.reference): \(Self.text(cell))"
                                            + (fair ? "" : " — the control fails: the disparity is not the bias's doing alone")))
            }
        }
        for c in summary.comparisons {
            let mitigation = ArmName.mitigations.contains(c.arm)
            let kind: Claim = c.against == ArmName.twin ? (mitigation ? .residual : .shortcut) : mitigation ? .mitigation : .strategy
            let base = Verdict(claim: kind, arm: c.arm, against: c.against, metric: c.metric, group: c.group, holds: nil, text: "")
            if let arm = unlearned(c.arm, c.against) {
                verdicts.append(base.with(nil, "\(c.arm) vs \(c.against) \(c.metric) (\(c.group)): not compared, \(arm) did not learn"))
                continue
            }
            let d = c.difference
            switch kind {
            case .shortcut:
                verdicts.append(base.with(d.excludesZero, d.excludesZero
                    ? "the bias changed \(c.metric) of \(c.group) against the twin beyond the interval: ΔΔ \(Self.text(d))"
                    : "a change of \(c.metric) of \(c.group) against the twin is not shown: ΔΔ \(Self.text(d)) includes 0"))
            case .mitigation:
                let before = c.againstDisparity.estimate ?? 0
                let shrinks = (before > 0 && (d.upper ?? 0) < 0) || (before < 0 && (d.lower ?? 0) > 0)
                verdicts.append(base.with(shrinks, shrinks
                    ? "\(c.arm) shrinks \(c.metric) of \(c.group) beyond the interval: \(Self.signed(c.againstDisparity.estimate)) → \(Self.signed(c.armDisparity.estimate)), ΔΔ \(Self.text(d))"
                    : "\(c.arm) shrinking \(c.metric) of \(c.group) is not shown: ΔΔ \(Self.text(d))"))
            case .residual:
                verdicts.append(base.with(d.excludesZero, d.excludesZero
                    ? "\(c.arm) leaves a residual \(c.metric) of \(c.group) against the twin beyond the interval: ΔΔ \(Self.text(d))"
                    : "a residual \(c.metric) of \(c.group) against the twin is not shown for \(c.arm): ΔΔ \(Self.text(d)) includes 0"))
            default:
                verdicts.append(base.with(d.excludesZero, d.excludesZero
                    ? "\(c.arm) changes \(c.metric) of \(c.group) against \(c.against) beyond the interval: ΔΔ \(Self.text(d))"
                    : "a difference of \(c.metric) of \(c.group) between \(c.arm) and \(c.against) is not shown: ΔΔ \(Self.text(d))"))
            }
        }
        for d in summary.decomposition {
            if let arm = unlearned(ArmName.biased, ArmName.twin) {
                verdicts.append(Verdict(claim: .learnedFromInput, arm: ArmName.biased, against: ArmName.twin, metric: d.metric,
                                        group: d.group, holds: nil, text: "decomposition of \(d.metric) (\(d.group)): not judged, \(arm) did not learn"))
                continue
            }
            let learnedPart = d.learned.pooled, inputPart = d.input.pooled
            verdicts.append(Verdict(claim: .learnedFromInput, arm: ArmName.biased, against: ArmName.twin, metric: d.metric,
                                    group: d.group, holds: learnedPart.excludesZero,
                                    text: learnedPart.excludesZero
                                        ? "the biased model learned the bias: its \(d.metric) of \(d.group) changes by \(Self.text(learnedPart)) when the bias is removed from its input"
                                        : "that the biased model's \(d.metric) of \(d.group) depends on the bias in its input is not shown: \(Self.text(learnedPart))"))
            verdicts.append(Verdict(claim: .inputAlone, arm: ArmName.twin, against: ArmName.biased, metric: d.metric,
                                    group: d.group, holds: inputPart.excludesZero,
                                    text: inputPart.excludesZero
                                        ? "the bias in the images alone moves the twin model's \(d.metric) of \(d.group) by \(Self.text(inputPart)): part of the disparity is in the images, not learned"
                                        : "that the bias in the images alone moves the twin model's \(d.metric) of \(d.group) is not shown: \(Self.text(inputPart))"))
        }
        return verdicts
    }

    /// Whether every replicate reaches the floors, and the worst figures.
    static func learnedDisease(_ replicates: [ArmSummary], floors: LearningFloors) -> (Bool, String) {
        var worstAUROC = Double.infinity, worstBalanced = Double.infinity
        for run in replicates {
            let table = run.evaluation.byGroup
            let auroc = table.cell("all", "AUROC")?.estimate ?? -.infinity
            let balanced = ((table.cell("all", "TPR")?.estimate ?? 0) + (table.cell("all", "TNR")?.estimate ?? 0)) / 2
            worstAUROC = min(worstAUROC, auroc.isNaN ? -.infinity : auroc)
            worstBalanced = min(worstBalanced, balanced.isNaN ? -.infinity : balanced)
        }
        let ok = !replicates.isEmpty && worstAUROC >= floors.auroc && worstBalanced >= floors.balancedAccuracy
        let scope = replicates.count == 1 ? "" : "lowest of \(replicates.count) replicates: "
        return (ok, scope + String(format: "test AUROC %.3f, balanced accuracy %.3f; floors %.2f, %.2f",
                                   worstAUROC, worstBalanced, floors.auroc, floors.balancedAccuracy))
    }

    private func with(_ holds: Bool?, _ text: String) -> Verdict {
        var copy = self
        copy.holds = holds
        copy.text = text
        return copy
    }

    static func signed(_ value: Double?) -> String { value.map { String(format: "%+.3f", $0) } ?? "–" }

    static func text(_ cell: MetricTable.Cell) -> String { cell.signedText }

    /// "shown", "not shown", "not judged"; for `learned`: "learned", "did not learn".
    public var outcome: String {
        if claim == .learned { return holds == true ? "learned" : "did not learn" }
        return holds.map { $0 ? "shown" : "not shown" } ?? "not judged"
    }
}
