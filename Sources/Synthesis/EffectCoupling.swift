import YAMLConfig

/// How the regional effects (the disease and each regional bias) share the
/// template. By default each keeps to its own territory, so that no effect
/// changes another's region (the bias cannot make or unmake the disease);
/// `allow_leakage` gives the coupled effects of earlier versions instead
/// (fields summed before exponentiation, so neighbours push each other),
/// for studies of physically coupled anatomy.
public struct EffectCoupling: Equatable, Sendable {
    /// Sum the effects' fields freely (coupled anatomy) instead of confining them.
    public var allowLeakage = false
    /// Largest leakage accepted when effects are confined: an effect may
    /// change another effect's region by at most this share of the disease's
    /// typical volume change (for intensity effects: of their own change).
    public var leakageTolerance = 0.02

    public init() {}

    public static let schema = ConfigSchema<EffectCoupling>("effects", comment: "how the regional effects share space", [
        ConfigField("allow_leakage", \.allowLeakage, .bool,
                    "false: each effect stays in its own territory; true: coupled effects that may change each other's regions"),
        ConfigField("leakage_tolerance", \.leakageTolerance, .double,
                    "refuse confined effects that change another's region by more than this share",
                    check: ConfigCheck { (0...1).contains($0) ? nil : "must be between 0 and 1, got \($0)" }),
    ])
}
