import Foundation
import SSLData
import TestSupport
import XCTest

/// .npy files of each supported dtype and header version, and bad ones; bytes built here (no numpy needed).
final class NPYReaderTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory("ssl-npy")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// A .npy file: magic, version, header length, the dict padded with spaces to a 64-byte boundary, data.
    func npy(version: UInt8 = 1, descr: String, shape: [Int], fortran: Bool = false, data: [UInt8]) -> [UInt8] {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var dict = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': (\(dims)), }"
        let lenBytes = version == 1 ? 2 : 4
        while (8 + lenBytes + dict.utf8.count + 1) % 64 != 0 { dict += " " }
        dict += "\n"
        let h = dict.utf8.count
        let len: [UInt8] = (0..<lenBytes).map { UInt8(truncatingIfNeeded: h >> (8 * $0)) }
        return [0x93] + Array("NUMPY".utf8) + [version, 0] + len + Array(dict.utf8) + data
    }

    func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    func save(_ name: String, _ b: [UInt8]) throws -> String {
        let p = "\(dir!)/\(name)"; try Data(b).write(to: URL(fileURLWithPath: p)); return p
    }

    func testEveryDtypeAndVersion() throws {
        let f: [Float] = [0, 0.5, 1, 0.25, 0.75, 0.125]
        let cases: [(String, [UInt8])] = [("<f4", bytes(f)), ("<f8", bytes(f.map(Double.init))), ("|u1", f.map { UInt8($0 * 8) })]
        for version: UInt8 in [1, 2, 3] {
            for (descr, data) in cases {
                let x = try save("x\(version)\(descr.dropFirst()).npy", npy(version: version, descr: descr, shape: [3, 2], data: data))
                let y = try save("y\(version).npy", npy(version: version, descr: "<i8", shape: [3], data: bytes([Int64(2), 0, 1])))
                let d = try NPYReader.readPair(features: x, labels: y)
                XCTAssertEqual(d.count, 3); XCTAssertEqual(d.dim, 2); XCTAssertEqual(d.classes, 3)
                XCTAssertEqual(d.labels, [2, 0, 1])
                let scale: Float = descr == "|u1" ? 8 : 1
                XCTAssertEqual(d.features.map { $0 / scale }, f, "\(descr) v\(version)")
            }
        }
        // Through a dataset spec, with held-out splits and scaling by the training maximum.
        let x = try save("xs.npy", npy(descr: "<f4", shape: [40, 3], data: bytes((0..<120).map { Float($0 % 17) })))
        let y = try save("ys.npy", npy(descr: "<i4", shape: [40], data: bytes((0..<40).map { Int32($0 % 2) })))
        let s = try DataSplits.make(try DataSpec(parsing: "npy:\(x),\(y)"), SplitOptions(validationFraction: 0.1, testFraction: 0.2, seed: 1))
        XCTAssertEqual(s.train.count + s.validation.count + s.test.count, 40)
        XCTAssertEqual(s.train.maxFeature, 1)
    }

    func assertError(_ x: String, _ y: String, file: String, contains: String, line: UInt = #line) {
        XCTAssertThrowsError(try NPYReader.readPair(features: x, labels: y), line: line) { e in
            guard let d = e as? DataError else { return XCTFail("\(e)", line: line) }
            XCTAssertEqual(d.file, file, line: line)
            XCTAssertTrue(d.problem.contains(contains), "'\(d)' should mention '\(contains)'", line: line)
        }
    }

    /// Examples labelled −1 come only unlabelled: never held out, never labelled, always in training.
    func testUnlabelledOnlyExamples() throws {
        let n = 60
        let x = try save("xu.npy", npy(descr: "<f4", shape: [n, 2], data: bytes((0..<(2 * n)).map { Float($0 % 9) })))
        let labels = (0..<n).map { Int64($0 % 3 == 0 ? -1 : $0 % 2) }  // 20 without a label
        let y = try save("yu.npy", npy(descr: "<i8", shape: [n], data: bytes(labels)))
        let spec = try DataSpec(parsing: "npy:\(x),\(y)")
        let s = try DataSplits.make(spec, SplitOptions(validationFraction: 0.1, testFraction: 0.2, seed: 1))
        XCTAssertEqual(s.train.labels.filter { $0 < 0 }.count, 20, "every unlabelled-only example trains")
        XCTAssertFalse(s.test.labels.contains(-1)); XCTAssertFalse(s.validation.labels.contains(-1))
        XCTAssertEqual(s.train.count + s.validation.count + s.test.count, n)
        XCTAssertEqual(s.train.classes, 2)
        for sampling in [LabelSplit.Sampling.stratified, .proportional] {
            let split = try LabelSplit(labels: s.train.labels, classes: 2, perClass: nil, total: 10,
                                       includeLabelledInUnlabelled: true, seed: 3, sampling: sampling)
            XCTAssertEqual(split.labelled.count, 10)
            XCTAssertTrue(split.labelled.allSatisfy { s.train.labels[$0] >= 0 }, "\(sampling) picked an example without a label")
            XCTAssertEqual(split.unlabelled.count, s.train.count)
        }
        XCTAssertEqual(s.train.capped(perClass: 2, seed: 1).labels.filter { $0 < 0 }.count, 20, "the cap keeps them")
    }

    func testDamagedAndUnsupportedFilesNameTheFileAndTheProblem() throws {
        let y = try save("y.npy", npy(descr: "<i8", shape: [3], data: bytes([Int64(0), 1, 1])))
        let good = npy(descr: "<f4", shape: [3, 2], data: bytes([Float](repeating: 0.5, count: 6)))
        let fortran = try save("f.npy", npy(descr: "<f4", shape: [3, 2], fortran: true, data: bytes([Float](repeating: 0.5, count: 6))))
        assertError(fortran, y, file: fortran, contains: "Fortran order")
        let truncated = try save("t.npy", Array(good.dropLast(5)))
        assertError(truncated, y, file: truncated, contains: "truncated")
        var corrupt = good; corrupt[12] = UInt8(ascii: "X")  // the key 'descr' becomes 'Xescr'
        let c = try save("c.npy", corrupt)
        assertError(c, y, file: c, contains: "no 'descr'")
        var badValue = good; badValue[21] = UInt8(ascii: ",")  // '<f4' becomes '<f,'
        let v = try save("v.npy", badValue)
        assertError(v, y, file: v, contains: "not a dtype")
        let magic = try save("m.npy", [0x00] + Array(good.dropFirst()))
        assertError(magic, y, file: magic, contains: "bad magic")
        let empty = try save("e.npy", [])
        assertError(empty, y, file: empty, contains: "empty")
        let x4 = try save("x4.npy", npy(descr: "<f4", shape: [4, 2], data: bytes([Float](repeating: 0.5, count: 8))))
        assertError(x4, y, file: y, contains: "has 3 labels but")
        let yf = try save("yf.npy", npy(descr: "<f4", shape: [3], data: bytes([Float](repeating: 1, count: 3))))
        let x = try save("x.npy", good)
        assertError(x, yf, file: yf, contains: "labels must be integers")
        let yneg = try save("yn.npy", npy(descr: "<i8", shape: [3], data: bytes([Int64(0), -2, 1])))
        assertError(x, yneg, file: yneg, contains: "out of range")
        let yall = try save("ya.npy", npy(descr: "<i8", shape: [3], data: bytes([Int64(-1), -1, -1])))
        // No label at all is data for M1 (the trainer refuses it for the other models).
        let unlabelled = try NPYReader.readPair(features: x, labels: yall)
        XCTAssertEqual(unlabelled.classes, 0); XCTAssertEqual(unlabelled.labels, [-1, -1, -1])
        let big = try save("big.npy", npy(descr: ">f4", shape: [3, 2], data: bytes([Float](repeating: 0.5, count: 6))))
        assertError(big, y, file: big, contains: "big-endian")
    }

    /// `ArrayRows` reads the rows asked for, in the order asked, and only their bytes (runs of consecutive rows at once);
    /// a gzip file is read whole; a row with NaN is named; a dataset opened without features keeps its labels, splits
    /// into subsets that know which examples hold features, and reads its own rows later.
    func testRowsAreReadOnDemandAndOnlyTheirBytes() throws {
        let n = 50, d = 3
        let values = (0..<(n * d)).map { Float($0) / 7 }
        let x = "\(dir!)/rows.npy", y = "\(dir!)/labels.npy"
        try NPYWriter.write(x, float32: values, shape: [n, d])
        try NPYWriter.write(y, int64: (0..<n).map { Int64($0 % 4) })
        let rows = try ArrayRows(x)
        let header = rows.bytesRead
        XCTAssertEqual(header, rows.fileBytes - n * d * 4, "only the header read on opening")
        let asked = [7, 8, 9, 3, 40, 41, 0]
        XCTAssertEqual(try rows.read(asked), asked.flatMap { Array(values[($0 * d)..<(($0 + 1) * d)]) })
        XCTAssertEqual(rows.bytesRead - header, asked.count * d * 4, "the rows asked for, once each")

        // A cube's rows are its pixels: vectors along the last dimension.
        let cube = (0..<24).map(Float.init)
        try NPYWriter.write("\(dir!)/cube.npy", float32: cube, shape: [2, 3, 4])
        let pixels = try ArrayRows("\(dir!)/cube.npy", vectorsOfLastDimension: true)
        XCTAssertEqual(pixels.rowCount, 6); XCTAssertEqual(pixels.rowLength, 4)
        XCTAssertEqual(try pixels.read([5, 0]), Array(cube[20..<24]) + Array(cube[0..<4]))

        let gz = "\(dir!)/rows.npy.gz"
        let p = Process(); p.executableURL = URL(fileURLWithPath: "/bin/sh"); p.arguments = ["-c", "gzip -c \(x) > \(gz)"]
        try p.run(); p.waitUntilExit()
        let zipped = try ArrayRows(gz)
        XCTAssertEqual(try zipped.read(asked), try rows.read(asked))
        XCTAssertEqual(zipped.bytesRead, zipped.fileBytes)

        var bad = values; bad[13 * d + 1] = .nan
        try NPYWriter.write("\(dir!)/nan.npy", float32: bad, shape: [n, d])
        XCTAssertNoThrow(try ArrayRows("\(dir!)/nan.npy").read([12, 14]))
        XCTAssertThrowsError(try ArrayRows("\(dir!)/nan.npy").read([12, 13])) {
            XCTAssertTrue("\($0)".contains("nan.npy") && "\($0)".contains("NaN or infinite values (row 13"), "\($0)")
        }

        let (labels, source) = try NPYReader.openPair(features: x, labels: y)
        XCTAssertEqual(labels.count, n); XCTAssertEqual(labels.dim, d); XCTAssertTrue(labels.features.isEmpty)
        var train = labels.subset(Array(10..<30))
        train.keepOnly(Array(stride(from: 0, to: 20, by: 2)))
        XCTAssertEqual(train.labels, stride(from: 10, to: 30, by: 2).map { Int32($0 % 4) })
        let mine = try train.reading([1, 4], from: source)
        XCTAssertTrue(mine.hasFeatures(1) && !mine.hasFeatures(2))
        XCTAssertEqual(Array(mine.features[0..<d]), Array(values[(12 * d)..<(13 * d)]), "example 1 is row 12 of the file")
        let whole = try NPYReader.readPair(features: x, labels: y)
        XCTAssertEqual(mine.subset([4, 1]).features, whole.subset([18, 12]).features)
        // Statistics from sums over parts equal those over the whole.
        var sums = whole.featureSums(of: Array(0..<20))
        for (i, v) in whole.featureSums(of: Array(20..<n)).enumerated() { sums[i] += v }
        let parts = Standardization(sums: sums), all = whole.featureStatistics()
        for j in 0..<d {
            XCTAssertEqual(parts.mean[j], all.mean[j], accuracy: 1e-5); XCTAssertEqual(parts.std[j], all.std[j], accuracy: 1e-5)
        }
    }
}

/// `NPYWriter` output read back by `NPYReader` (and laid out as NumPy writes it: data 64-byte aligned).
final class NPYWriterTests: XCTestCase {
    func testWrittenArraysReadBackWithTheirShapesAndDataAligned() throws {
        let dir = try makeTemporaryDirectory("ssl-npy-write")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let values: [Float] = [0.5, -1.25, 3, 1e-7, 42, -0]
        try NPYWriter.write("\(dir)/x.npy", float32: values, shape: [2, 3])
        try NPYWriter.write("\(dir)/y.npy", int64: [3, -1])
        let x = try NPYReader.read("\(dir)/x.npy"), y = try NPYReader.read("\(dir)/y.npy")
        XCTAssertEqual(x.dtype, .float32); XCTAssertEqual(x.shape, [2, 3]); XCTAssertEqual(x.values, values)
        XCTAssertEqual(y.dtype, .int64); XCTAssertEqual(y.shape, [2]); XCTAssertEqual(y.values, [3, -1])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/x.npy"))
        XCTAssertEqual((bytes.count - 6 * 4) % 64, 0, "header padded to 64 bytes")
        XCTAssertEqual(try NPYReader.readPair(features: "\(dir)/x.npy", labels: "\(dir)/y.npy").count, 2)
        XCTAssertThrowsError(try NPYWriter.write("/nonexistent-dir/x.npy", int64: [1])) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent-dir/x.npy"), "\(e)")
        }
    }
}
