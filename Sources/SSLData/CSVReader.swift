import Foundation

/// Which column holds the integer class label.
public enum LabelColumn: String, Codable, CaseIterable, Sendable { case first, last }

/// Numeric CSV (optionally gzip-compressed): one example per line, one integer label column
/// (first or last; −1 for an example without a label), numeric features. A header line is allowed if it is not numeric.
/// Features are returned unscaled; scaling belongs to the split (see `DataSplits`).
public enum CSVReader {
    public static func read(_ path: String, labelColumn: LabelColumn) throws -> Dataset {
        let bytes = try readFileBytes(path)
        if bytes.isEmpty { throw DataError(path, "empty file, expected CSV rows of numbers") }
        guard let text = String(bytes: bytes, encoding: .utf8) else { throw DataError(path, "is not UTF-8 text, expected CSV") }
        var features: [Float] = []
        var labels: [Int32] = []
        var width = -1
        var lineNo = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let values = cells.map { Double($0) }
            if values.contains(where: { $0 == nil }) {
                if labels.isEmpty && width < 0 && lineNo == 1 { continue }  // header
                let bad = cells[values.firstIndex { $0 == nil }!]
                throw DataError(path, "line \(lineNo): '\(bad)' is not a number")
            }
            if width < 0 { width = cells.count }
            guard cells.count == width else {
                throw DataError(path, "line \(lineNo): \(cells.count) columns, expected \(width) like the first row")
            }
            guard width >= 2 else { throw DataError(path, "line \(lineNo): needs a label and at least one feature") }
            let li = labelColumn == .first ? 0 : width - 1
            let lv = values[li]!
            guard lv >= -1, lv == lv.rounded(), lv < 100_000 else {
                throw DataError(path, "line \(lineNo): label '\(cells[li])' in the \(labelColumn) column is not a class number (0, 1, …) or −1 (no label)")
            }
            labels.append(Int32(lv))
            for (j, v) in values.enumerated() where j != li {
                guard v!.isFinite else { throw DataError(path, "line \(lineNo): non-finite value '\(cells[j])'") }
                features.append(Float(v!))
            }
        }
        if labels.isEmpty { throw DataError(path, "no data rows, expected CSV rows of numbers") }
        let d = width - 1
        let k = Int(labels.max()!) + 1  // 0 when no example has a label (M1 still trains)
        return Dataset(features: features, labels: labels, dim: d, classes: k, shape: [d])
    }
}
