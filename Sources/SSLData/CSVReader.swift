import Foundation

/// Which CSV column holds the class label: `first`, `last`, a column number counted from 1 as spreadsheets do, or a
/// header name. Written and read as that text (configs and checkpoints hold "first" or "last" from before).
public enum LabelColumn: Hashable, Sendable, Codable, RawRepresentable, CustomStringConvertible {
    case first, last
    case number(Int)
    case name(String)

    public init?(rawValue s: String) {
        let t = s.trimmingCharacters(in: .whitespaces)
        switch t {
        case "": return nil
        case "first": self = .first
        case "last": self = .last
        default:
            if let n = Int(t) { guard n >= 1 else { return nil }; self = .number(n) } else { self = .name(t) }
        }
    }
    public var rawValue: String {
        switch self {
        case .first: return "first"
        case .last: return "last"
        case .number(let n): return String(n)
        case .name(let s): return s
        }
    }
    public var description: String { rawValue }
}

/// CSV as spreadsheets write it (optionally gzip-compressed): one example per line, LF or CRLF line ends, cells
/// separated by `,`, `;` or tabs (whichever the first line uses most), optionally quoted, an optional header line.
/// One label column (`LabelColumn`, default last) holds integer classes 0…C−1, or class names (any non-numeric
/// text: the names, sorted, become classes 0…C−1 and are kept in `Dataset.classNames`); an empty cell or −1 marks an
/// example without a label. Every other column is a numeric feature. Features are returned unscaled; scaling belongs
/// to the split (see `DataSplits`).
public enum CSVReader {
    public static func read(_ path: String, labelColumn: LabelColumn) throws -> Dataset {
        let (d, rows) = try open(path, labelColumn: labelColumn)
        return try d.readingEveryRow(from: rows)
    }

    /// The labels of a CSV file, with its features still in it (`CSVRows`): a dataset of no features yet, for a rank
    /// that reads only the rows it trains on.
    public static func open(_ path: String, labelColumn: LabelColumn) throws -> (Dataset, CSVRows) {
        try open(CSVRows(path, labelColumn: labelColumn))
    }

    /// The labels of a CSV file opened before (its index perhaps made by another rank).
    public static func open(_ rows: CSVRows) throws -> (Dataset, CSVRows) {
        let path = rows.path
        let (labels, names) = try classes(rows.labelCells, lines: rows.lineNumbers, column: rows.columnName(rows.labelIndex), path: path)
        let d = rows.rowLength
        let k = names?.count ?? (Int(labels.max()!) + 1)  // 0 when no example has a label (M1 still trains)
        var data = Dataset(withoutFeatures: labels, dim: d, classes: k, shape: [d])
        data.classNames = names
        return (data, rows)
    }

    /// `,`, `;` or tab: whichever `line` holds most of (`,` when it holds none).
    static func detectDelimiter(_ line: Substring) -> Character {
        let counts: [(Character, Int)] = [",", ";", "\t"].map { c in (c, line.filter { $0 == c }.count) }
        let best = counts.max { $0.1 < $1.1 }!
        return best.1 > 0 ? best.0 : ","
    }

    /// A line's cells, trimmed, with double quotes around a cell removed ("" inside quotes is one quote).
    static func cells(_ line: Substring, _ delimiter: Character) -> [String] {
        var out: [String] = [], cell = "", inQuotes = false, justClosed = false
        for c in line {
            if inQuotes {
                if c == "\"" { inQuotes = false; justClosed = true } else { cell.append(c) }
            } else if c == "\"" {
                if justClosed { cell.append("\""); inQuotes = true }  // "" inside a quoted cell
                else if cell.trimmingCharacters(in: .whitespaces).isEmpty { cell = ""; inQuotes = true }
                else { cell.append(c) }
                justClosed = false
            } else if c == delimiter {
                out.append(cell.trimmingCharacters(in: .whitespaces)); cell = ""; justClosed = false
            } else {
                cell.append(c); justClosed = false
            }
        }
        out.append(cell.trimmingCharacters(in: .whitespaces))
        return out
    }

    /// The label column's index in rows of `header.count` cells.
    static func labelIndex(_ column: LabelColumn, header: [String], path: String) throws -> Int {
        switch column {
        case .first: return 0
        case .last: return header.count - 1
        case .number(let n):
            guard n <= header.count else {
                throw DataError("--label-column", "\(n): \(path) has \(header.count) columns; give 1 to \(header.count), a header name, first or last")
            }
            return n - 1
        case .name(let s):
            if let j = header.firstIndex(of: s) { return j }
            throw DataError("--label-column", "'\(s)': \(path) has no such column in its first line; its columns are "
                            + header.map { "'\($0)'" }.joined(separator: ", "))
        }
    }

    /// The labels of the label cells: integers 0, 1, … as they are (−1 or empty: no label), or, when any cell is not
    /// such a number, the names sorted into 0…C−1 (empty or −1: no label).
    static func classes(_ cells: [String], lines: [Int], column: String, path: String) throws -> ([Int32], [String]?) {
        func unlabelled(_ c: String) -> Bool { c.isEmpty || c == "-1" }
        func number(_ c: String) -> Int32? {
            guard let v = Double(c), v >= 0, v == v.rounded(), v < 100_000 else { return nil }
            return Int32(v)
        }
        if cells.allSatisfy({ unlabelled($0) || number($0) != nil }) {
            return (cells.map { unlabelled($0) ? -1 : number($0)! }, nil)
        }
        // Class names. A cell that looks like a number among names is a name too ("3" sorts as text).
        if let i = cells.firstIndex(where: { Double($0) != nil && !unlabelled($0) && number($0) == nil }) {
            throw DataError(path, "line \(lines[i]), \(column): label '\(cells[i])' is neither a class number (0, 1, …), "
                            + "a class name, nor empty or −1 (no label)")
        }
        let names = Set(cells.filter { !unlabelled($0) }).sorted()
        let index = classIndex(names)
        return (cells.map { unlabelled($0) ? -1 : index[$0]! }, names)
    }
}
