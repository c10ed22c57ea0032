/// Bad input to an analysis routine: each case names what to change.
public enum AnalysisError: Error, Equatable, CustomStringConvertible {
    case lengthMismatch(what: String, expected: Int, actual: Int)
    case invalidLabel(index: Int, value: Int)
    case nonFiniteValue(what: String, index: Int)
    case negativeWeight(index: Int)
    case unknownGroup(String)
    case emptyInput(String)
    case invalidSetting(String)
    case singleClass
    case lapackFailure(routine: String, info: Int)

    public var description: String {
        switch self {
        case let .lengthMismatch(what, expected, actual):
            return "\(what) has \(actual) entries, expected \(expected)"
        case let .invalidLabel(index, value):
            return "label \(value) at index \(index) is not 0 or 1"
        case let .nonFiniteValue(what, index):
            return "\(what) at index \(index) is NaN or infinite"
        case let .negativeWeight(index):
            return "sample weight at index \(index) is negative"
        case let .unknownGroup(key):
            return "group '\(key)' has no samples"
        case let .emptyInput(what):
            return "\(what) is empty"
        case let .invalidSetting(message):
            return message
        case .singleClass:
            return "labels contain only one class; a classifier needs both"
        case let .lapackFailure(routine, info):
            return "LAPACK \(routine) failed with info = \(info)"
        }
    }
}

/// Checks that every label is 0 or 1.
func validateBinaryLabels(_ labels: [Int]) throws {
    if let bad = labels.firstIndex(where: { $0 != 0 && $0 != 1 }) {
        throw AnalysisError.invalidLabel(index: bad, value: labels[bad])
    }
}

func validateLength<T>(_ values: [T], _ what: String, expected: Int) throws {
    guard values.count == expected else {
        throw AnalysisError.lengthMismatch(what: what, expected: expected, actual: values.count)
    }
}
