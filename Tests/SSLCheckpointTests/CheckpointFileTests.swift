import Foundation
import SSLCheckpoint
import TestSupport
import XCTest

/// The file format on its own: round trip and every kind of damage.
final class CheckpointFileTests: XCTestCase {
    var dir: String!
    var values: [Float] = []
    var counter: [Int64] = [0]

    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory("ssl-ckpt")
        // Values with full mantissas, so compression cannot hide a bit that was lost.
        var x: UInt32 = 12345
        values = (0..<50_000).map { _ in x = x &* 1_664_525 &+ 1_013_904_223; return Float(bitPattern: (x >> 9) | 0x3F80_0000) - 1.5 }
        counter = [987_654_321]
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func sections(_ v: inout [Float], _ c: inout [Int64]) -> [PayloadSection] {
        let a = v.withUnsafeMutableBytes { PayloadSection("values", $0.baseAddress!, bytes: $0.count) }
        let b = c.withUnsafeMutableBytes { PayloadSection("counter", $0.baseAddress!, bytes: $0.count) }
        return [a, b]
    }

    func writeGood(_ name: String = "good.ckpt") throws -> String {
        let path = "\(dir!)/\(name)"
        var v = values, c = counter
        try CheckpointWriter.write(path: path, header: ["kind": "test", "step": 7], sections: sections(&v, &c))
        return path
    }

    func assertUnreadable(_ path: String, contains: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let r = try CheckpointReader(path: path)
            var v = [Float](repeating: 0, count: values.count), c: [Int64] = [0]
            try r.readPayload(into: sections(&v, &c))
            XCTFail("\(path) was read without error", file: file, line: line)
        } catch let e as CheckpointError {
            XCTAssertEqual(e.path, path, file: file, line: line)
            XCTAssertTrue(e.problem.contains(contains), "'\(e)' should mention '\(contains)'", file: file, line: line)
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
        }
    }

    func mutate(_ path: String, to name: String, _ change: (inout [UInt8]) -> Void) throws -> String {
        var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        change(&b)
        let out = "\(dir!)/\(name)"
        try Data(b).write(to: URL(fileURLWithPath: out))
        return out
    }

    func testRoundTripIsBitExact() throws {
        let path = try writeGood()
        let r = try CheckpointReader(path: path)
        XCTAssertEqual(r.formatVersion, CheckpointFormat.version)
        XCTAssertEqual(r.payload.bytes, values.count * 4 + 8)
        let header = try JSONSerialization.jsonObject(with: r.header) as! [String: Any]
        XCTAssertEqual(header["step"] as? Int, 7)
        var v = [Float](repeating: 0, count: values.count), c: [Int64] = [0]
        try r.readPayload(into: sections(&v, &c))
        XCTAssertEqual(v.map(\.bitPattern), values.map(\.bitPattern))
        XCTAssertEqual(c, counter)
        // No temporary file is left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }, [])
    }

    func testDamagedFilesGiveClearErrors() throws {
        let good = try writeGood()
        let size = try Data(contentsOf: URL(fileURLWithPath: good)).count
        assertUnreadable(try mutate(good, to: "truncated") { $0.removeLast(size / 3) }, contains: "truncated")
        assertUnreadable(try mutate(good, to: "truncated-header") { $0.removeLast(size - 40) }, contains: "truncated")
        assertUnreadable(try mutate(good, to: "header-flip") { $0[30] ^= 0x04 }, contains: "header checksum mismatch")
        assertUnreadable(try mutate(good, to: "payload-flip") { $0[size - 5000] ^= 0x10 }, contains: "corrupt")
        assertUnreadable(try mutate(good, to: "magic") { $0[0] = UInt8(ascii: "X") }, contains: "not an ssl-dist checkpoint")
        assertUnreadable(try mutate(good, to: "version") { $0[8] = 3 }, contains: "format version 3 is newer")
        assertUnreadable(try mutate(good, to: "trailing") { $0 += [1, 2, 3] }, contains: "unexpected bytes")
        assertUnreadable(try mutate(good, to: "empty") { $0 = [] }, contains: "empty file")
        assertUnreadable("\(dir!)/missing.ckpt", contains: "no such checkpoint file")
    }

    /// 200 mutations (a byte of the first 64 set to 0xFF or at random, a truncation, a bit anywhere): each is refused
    /// with a `CheckpointError` or read back intact, never a trap.
    func testMutatedCheckpointsEndInACleanErrorOrAnIntactRead() throws {
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try writeGood())))
        var x: UInt64 = 99
        func draw(_ n: Int) -> Int { x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407; return Int((x >> 33) % UInt64(n)) }
        var refused = 0
        for i in 0..<200 {
            var b = good
            switch i % 4 {
            case 0: b[draw(64)] = 0xFF
            case 1: b = Array(b.prefix(draw(b.count)))
            case 2: b[draw(64)] = UInt8(draw(256))
            default: b[draw(b.count)] ^= UInt8(1 << draw(8))
            }
            let path = "\(dir!)/fuzz-\(i).ckpt"
            try Data(b).write(to: URL(fileURLWithPath: path))
            do {
                let r = try CheckpointReader(path: path)
                var v = [Float](repeating: 0, count: values.count), c: [Int64] = [0]
                try r.readPayload(into: sections(&v, &c))
                XCTAssertEqual(v, values, "mutation \(i) was read: it must be intact"); XCTAssertEqual(c, counter)
            } catch is CheckpointError {
                refused += 1
            } catch {
                XCTFail("mutation \(i): not a CheckpointError: \(error)")
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        XCTAssertGreaterThan(refused, 150, "most mutations are refused")
    }

    /// A flipped byte that zstd's own checksum would not see (inside a stored block) is still caught
    /// by the CRC-32 of the uncompressed payload: here, a valid file whose header CRC-32 is wrong.
    func testPayloadChecksumCatchesWrongData() throws {
        let path = "\(dir!)/other.ckpt"
        var v = values, c = counter
        try CheckpointWriter.write(path: path, header: ["kind": "test"], sections: sections(&v, &c))
        // Patch the recorded crc32 in the header and its header CRC, so only the payload check can object.
        var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let h = Int(b[12]) | Int(b[13]) << 8 | Int(b[14]) << 16 | Int(b[15]) << 24
        var header = String(decoding: b[20..<(20 + h)], as: UTF8.self)
        let r = try CheckpointReader(path: path)
        let old = "\"crc32\" : \(r.payload.crc32)", new = "\"crc32\" : \(r.payload.crc32 ^ 1)"
        XCTAssertTrue(header.contains(old), header)
        header = header.replacingOccurrences(of: old, with: new)
        let hb = Array(header.utf8)
        var crc = UInt32(0)
        hb.withUnsafeBytes { crc = UInt32(zlibCRC($0)) }
        b = Array(b[0..<12]) + withUnsafeBytes(of: UInt64(hb.count).littleEndian, Array.init) + hb
            + withUnsafeBytes(of: crc.littleEndian, Array.init) + Array(b[(24 + h)...])
        let patched = "\(dir!)/patched.ckpt"
        try Data(b).write(to: URL(fileURLWithPath: patched))
        assertUnreadable(patched, contains: "payload checksum mismatch")
    }
}

import CZlib
func zlibCRC(_ p: UnsafeRawBufferPointer) -> UInt {
    crc32_z(crc32(0, nil, 0), p.baseAddress!.assumingMemoryBound(to: UInt8.self), p.count)
}
