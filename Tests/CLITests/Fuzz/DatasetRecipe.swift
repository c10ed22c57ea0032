import Foundation
import Storage
import Synthesis

/// A small simba dataset described as data (every attribute, dataset, shape,
/// type and value), so that a mutation can change any of them before the
/// file is written with the Storage layer.
struct DatasetRecipe {
    enum ElementType: CaseIterable { case float, double, int32, int64, uint8 }

    struct Entry {
        var type: ElementType
        var shape: [Int]
        /// Row-major values; nil: only declared (chunked, never written, so
        /// a huge shape costs nothing on disk).
        var values: [Double]?
        var strings: [String]?
    }

    enum Attribute { case text(String), int(Int), doubles([Double]) }

    /// Keyed by path: "images", "samples/label", "template/labels", …
    var entries: [String: Entry] = [:]
    /// Keyed by path: "format" (root), "template/affine", …
    var attributes: [String: Attribute] = [:]

    /// What `DatasetWriter` writes for `count` images of `dims` from the tiny preset.
    static func valid(count: Int = 6, dims: [Int] = [4, 5, 3]) -> DatasetRecipe {
        let config = CohortPreset.tiny.config
        let voxels = dims.reduce(1, *)
        var recipe = DatasetRecipe()
        func column(_ type: ElementType, _ values: [Double], _ shape: [Int]? = nil) -> Entry {
            Entry(type: type, shape: shape ?? [values.count], values: values)
        }
        let rows = (0..<count).map(Double.init)
        recipe.attributes = [
            "format": .text(DatasetFile.format), "format_version": .int(DatasetFile.formatVersion), "complete": .int(1),
            "variant": .text("biased"), "config": .text(config.yaml(title: "fuzz")),
            "template/affine": .doubles([4, 0, 0, -8, 0, 4, 0, -10, 0, 0, 4, -6, 0, 0, 0, 1]),
        ]
        recipe.entries = [
            "images": column(.float, (0..<(count * voxels)).map { Double($0 % 17) / 17 }, [count] + dims),
            "samples/index": column(.int64, rows),
            "samples/split": column(.int32, rows.map { Double(Int($0) % 3) }),
            "samples/label": column(.int32, rows.map { Double(Int($0) % 2) }),
            "samples/site": column(.int32, rows.map { _ in 0 }),
            "samples/group": column(.int32, rows.map { Double(Int($0) / 2 % 2) }),
            "samples/disease_coefficient": column(.double, rows.map { $0 / 3 - 1 }),
            "samples/subject_coefficients": column(.double, (0..<(count * config.subject.modes)).map { Double($0 % 5) / 5 },
                                                   [count, config.subject.modes]),
            "samples/min_jacobian": column(.float, rows.map { _ in 0.8 }),
            "samples/twin_index": column(.int64, rows),
            "samples/split_names": Entry(type: .uint8, shape: [3], strings: ["train", "validation", "test"]),
            "samples/bias_names": Entry(type: .uint8, shape: [config.biases.count], strings: config.biases.map(\.name)),
            "template/image": column(.float, (0..<voxels).map { Double($0 % 7) }, dims),
            "template/labels": column(.int32, (0..<voxels).map { Double($0 % 3) }, dims),
            "template/label_numbers": column(.int32, [1, 2]),
            "template/label_names": Entry(type: .uint8, shape: [2], strings: ["Insula_R", "Putamen_R"]),
        ]
        for bias in config.biases {
            recipe.entries["samples/bias_\(bias.name)"] = column(.int32, rows.map { Double(Int($0) / 2 % 2) })
            recipe.entries["samples/bias_\(bias.name)_coefficient"] = column(.double, rows.map { Double(Int($0) / 2 % 2) * 2 })
        }
        return recipe
    }

    /// One to three changes of a shape, type, value or attribute.
    mutating func mutate(with mutator: inout FuzzMutator) {
        for _ in 0..<(1 + mutator.int(0..<3)) {
            if mutator.chance(0.3) {
                mutateAttribute(with: &mutator)
                continue
            }
            let path = mutator.pick(entries.keys.sorted())
            guard var entry = entries[path] else { continue }
            switch mutator.int(0..<6) {
            case 0:
                guard !entry.shape.isEmpty else { continue }
                entry.shape[mutator.int(0..<entry.shape.count)] = mutator.pick([0, 1, 2, 3, 7, 1 << 20, 1 << 40])
                entry.values = nil
                entry.strings = nil
            case 1:
                entry.type = mutator.pick(ElementType.allCases)
            case 2:
                if var values = entry.values, !values.isEmpty {
                    let hostile: [Double] = [-1, 2, 3, 7, 255, 1e300, -.infinity, .nan, Double(Int32.max), 0x1p40]
                    values[mutator.int(0..<values.count)] = mutator.pick(hostile)
                    entry.values = values
                } else if var strings = entry.strings, !strings.isEmpty {
                    strings[mutator.int(0..<strings.count)] = mutator.pick(["", "Insula_R", "x/y", "bias", "é"])
                    entry.strings = strings
                }
            case 3:
                entries[path] = nil
                continue
            case 4:
                entry.shape.append(1)
            default:
                if entry.values != nil, entry.shape.count >= 1, entry.shape[0] > 1 {
                    let perRow = entry.shape.dropFirst().reduce(1, *)
                    entry.shape[0] -= 1
                    entry.values = Array(entry.values!.dropLast(perRow))
                }
            }
            entries[path] = entry
        }
    }

    private mutating func mutateAttribute(with mutator: inout FuzzMutator) {
        let name = mutator.pick(attributes.keys.sorted())
        switch (attributes[name], mutator.int(0..<4)) {
        case (_, 0): attributes[name] = nil
        case (.text(let text)?, _):
            attributes[name] = .text(name == "config" ? mutator.mutate(yaml: text) : mutator.pick(["", "simba-run", text + "x"]))
        case (.int?, _): attributes[name] = .int(Int(truncatingIfNeeded: mutator.pick(FuzzMutator.integers)))
        case (.doubles(var values)?, _):
            if mutator.chance(0.3) {
                values.removeLast(mutator.int(1..<values.count))
            } else {
                values[mutator.int(0..<values.count)] = mutator.pick([0, .nan, .infinity, 1e300, -4, 1e-300])
            }
            attributes[name] = .doubles(values)
        case (nil, _): break
        }
    }

    /// Writes the file (which must not exist).
    func write(to path: String) throws {
        let file = try H5File.create(path)
        defer { try? file.close() }
        for (name, attribute) in attributes {
            let holder: any H5AttributeHolder = name.hasPrefix("template/") ? try group("template", in: file) : try file.root
            let key = name.split(separator: "/").last.map(String.init) ?? name
            switch attribute {
            case .text(let text): try holder.setAttribute(key, text)
            case .int(let value): try holder.setAttribute(key, value)
            case .doubles(let values): try holder.setAttribute(key, values)
            }
        }
        for (name, entry) in entries.sorted(by: { $0.key < $1.key }) {
            let parts = name.split(separator: "/").map(String.init)
            let parent = parts.count > 1 ? try group(parts[0], in: file) : try file.root
            try write(entry, named: parts.last!, in: parent)
        }
    }

    private func group(_ name: String, in file: H5File) throws -> H5Group {
        let root = try file.root
        return root.contains(name) ? try root.group(name) : try root.createGroup(name)
    }

    private func write(_ entry: Entry, named name: String, in group: H5Group) throws {
        if let strings = entry.strings { return try group.writeStrings(name, strings) }
        guard let values = entry.values, values.count == entry.shape.reduce(1, *) else {
            return try declare(entry, named: name, in: group)
        }
        func whole<T: FixedWidthInteger>(_ value: Double, _: T.Type) -> T { T(clamping: Int64(exactly: value.rounded()) ?? 0) }
        switch entry.type {
        case .float: try group.writeDataset(name, values.map(Float.init), shape: entry.shape)
        case .double: try group.writeDataset(name, values, shape: entry.shape)
        case .int32: try group.writeDataset(name, values.map { whole($0, Int32.self) }, shape: entry.shape)
        case .int64: try group.writeDataset(name, values.map { whole($0, Int64.self) }, shape: entry.shape)
        case .uint8: try group.writeDataset(name, values.map { whole($0, UInt8.self) }, shape: entry.shape)
        }
    }

    private func declare(_ entry: Entry, named name: String, in group: H5Group) throws {
        let chunk = entry.shape.map { min(max($0, 1), 64) }
        switch entry.type {
        case .float: _ = try group.createDataset(name, of: Float.self, shape: entry.shape, chunk: chunk)
        case .double: _ = try group.createDataset(name, of: Double.self, shape: entry.shape, chunk: chunk)
        case .int32: _ = try group.createDataset(name, of: Int32.self, shape: entry.shape, chunk: chunk)
        case .int64: _ = try group.createDataset(name, of: Int64.self, shape: entry.shape, chunk: chunk)
        case .uint8: _ = try group.createDataset(name, of: UInt8.self, shape: entry.shape, chunk: chunk)
        }
    }
}
