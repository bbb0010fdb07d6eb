import Foundation
import SSLData
import TestSupport
import XCTest

/// IDX and CSV readers on good and bad files written by the test (raw and gzip).
final class ReaderTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory("ssl-dist-readers")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ name: String, _ bytes: [UInt8], gzip: Bool = false) throws -> String {
        let path = "\(dir!)/\(name)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        if gzip {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/gzip")
            p.arguments = ["-f", path]
            try p.run(); p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            return path + ".gz"
        }
        return path
    }

    func assertDataError(_ expr: @autoclosure () throws -> Any, file path: String, contains: String,
                         _ f: StaticString = #filePath, _ l: UInt = #line) {
        XCTAssertThrowsError(try expr(), file: f, line: l) { e in
            guard let de = e as? DataError else { return XCTFail("expected DataError, got \(e)", file: f, line: l) }
            XCTAssertEqual(de.file, path, file: f, line: l)
            XCTAssertTrue(de.description.contains(contains), "\(de) should mention '\(contains)'", file: f, line: l)
        }
    }

    func testIDXGoodRawAndGzip() throws {
        let pixels = (0..<(3 * 2 * 2)).map { UInt8($0 * 20) }
        for gz in [false, true] {
            let im = try write("im\(gz)", idxBytes(dims: [3, 2, 2], data: pixels), gzip: gz)
            let lb = try write("lb\(gz)", idxBytes(dims: [3], data: [2, 0, 1]), gzip: gz)
            let d = try IDXReader.readPair(images: im, labels: lb, classes: nil)
            XCTAssertEqual(d.count, 3); XCTAssertEqual(d.dim, 4); XCTAssertEqual(d.classes, 3)
            XCTAssertEqual(d.shape, [2, 2]); XCTAssertEqual(d.labels, [2, 0, 1])
            XCTAssertEqual(d.features[5], Float(100) / 255, accuracy: 1e-7)
        }
    }

    func testIDXWrongMagic() throws {
        let p = try write("bad", [1, 2, 8, 1, 0, 0, 0, 1, 7])
        assertDataError(try IDXReader.read(p), file: p, contains: "magic")
        let q = try write("badtype", idxBytes(type: 0x0D, dims: [1], data: [0, 0, 0, 0]))
        assertDataError(try IDXReader.read(q), file: q, contains: "element type")
    }

    func testIDXTruncatedAndTrailing() throws {
        let p = try write("trunc", Array(idxBytes(dims: [4, 2, 2], data: [UInt8](repeating: 1, count: 16)).dropLast(3)))
        assertDataError(try IDXReader.read(p), file: p, contains: "truncated")
        let g = try write("truncgz", Array(idxBytes(dims: [4, 2, 2], data: [UInt8](repeating: 1, count: 16)).dropLast(3)), gzip: true)
        assertDataError(try IDXReader.read(g), file: g, contains: "truncated")
        let h = try write("header", [0, 0, 8, 3, 0, 0])
        assertDataError(try IDXReader.read(h), file: h, contains: "header")
        let t = try write("trailing", idxBytes(dims: [2], data: [1, 2, 3]))
        assertDataError(try IDXReader.read(t), file: t, contains: "unexpected bytes")
    }

    func testIDXTruncatedGzipStream() throws {
        let full = try write("gzfull", idxBytes(dims: [1000], data: [UInt8](repeating: 3, count: 1000)), gzip: true)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: full))
        let cut = try write("gzcut.gz", Array(bytes.prefix(bytes.count / 2)))
        XCTAssertThrowsError(try IDXReader.read(cut)) { e in
            XCTAssertEqual((e as? DataError)?.file, cut, "\(e)")
        }
    }

    func testIDXEmptyAndMissing() throws {
        let p = try write("empty", [])
        assertDataError(try IDXReader.read(p), file: p, contains: "empty")
        let missing = "\(dir!)/nope"
        assertDataError(try IDXReader.read(missing), file: missing, contains: "no such file")
    }

    func testIDXLabelOutOfRangeAndMismatchedCounts() throws {
        let im = try write("im", idxBytes(dims: [3, 2, 2], data: [UInt8](repeating: 0, count: 12)))
        let lb = try write("lb", idxBytes(dims: [3], data: [1, 12, 0]))
        assertDataError(try IDXReader.readPair(images: im, labels: lb, classes: 10), file: lb, contains: "label 12 at index 1")
        let lb2 = try write("lb2", idxBytes(dims: [2], data: [1, 0]))
        assertDataError(try IDXReader.readPair(images: im, labels: lb2, classes: 10), file: lb2, contains: "2 labels but")
        let lbShape = try write("lb3", idxBytes(dims: [3, 1], data: [1, 0, 1]))
        assertDataError(try IDXReader.readPair(images: im, labels: lbShape, classes: 10), file: lbShape, contains: "expected labels N")
    }

    /// An IDX file's images are read by row on demand, as a `.npy` file's: a plain file only the rows asked for (after
    /// its header), a gzip one whole; the values are those of reading it whole, bit for bit; `DataSpec.open` leaves
    /// them in the file when asked to (`idx:` and the MNIST directory, whose test split it reads whole).
    func testIDXRowsAreReadOnDemandAndOnlyTheirBytes() throws {
        let n = 20, d = 6
        let pixels = (0..<(n * d)).map { UInt8(($0 * 37) % 256) }
        let labels = (0..<n).map { UInt8($0 % 3) }
        let im = try write("rows-im", idxBytes(dims: [n, 2, 3], data: pixels))
        let lb = try write("rows-lb", idxBytes(dims: [n], data: labels))
        let whole = try IDXReader.readPair(images: im, labels: lb, classes: nil)
        XCTAssertEqual(whole.features[7], Float(pixels[7]) * (1.0 / 255.0))
        let (opened, rows) = try IDXReader.openPair(images: im, labels: lb, classes: nil)
        XCTAssertTrue(opened.features.isEmpty); XCTAssertEqual(opened.labels, whole.labels); XCTAssertEqual(opened.shape, [2, 3])
        XCTAssertEqual(rows.bytesRead, 4 + 4 * 3, "only the header read on opening")
        let asked = [5, 6, 7, 1, 19]
        let got = try rows.read(asked)
        XCTAssertEqual(got.map(\.bitPattern), asked.flatMap { Array(whole.features[($0 * d)..<(($0 + 1) * d)]) }.map(\.bitPattern))
        XCTAssertEqual(rows.bytesRead - 16, asked.count * d, "the rows asked for, once each")
        let zipped = try IDXReader.openPair(images: try write("rows-im-gz", idxBytes(dims: [n, 2, 3], data: pixels), gzip: true),
                                            labels: lb, classes: nil).1
        XCTAssertEqual(try zipped.read(asked), got)
        XCTAssertEqual(zipped.bytesRead, zipped.fileBytes)

        let deferred = try DataSpec.idx(images: im, labels: lb).open(deferFeatures: true)
        XCTAssertNotNil(deferred.rows); XCTAssertTrue(deferred.train.features.isEmpty)
        XCTAssertEqual(try DataSpec.idx(images: im, labels: lb).open(deferFeatures: false).train.features, whole.features)
        let cut = try write("rows-cut", Array(idxBytes(dims: [n, 2, 3], data: pixels).dropLast(5)))
        assertDataError(try IDXReader.openPair(images: cut, labels: lb, classes: nil), file: cut, contains: "truncated")
    }

    func testMNISTDirectoryWithAndWithoutGzip() throws {
        let files = ["train-images-idx3-ubyte": idxBytes(dims: [4, 2, 2], data: [UInt8](repeating: 255, count: 16)),
                     "train-labels-idx1-ubyte": idxBytes(dims: [4], data: [0, 1, 2, 3]),
                     "t10k-images-idx3-ubyte": idxBytes(dims: [2, 2, 2], data: [UInt8](repeating: 0, count: 8)),
                     "t10k-labels-idx1-ubyte": idxBytes(dims: [2], data: [9, 8])]
        for (i, (name, bytes)) in files.sorted(by: { $0.key < $1.key }).enumerated() { _ = try write(name, bytes, gzip: i % 2 == 0) }
        let spec = try DataSpec(parsing: "mnist:\(dir!)")
        let (train, test) = try spec.load()
        XCTAssertEqual(train.count, 4); XCTAssertEqual(test?.labels, [9, 8]); XCTAssertEqual(train.features[0], 1)
        let splits = try DataSplits.make(spec, SplitOptions(validation: 1))
        XCTAssertEqual(splits.train.count, 3); XCTAssertEqual(splits.validation.labels, [3]); XCTAssertEqual(splits.test.count, 2)
        // Deferred (several ranks): the training images stay in their file, the test split is read.
        let opened = try spec.open(deferFeatures: true)
        XCTAssertNotNil(opened.rows); XCTAssertTrue(opened.train.features.isEmpty); XCTAssertEqual(opened.test?.features.count, 8)
        let emptyDir = "\(dir!)/none"
        try FileManager.default.createDirectory(atPath: emptyDir, withIntermediateDirectories: true)
        XCTAssertThrowsError(try DataSpec(parsing: "mnist:\(emptyDir)").load()) { e in
            XCTAssertTrue("\(e)".contains("train-images-idx3-ubyte: not found"), "\(e)")
        }
    }

    func testDataSpecParsing() throws {
        XCTAssertEqual(try DataSpec(parsing: "fashion-mnist"), .fashionMNIST(directory: DataSpec.fashionMNISTDirectory))
        XCTAssertEqual(try DataSpec(parsing: "idx:a,b"), .idx(images: "a", labels: "b"))
        XCTAssertEqual(try DataSpec(parsing: "csv:x.csv"), .csv(path: "x.csv"))
        for bad in ["cifar", "idx:a", "csv:", "mnist:"] {
            XCTAssertThrowsError(try DataSpec(parsing: bad)) { e in XCTAssertEqual((e as? DataError)?.file, "--data") }
        }
    }

    func testCSVGoodFirstAndLastLabelColumn() throws {
        let last = try write("l.csv", Array("a,b,label\n0,16,3\n8,4,1\n".utf8), gzip: true)
        let d = try CSVReader.read(last, labelColumn: .last)
        XCTAssertEqual(d.labels, [3, 1]); XCTAssertEqual(d.features, [0, 16, 8, 4]); XCTAssertEqual(d.classes, 4)
        let first = try write("f.csv", Array("2,0.5,1.5\n0,1,2\n\n".utf8))
        let e = try CSVReader.read(first, labelColumn: .first)
        XCTAssertEqual(e.labels, [2, 0]); XCTAssertEqual(e.features, [0.5, 1.5, 1, 2])
    }

    func testCSVBadFiles() throws {
        let empty = try write("e.csv", [])
        assertDataError(try CSVReader.read(empty, labelColumn: .last), file: empty, contains: "empty")
        let ragged = try write("r.csv", Array("1,2,3\n1,2\n".utf8))
        assertDataError(try CSVReader.read(ragged, labelColumn: .last), file: ragged, contains: "line 2: 2 cells, expected 3 like line 1")
        let text = try write("t.csv", Array("1,2,3\n1,x,2\n".utf8))
        assertDataError(try CSVReader.read(text, labelColumn: .last), file: text, contains: "line 2, column 2: 'x' is not a number")
        let label = try write("n.csv", Array("1,2,-2\n".utf8))
        assertDataError(try CSVReader.read(label, labelColumn: .last), file: label, contains: "label '-2' is neither a class number")
        let none = try write("none.csv", Array("1,2,-1\n3,4,-1\n".utf8))
        XCTAssertEqual(try CSVReader.read(none, labelColumn: .last).classes, 0, "all −1: data for M1")
        let frac = try write("q.csv", Array("1.5,2,3\n".utf8))
        assertDataError(try CSVReader.read(frac, labelColumn: .first), file: frac, contains: "label '1.5' is neither a class number")
        let headerOnly = try write("h.csv", Array("a,b,c\n".utf8))
        assertDataError(try CSVReader.read(headerOnly, labelColumn: .last), file: headerOnly, contains: "no data rows")
    }

    /// CSV as spreadsheets write it: CRLF line ends, a byte-order mark, `;` or tab separators, quoted cells, a header,
    /// the label column in the middle (by name or by number from 1), class names (sorted into 0…C−1), empty cells
    /// for examples without a label.
    func testCSVFromSpreadsheets() throws {
        let crlf = try write("crlf.csv", Array("a,b,label\r\n0,16,3\r\n8,4,1\r\n".utf8))
        let d = try CSVReader.read(crlf, labelColumn: .last)
        XCTAssertEqual(d.labels, [3, 1]); XCTAssertEqual(d.features, [0, 16, 8, 4])

        let sheet = try write("sheet.csv", Array("\u{FEFF}length;species;width\r\n1,5;x;2\r\n".utf8))
        // ';' separated with decimal commas is not ours to guess: the error names the line, the column and the cell.
        assertDataError(try CSVReader.read(sheet, labelColumn: .name("species")), file: sheet, contains: "line 2, column 1 ('length'): '1,5' is not a number")

        let names = try write("names.tsv", Array("length\tspecies\twidth\n1.5\tversicolor\t2\n3\t\"setosa\"\t4\n5\t\t6\n7\tversicolor\t8\n".utf8))
        for column in [LabelColumn.name("species"), .number(2)] {
            let n = try CSVReader.read(names, labelColumn: column)
            XCTAssertEqual(n.classNames, ["setosa", "versicolor"], "\(column)")
            XCTAssertEqual(n.labels, [1, 0, -1, 1], "names sorted into 0…C−1, an empty cell: no label")
            XCTAssertEqual(n.features, [1.5, 2, 3, 4, 5, 6, 7, 8])
            XCTAssertEqual(n.classes, 2)
        }
        let semicolons = try write("semi.csv", Array("f1;f2;class\n0.5;1;b\n2;3;a\n".utf8))
        let m = try CSVReader.read(semicolons, labelColumn: .last)
        XCTAssertEqual(m.labels, [1, 0]); XCTAssertEqual(m.classNames, ["a", "b"])

        XCTAssertEqual(LabelColumn(rawValue: "4"), .number(4)); XCTAssertEqual(LabelColumn(rawValue: "species"), .name("species"))
        XCTAssertEqual(LabelColumn(rawValue: "last"), .last); XCTAssertNil(LabelColumn(rawValue: "0"))
        assertDataError(try CSVReader.read(names, labelColumn: .name("kind")), file: "--label-column", contains: "its columns are 'length', 'species', 'width'")
        assertDataError(try CSVReader.read(names, labelColumn: .number(4)), file: "--label-column", contains: "has 3 columns; give 1 to 3")
    }

    /// `CSVRows` opens a CSV for its labels alone and parses the lines asked for, in the order asked: a plain file's by
    /// reading only those lines' bytes, a gzip file's by reading it through. A bad cell is an error naming its line
    /// when that line is read. Lines break at LF, CRLF and CR alike, also where a CRLF straddles the 4 MB pieces the
    /// file is read in; the line numbers in errors count a CRLF once.
    func testCSVRowsReadTheLinesAskedForOnly() throws {
        var text = "\u{FEFF}a,b,label\r\n"
        for i in 0..<20 { text += "\(i),\(i * 3 % 7).5,\(i % 3)\r\n" + (i == 9 ? "\r\n" : "") }
        text += "1,x,2\r\n"  // line 23: a bad cell
        let path = try write("rows.csv", Array(text.utf8))
        let rows = try CSVRows(path, labelColumn: .last)
        XCTAssertEqual(rows.rowCount, 21); XCTAssertEqual(rows.rowLength, 2); XCTAssertEqual(rows.bytesRead, rows.fileBytes)
        XCTAssertEqual(rows.lineNumbers.prefix(12), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14], "a CRLF is one line end, a blank line skipped")
        let asked = [5, 6, 7, 1, 19, 6]
        let before = rows.bytesRead
        let got = try rows.read(asked)
        XCTAssertEqual(got, asked.flatMap { [Float($0), Float($0 * 3 % 7) + 0.5] })
        let lineBytes = asked.prefix(5).map { "\($0),\($0 * 3 % 7).5,\($0 % 3)".utf8.count }.reduce(0, +)
        XCTAssertEqual(rows.bytesRead - before, lineBytes + 2 * 2 + "6,4.5,0".utf8.count,
                       "only the lines asked for (5…7 in one read, with the two line ends between them)")
        assertDataError(try rows.read([20]), file: path, contains: "line 23, column 2 ('b'): 'x' is not a number")
        // Another rank's rows from this one's index as bytes: the same index, the same values and errors, nothing read
        // until asked.
        let sent = try CSVRows.Index(decoding: rows.index.encoded(), path: path)
        XCTAssertEqual(sent, rows.index)
        let other = try CSVRows(path, index: sent)
        XCTAssertEqual(other.bytesRead, 0); XCTAssertEqual(other.header, ["a", "b", "label"]); XCTAssertEqual(other.delimiter, ",")
        XCTAssertEqual(try other.read(asked), got)
        assertDataError(try other.read([20]), file: path, contains: "line 23, column 2 ('b'): 'x' is not a number")
        assertDataError(try CSVRows.Index(decoding: Array(rows.index.encoded().dropLast(3)), path: path), file: path, contains: "cut short")
        // A count no sender wrote (the header's, after the six fields) is an error, not an overflow.
        var huge = rows.index.encoded()
        withUnsafeBytes(of: Int64.max.littleEndian) { huge.replaceSubrange(56..<64, with: $0) }
        assertDataError(try CSVRows.Index(decoding: huge, path: path), file: path, contains: "cut short at byte 64")
        // A rank whose file is missing, or not the file rank 0 indexed, says so.
        assertDataError(try CSVRows(path + ".gone", index: sent), file: path + ".gone", contains: "no such file")
        // A symbolic link to the file is the file: its size is the target's.
        let link = path + ".link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        XCTAssertEqual(try CSVRows(link, labelColumn: .last).fileBytes, text.utf8.count)
        XCTAssertEqual(try CSVRows(link, index: sent).read(asked), got)
        let shorter = try write("rows-shorter.csv", Array(text.utf8.dropLast(8)))
        assertDataError(try CSVRows(shorter, index: sent), file: shorter, contains: "the file rank 0 indexed has \(rows.fileBytes)")
        let zipped = try CSVRows(try write("rows-gz.csv", Array(text.utf8), gzip: true), labelColumn: .last)
        XCTAssertEqual(try zipped.read(asked), got)
        XCTAssertEqual(zipped.bytesRead, 2 * zipped.fileBytes, "a gzip file is read through on opening and on reading")
        // The labels are read on opening, the features when asked for: opening a file with a bad cell succeeds.
        let (labels, _) = try CSVReader.open(path, labelColumn: .last)
        XCTAssertEqual(labels.labels.prefix(4), [0, 1, 2, 0]); XCTAssertTrue(labels.features.isEmpty)
        assertDataError(try CSVReader.read(path, labelColumn: .last), file: path, contains: "line 23")

        // Across the 4 MB pieces: CR-only line ends, and a CRLF whose CR is the last byte of the first piece.
        let piece = 4 << 20
        var big = [UInt8](), expected = [Float](), lineNo = 1
        while big.count < piece - 100 {
            let line = "\(lineNo % 251),\(lineNo % 5)"
            big += Array(line.utf8) + (lineNo % 2 == 0 ? [0x0D] : [0x0D, 0x0A]); expected.append(Float(lineNo % 251)); lineNo += 1
        }
        let pad = piece - 1 - big.count - 2  // "7," then digits up to the CR at the piece's last byte
        big += Array("7,".utf8) + [UInt8](repeating: UInt8(ascii: "1"), count: pad) + [0x0D, 0x0A]
        expected.append(7); lineNo += 1
        XCTAssertEqual(big[piece - 1], 0x0D); XCTAssertEqual(big[piece], 0x0A)
        for i in 0..<5 { big += Array("\(i + 1),\(i)\n".utf8); expected.append(Float(i + 1)); lineNo += 1 }
        big += Array("oops,9".utf8)  // the last line, without a line end
        let bigPath = try write("big.csv", big)
        let b = try CSVRows(bigPath, labelColumn: .last)
        XCTAssertEqual(b.rowCount, expected.count + 1); XCTAssertEqual(b.lineNumbers.last, lineNo)
        XCTAssertEqual(try b.read(Array(0..<expected.count)), expected)
        assertDataError(try b.read([expected.count]), file: bigPath, contains: "line \(lineNo), column 1: 'oops' is not a number")
    }

    /// A plain line's cells are parsed from its bytes, a line with quotes or other than ASCII as text: both give the
    /// same values, bit for bit, for every way of writing a number that `Double(String)` reads.
    func testCSVNumbersParseAlikeInBytesAndAsText() throws {
        let numbers = ["0", "-0", "+3", "1.", ".5", "1e-7", "2.5E+3", "0x1p-3", "3.4028234e38", "1.17549435e-38", "1e-45",
                       "0.1", "123456789.123456789", "7e-320", " 42 ", "3.1415926535897932384626433832795028841971693993751058209749445923078164"]
        var text = ""
        for (i, n) in numbers.enumerated() {
            text += "\(n),\(i % 2)\n"            // plain: parsed in bytes
            text += "\"\(n.trimmingCharacters(in: .whitespaces))\",\(i % 2)\n"  // quoted: parsed as text
        }
        let path = try write("numbers.csv", Array(text.utf8))
        let d = try CSVReader.read(path, labelColumn: .last)
        for (i, n) in numbers.enumerated() {
            let expected = Float(Double(n.trimmingCharacters(in: .whitespaces))!)
            XCTAssertEqual(d.features[2 * i].bitPattern, expected.bitPattern, n)
            XCTAssertEqual(d.features[2 * i + 1].bitPattern, expected.bitPattern, "quoted \(n)")
        }
        for bad in ["1,5", "1e", "--1", "0x", "1 2", "nan", "inf", "1e39"] {
            let p = try write("bad.csv", Array("1,0\n\(bad.contains(",") ? "\"\(bad)\"" : bad),1\n".utf8))
            assertDataError(try CSVReader.read(p, labelColumn: .last), file: p,
                            contains: bad == "1e39" ? "beyond the range of 32-bit floats" : ["nan", "inf"].contains(bad) ? "non-finite" : "is not a number")
        }
    }

    /// Labels checked against what the user meant: a class without examples (a stray label, or labels from 1) is an error.
    func testStrayAndOneBasedLabelsAreRefused() throws {
        func data(_ labels: [Int32]) -> Dataset {
            Dataset(features: [Float](repeating: 0, count: labels.count), labels: labels, dim: 1, classes: Int(labels.max()!) + 1, shape: [1])
        }
        XCTAssertNoThrow(try data([0, 1, 2, -1, 1]).checkClassesPresent(source: "ok"))
        assertDataError(try data([0, 1, 2, 1000, 1]).checkClassesPresent(source: "y.npy"), file: "y.npy",
                        contains: "largest label, 1000 (first at example 3 of the file")
        assertDataError(try data([1, 2, 3, 1]).checkClassesPresent(source: "y.npy"), file: "y.npy", contains: "look numbered from 1")
        var named = data([0, 2]); named.classNames = ["a", "b", "c"]
        assertDataError(try named.checkClassesPresent(source: "n.csv"), file: "n.csv", contains: "class 'b' has no example")
    }
}
