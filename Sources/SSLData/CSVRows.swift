import CKernels
import CZlib
import Foundation

/// The rows of a CSV file (`CSVReader`'s format), read on demand (`FileRows`). Opening reads the file through once,
/// line by line, and keeps each data line's place, line number and label cell, never its features; `read` parses the
/// features of the lines asked for: a plain file's by `pread` of those lines' bytes, a gzip file's by reading it
/// through again and keeping those lines only. Line ends are LF, CRLF, CR, VT or FF (as a spreadsheet or Swift's
/// `isNewline` sees ASCII), so line numbers in errors are an editor's.
public final class CSVRows: FileRows {
    public let path: String
    public let rowLength: Int
    public var rowCount: Int { index.lineStart.count }
    public private(set) var bytesRead: Int
    public var fileBytes: Int { index.fileBytes }
    public var delimiter: Character { Character(UnicodeScalar(index.delimiter)) }
    /// The label column's index among a line's cells.
    public var labelIndex: Int { index.labelIndex }
    /// The header line's cells, when the first line is one.
    public var header: [String]? { index.header }
    /// Every data line's label cell, in file order.
    public var labelCells: [String] { index.labelCells }
    /// Each data line's line number, counted from 1.
    public var lineNumbers: [Int] { index.lineNumbers }
    public let index: Index
    var width: Int { index.width }

    /// What the opening pass learns of a file: its format, and each data line's place, line number and label cell.
    /// One rank can make it and send it to the others (`encoded`, `init(decoding:path:)`), so they read only the lines
    /// they keep.
    public struct Index: Equatable {
        public internal(set) var delimiter: UInt8, labelIndex: Int, header: [String]?, width: Int
        public internal(set) var compressed: Bool, fileBytes: Int
        public internal(set) var labelCells: [String], lineNumbers: [Int]
        /// Each data line's first byte and length in the (decompressed) text.
        var lineStart: [Int], lineLength: [Int32]
    }

    /// The rows of `path`, read through once for its index.
    public convenience init(_ path: String, labelColumn: LabelColumn) throws {
        let (index, read) = try Self.index(path, labelColumn: labelColumn)
        try self.init(path, index: index, bytesRead: read)
    }

    /// The rows of `path` by an index made before (by this process, or another that read the same file: a copy at
    /// another path on another node is fine). The file must be there and of the indexed size.
    public init(_ path: String, index: Index, bytesRead: Int = 0) throws {
        let size = try requireFile(path)
        guard size == index.fileBytes else {
            throw DataError(path, "\(size) bytes, but the file rank 0 indexed has \(index.fileBytes): every rank needs the same file")
        }
        self.path = path; self.index = index; self.bytesRead = bytesRead
        rowLength = index.width - 1
    }

    /// The opening pass: the file's index, and the bytes it read from disk.
    public static func index(_ path: String, labelColumn: LabelColumn) throws -> (Index, bytesRead: Int) {
        let fileBytes = try requireFile(path)
        var magic: [UInt8] = []
        if let h = FileHandle(forReadingAtPath: path) { magic = [UInt8](h.readData(ofLength: 2)); try? h.close() }
        var first: (cells: [String], line: Int)? = nil
        var found: (delimiter: Character, label: Int, header: [String]?)? = nil
        var starts: [Int] = [], lengths: [Int32] = [], labels: [String] = [], numbers: [Int] = []
        var ranges: [Range<Int>] = []
        let read = try Self.forEachLine(path) { bytes, offset, lineNo in
            let label: String
            if let found, Self.plainCells(bytes, found.delimiter.asciiValue!, &ranges) {
                // Plain ASCII without quotes, the common case: cells found in the bytes, only the label's made text.
                if ranges.count == 1 && ranges[0].isEmpty { return }  // blank
                try Self.checkWidth(ranges.count, like: first!, line: lineNo, delimiter: found.delimiter, path: path)
                label = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[ranges[found.label]]), as: UTF8.self)
            } else {
                let line = try Self.text(bytes, path: path, line: lineNo)
                if line.trimmingCharacters(in: .whitespaces).isEmpty { return }
                if let found {
                    let row = CSVReader.cells(line[...], found.delimiter)
                    try Self.checkWidth(row.count, like: first!, line: lineNo, delimiter: found.delimiter, path: path)
                    label = row[found.label]
                } else {
                    // The first line: the separator, the label column, and whether it is a header.
                    let d = CSVReader.detectDelimiter(line[...])
                    let cells = CSVReader.cells(line[...], d)
                    let li = try CSVReader.labelIndex(labelColumn, header: cells, path: path)
                    let header = cells.enumerated().contains { $0.offset != li && Double($0.element) == nil } ? cells : nil
                    found = (d, li, header); first = (cells, lineNo)
                    if header != nil { return }
                    label = cells[li]
                }
            }
            starts.append(offset); lengths.append(Int32(bytes.count)); labels.append(label); numbers.append(lineNo)
        }
        guard let found, let first else {
            throw DataError(path, fileBytes == 0 ? "empty file, expected CSV rows of numbers" : "no data rows, expected CSV rows of numbers")
        }
        if starts.isEmpty { throw DataError(path, "no data rows after the header, expected CSV rows of numbers") }
        guard first.cells.count >= 2 else { throw DataError(path, "line \(numbers[0]): needs a label and at least one feature") }
        let index = Index(delimiter: found.delimiter.asciiValue!, labelIndex: found.label, header: found.header, width: first.cells.count,
                          compressed: magic == [0x1F, 0x8B], fileBytes: fileBytes, labelCells: labels, lineNumbers: numbers,
                          lineStart: starts, lineLength: lengths)
        return (index, read)
    }

    /// Every line has as many cells as the first.
    static func checkWidth(_ count: Int, like first: (cells: [String], line: Int), line: Int, delimiter: Character, path: String) throws {
        guard count != first.cells.count else { return }
        throw DataError(path, "line \(line): \(count) cells, expected \(first.cells.count) like line \(first.line)"
                        + " (separator '\(delimiter == "\t" ? "\\t" : String(delimiter))')")
    }

    /// The name of cell column `j` in errors: its number from 1, and its header name when there is one.
    func columnName(_ j: Int) -> String { "column \(j + 1)" + (header.map { " ('\($0[j])')" } ?? "") }

    public func read(_ positions: [Int]) throws -> [Float] {
        var out = [Float](repeating: 0, count: positions.count * rowLength)
        try out.withUnsafeMutableBufferPointer { o in
            if index.compressed {
                try readThrough(positions, into: o.baseAddress!)
            } else {
                try readByLines(positions, into: o.baseAddress!)
            }
        }
        return out
    }

    /// A plain file: runs of consecutive data lines read at once (at most 8 MB), by `pread`.
    private func readByLines(_ positions: [Int], into out: UnsafeMutablePointer<Float>) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DataError(path, "cannot open for reading (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var scratch = [UInt8]()
        var k = 0
        while k < positions.count {
            let first = positions[k]
            precondition(first >= 0 && first < rowCount, "CSVRows: row \(first) of \(rowCount)")
            var run = 1
            while k + run < positions.count, positions[k + run] == first + run,
                  end(of: first + run) - index.lineStart[first] <= 8 << 20 { run += 1 }
            let base = index.lineStart[first], span = end(of: first + run - 1) - base
            if scratch.count < span { scratch = [UInt8](repeating: 0, count: span) }
            let got = scratch.withUnsafeMutableBytes { pread(fd, $0.baseAddress, span, off_t(base)) }
            guard got == span else {
                throw DataError(path, "read failed at line \(lineNumbers[first]): \(got < 0 ? String(cString: strerror(errno)) : "the file shrank while reading")")
            }
            bytesRead += got
            try scratch.withUnsafeBytes { b in
                for r in 0..<run {
                    let row = first + r, from = index.lineStart[row] - base
                    try parse(UnsafeRawBufferPointer(rebasing: b[from..<(from + Int(index.lineLength[row]))]), row: row,
                              into: out + (k + r) * rowLength)
                }
            }
            k += run
        }
    }

    /// A gzip file: read through once, keeping the lines asked for.
    private func readThrough(_ positions: [Int], into out: UnsafeMutablePointer<Float>) throws {
        var wanted = [Int: (row: Int, slots: [Int])]()  // line number → its data row, and where its features go in `out`
        for (k, p) in positions.enumerated() {
            precondition(p >= 0 && p < rowCount, "CSVRows: row \(p) of \(rowCount)")
            wanted[lineNumbers[p], default: (p, [])].slots.append(k)
        }
        bytesRead += try Self.forEachLine(path) { bytes, _, lineNo in
            guard let (row, targets) = wanted[lineNo] else { return }
            try parse(bytes, row: row, into: out + targets[0] * rowLength)
            for t in targets.dropFirst() { (out + t * rowLength).update(from: out + targets[0] * rowLength, count: rowLength) }
        }
    }

    /// One past data line `row`'s last byte.
    private func end(of row: Int) -> Int { index.lineStart[row] + Int(index.lineLength[row]) }

    /// The features of data line `row` (its bytes), every cell but the label's a finite number. A plain ASCII line
    /// without quotes is parsed in its bytes (`ssl_parse_double`, as `Double(String)` parses), any other as text.
    private func parse(_ bytes: UnsafeRawBufferPointer, row: Int, into out: UnsafeMutablePointer<Float>) throws {
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(width)
        if Self.plainCells(bytes, index.delimiter, &ranges) && ranges.count == width {
            var f = 0, v = 0.0
            for (j, r) in ranges.enumerated() where j != labelIndex {
                let got = ssl_parse_double(bytes.baseAddress!.assumingMemoryBound(to: CChar.self) + r.lowerBound, r.count, &v)
                if got != 1 {
                    // Not a number, or one too long for the fast path: the text path parses it or names the cell.
                    guard got < 0, let parsed = Double(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self)) else { break }
                    v = parsed
                }
                guard Float(v).isFinite else { break }
                out[f] = Float(v); f += 1
            }
            if f == rowLength { return }
        }
        try parseText(bytes, row: row, into: out)
    }

    /// `parse` through `CSVReader.cells`: quoted cells, non-ASCII text, and every error message.
    private func parseText(_ bytes: UnsafeRawBufferPointer, row: Int, into out: UnsafeMutablePointer<Float>) throws {
        let lineNo = lineNumbers[row]
        let cells = CSVReader.cells(try Self.text(bytes, path: path, line: lineNo)[...], delimiter)
        guard cells.count == width else { throw DataError(path, "line \(lineNo) changed while reading: \(cells.count) cells, expected \(width)") }
        var f = 0
        for (j, cell) in cells.enumerated() where j != labelIndex {
            guard let v = Double(cell) else {
                throw DataError(path, "line \(lineNo), \(columnName(j)): '\(cell)' is not a number; every column but the "
                                + "label (\(columnName(labelIndex)); choose another with --label-column NAME or NUMBER) holds numeric features")
            }
            guard v.isFinite else { throw DataError(path, "line \(lineNo), \(columnName(j)): non-finite value '\(cell)'") }
            guard Float(v).isFinite else {
                throw DataError(path, "line \(lineNo), \(columnName(j)): '\(cell)' is beyond the range of 32-bit floats (±3.4e38)")
            }
            out[f] = Float(v); f += 1
        }
    }

    /// A line's cells as byte ranges, trimmed of spaces and tabs as `CSVReader.cells` trims them, when the line is
    /// plain ASCII without quotes; false for any other (then `CSVReader.cells` parses its text).
    static func plainCells(_ b: UnsafeRawBufferPointer, _ delimiter: UInt8, _ out: inout [Range<Int>]) -> Bool {
        out.removeAll(keepingCapacity: true)
        var start = 0
        for i in 0...b.count {
            if i < b.count {
                let c = b[i]
                if c >= 0x80 || c == 0x22 { return false }
                if c != delimiter { continue }
            }
            var lo = start, hi = i
            while lo < hi && (b[lo] == 0x20 || b[lo] == 0x09) { lo += 1 }
            while hi > lo && (b[hi - 1] == 0x20 || b[hi - 1] == 0x09) { hi -= 1 }
            out.append(lo..<hi)
            start = i + 1
        }
        return true
    }

    /// A line's bytes as text; a byte-order mark at the file's start (Excel's "CSV UTF-8") is dropped by `forEachLine`.
    static func text(_ bytes: UnsafeRawBufferPointer, path: String, line: Int) throws -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw DataError(path, "line \(line) is not UTF-8 text, expected CSV (save the file as CSV UTF-8)")
        }
        return s
    }

    /// Reads the file (gzip or plain, through zlib) in 4 MB pieces and calls `body` with each line's bytes without
    /// its end, its first byte's offset in the text and its number from 1. Returns the bytes read from disk.
    static func forEachLine(_ path: String, _ body: (UnsafeRawBufferPointer, Int, Int) throws -> Void) throws -> Int {
        guard let f = gzopen(path, "rb") else { throw DataError(path, "cannot open for reading (\(String(cString: strerror(errno))))") }
        defer { gzclose(f) }
        gzbuffer(f, 1 << 20)
        var chunk = [UInt8](repeating: 0, count: 4 << 20)
        var carry = [UInt8]()        // the start of a line that runs on into the next piece
        var lineOffset = 0, chunkOffset = 0, lineNo = 1
        var afterCR = false          // the last piece ended in CR: an LF first in this one ends no line
        func emit(_ b: UnsafeRawBufferPointer) throws {
            // Excel's "CSV UTF-8" begins with a byte-order mark.
            if lineOffset == 0, b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF {
                try body(UnsafeRawBufferPointer(rebasing: b[3...]), 3, lineNo)
            } else {
                try body(b, lineOffset, lineNo)
            }
        }
        while true {
            let n = Int(chunk.withUnsafeMutableBytes { gzread(f, $0.baseAddress, UInt32($0.count)) })
            if n < 0 {
                var err: Int32 = 0
                throw DataError(path, "read failed: \(String(cString: gzerror(f, &err))) (a truncated or corrupt gzip file?)")
            }
            if n == 0 { break }
            try chunk.withUnsafeBytes { c in
                var i = afterCR && c[0] == 0x0A ? 1 : 0
                var start = i
                if i == 1 { lineOffset += 1 }
                afterCR = false
                while i < n {
                    let b = c[i]
                    if b >= 0x0A && b <= 0x0D {
                        let piece = UnsafeRawBufferPointer(rebasing: c[start..<i])
                        if carry.isEmpty { try emit(piece) } else {
                            carry.append(contentsOf: piece)
                            try carry.withUnsafeBytes { try emit($0) }
                            carry.removeAll(keepingCapacity: true)
                        }
                        lineNo += 1
                        if b == 0x0D {
                            if i + 1 < n { if c[i + 1] == 0x0A { i += 1 } } else { afterCR = true }
                        }
                        start = i + 1
                        lineOffset = chunkOffset + start
                    }
                    i += 1
                }
                carry.append(contentsOf: c[start..<n])
            }
            chunkOffset += n
        }
        if !carry.isEmpty { try carry.withUnsafeBytes { try emit($0) } }
        return Int(gzoffset(f))
    }
}

extension CSVRows.Index {
    /// The index as bytes for another process: its fields, the line arrays as raw integers, the label cells as
    /// lengths and UTF-8 bytes.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ values: [T]) {
            put(Int64(values.count))
            values.map(\.littleEndian).withUnsafeBytes { out.append(contentsOf: $0) }
        }
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func put(_ strings: [String]) {
            put(strings.map { Int64($0.utf8.count) })
            for s in strings { out.append(contentsOf: s.utf8) }
        }
        put([Int64(delimiter), Int64(labelIndex), Int64(width), compressed ? 1 : 0, Int64(fileBytes), header == nil ? 0 : 1])
        put(header ?? [])
        put(labelCells)
        put(lineNumbers.map(Int64.init))
        put(lineStart.map(Int64.init))
        put(lineLength)
        return out
    }

    /// An index from `encoded()`'s bytes (of the file at `path`, named in the error when they are cut short).
    public init(decoding bytes: [UInt8], path: String) throws {
        var at = 0
        func take<T: FixedWidthInteger>(_: T.Type, _ n: Int) throws -> [T] {
            // n is compared by division, so a corrupt count cannot overflow the product.
            guard n >= 0, n <= (bytes.count - at) / MemoryLayout<T>.size else {
                throw DataError(path, "its index from rank 0 is cut short at byte \(at)")
            }
            let size = n * MemoryLayout<T>.size
            defer { at += size }
            return bytes.withUnsafeBytes { b in (0..<n).map { T(littleEndian: b.loadUnaligned(fromByteOffset: at + $0 * MemoryLayout<T>.size, as: T.self)) } }
        }
        func array<T: FixedWidthInteger>(_ t: T.Type) throws -> [T] { try take(t, Int(try take(Int64.self, 1)[0])) }
        func strings() throws -> [String] {
            try array(Int64.self).map { n in String(decoding: try take(UInt8.self, Int(n)), as: UTF8.self) }
        }
        let f = try array(Int64.self)
        guard f.count == 6, (0...255).contains(f[0]) else {
            throw DataError(path, "its index from rank 0 has \(f.count) fields (expected 6) or no one-byte delimiter")
        }
        let header = try strings()
        self.init(delimiter: UInt8(f[0]), labelIndex: Int(f[1]), header: f[5] == 1 ? header : nil, width: Int(f[2]),
                  compressed: f[3] == 1, fileBytes: Int(f[4]), labelCells: try strings(), lineNumbers: try array(Int64.self).map(Int.init),
                  lineStart: try array(Int64.self).map(Int.init), lineLength: try array(Int32.self))
    }
}
