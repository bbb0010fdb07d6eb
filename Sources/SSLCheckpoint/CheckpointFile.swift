import CZlib
import CZstd
import Foundation

// File layout (little-endian):
//   0        8  magic "SSLDCKPT"
//   8        4  format version (UInt32)
//   12       8  header length H (UInt64)
//   20       H  header: a JSON object, UTF-8; its "payload" member describes the payload
//   20+H     4  CRC-32 of the header bytes
//   24+H     …  payload: one zstd frame (content checksum on) holding the sections back to back

/// A checkpoint that cannot be read or written, naming the file and what is wrong.
public struct CheckpointError: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public init(_ path: String, _ problem: String) { self.path = path; self.problem = problem }
    public var description: String { "\(path): \(problem)" }
}

public enum CheckpointFormat {
    public static let magic: [UInt8] = Array("SSLDCKPT".utf8)
    /// 2: the header holds the model configuration and the layout's state region; the payload may hold "average".
    public static let version: UInt32 = 2
    static let prefixBytes = 20
}

/// The payload as the header describes it.
public struct PayloadInfo: Codable, Equatable {
    public struct Section: Codable, Equatable {
        public var name: String
        public var bytes: Int
    }
    public var sections: [Section]
    /// Uncompressed size and its CRC-32 (zstd's output is not stable across versions; this is).
    public var bytes: Int
    public var crc32: UInt32
    public var compression = "zstd"
}

/// A named block of memory: written from, or read into.
public struct PayloadSection {
    public let name: String
    public let pointer: UnsafeMutableRawPointer
    public let bytes: Int
    public init(_ name: String, _ pointer: UnsafeMutableRawPointer, bytes: Int) {
        self.name = name; self.pointer = pointer; self.bytes = bytes
    }
}

/// CRC-32 (zlib) over the sections, in order.
func crc32(of sections: [PayloadSection]) -> UInt32 {
    var c = CZlib.crc32(0, nil, 0)
    for s in sections { c = crc32_z(c, s.pointer.assumingMemoryBound(to: UInt8.self), s.bytes) }
    return UInt32(c)
}

func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    UInt32(crc32_z(CZlib.crc32(0, nil, 0), bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count))
}

func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
