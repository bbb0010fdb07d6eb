import Foundation
import SSLData
import TestSupport
import XCTest

/// Damaged and hostile files: a few hundred mutated headers and truncations of NPY, IDX and CSV files, each must end
/// in a clean `DataError` or a correct read, never a trap (an overflow trap would end this test process with a signal,
/// which the runner reports as a failure). Checkpoints have their own (`CheckpointFuzzTests`).
final class HeaderFuzzTests: XCTestCase {
    /// Runs `read` on every mutation; counts the clean errors and the reads.
    func fuzz(_ original: [UInt8], headerBytes: Int, seed: UInt64, count: Int, _ read: ([UInt8]) throws -> Void) -> (errors: Int, reads: Int) {
        var draws = Draws(seed: seed), errors = 0, reads = 0
        for i in 0..<count {
            var b = original
            switch i % 4 {
            case 0: b[draws.below(headerBytes)] = UInt8(truncatingIfNeeded: draws.next())           // one byte of the header
            case 1: b = Array(b.prefix(draws.below(b.count)))                                        // a truncation
            case 2: for _ in 0..<4 { b[draws.below(headerBytes)] = 0xFF }                           // large dimensions
            default: b[draws.below(headerBytes)] ^= UInt8(1 << draws.below(8))                       // a bit flip
            }
            do { try read(b); reads += 1 } catch is DataError { errors += 1 } catch {
                XCTFail("mutation \(i): not a DataError: \(error)")
            }
        }
        return (errors, reads)
    }

    func testMutatedNPYHeaders() throws {
        let dir = try makeTemporaryDirectory("ssl-fuzz-npy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try NPYWriter.write("\(dir)/x.npy", float32: (0..<24).map(Float.init), shape: [6, 4])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/x.npy")))
        let r = fuzz(bytes, headerBytes: 128, seed: 1, count: 300) { _ = try NPYReader.parse($0, name: "x.npy") }
        XCTAssertGreaterThan(r.errors, 200, "most mutations are errors: \(r)")
        // The shapes of the issue: a first dimension of 2⁶² and one of 2⁶³ − 1.
        for shape in ["(4611686018427387904, 4)", "(9223372036854775807, 9223372036854775807)", "(0, 9223372036854775807, 4)"] {
            var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
            while (10 + header.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            let b: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 255), UInt8(header.count >> 8)] + Array(header.utf8) + [0, 0, 0, 0]
            XCTAssertThrowsError(try NPYReader.parse(b, name: "big.npy"), shape) { e in
                XCTAssertTrue("\(e)".contains("big.npy"), "\(e)")
            }
        }
    }

    func testMutatedIDXHeaders() throws {
        let data: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3] + (0..<18).map { UInt8($0) }
        let r = fuzz(data, headerBytes: 16, seed: 2, count: 300) { _ = try IDXReader.parse($0, name: "x.idx") }
        XCTAssertGreaterThan(r.errors, 200, "most mutations are errors: \(r)")
        let big: [UInt8] = [0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2]
        XCTAssertThrowsError(try IDXReader.parse(big, name: "big.idx")) { e in XCTAssertTrue("\(e)".contains("big.idx"), "\(e)") }
    }

    func testMutatedAndTruncatedCSV() throws {
        let dir = try makeTemporaryDirectory("ssl-fuzz-csv")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = Array("a;b;label\r\n1.5;2;x\r\n3;4;y\r\n5;6;\r\n7;8;x\r\n".utf8)
        var n = 0
        let r = fuzz(text, headerBytes: text.count, seed: 3, count: 300) { b in
            n += 1
            let path = "\(dir)/f\(n).csv"
            try Data(b).write(to: URL(fileURLWithPath: path))
            for column in [LabelColumn.last, .first, .number(2), .name("label")] { _ = try CSVReader.read(path, labelColumn: column) }
        }
        XCTAssertEqual(r.errors + r.reads, 300)
    }
}
