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

// MARK: - Writing

public enum CheckpointWriter {
    /// Writes `header` (a JSON object) and the sections to `path` so that `path` is either the old file
    /// or the complete new one: a temporary file in the same folder is written, fsync'ed and renamed,
    /// then the folder is fsync'ed. The payload is compressed in a stream, chunk by chunk.
    /// `killAfterBytes` (tests only) sends SIGKILL to this process once that many bytes are written.
    public static func write(path: String, header: [String: Any], sections: [PayloadSection],
                             level: Int32 = 3, killAfterBytes: Int? = nil) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let temp = "\(dir)/.\(url.lastPathComponent).tmp-\(getpid())"
        let info = PayloadInfo(sections: sections.map { .init(name: $0.name, bytes: $0.bytes) },
                               bytes: sections.reduce(0) { $0 + $1.bytes }, crc32: crc32(of: sections))
        var object = header
        object["payload"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(info))
        let headerBytes = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])

        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointError(path, "cannot create \(temp): \(String(cString: strerror(errno)))") }
        var written = 0
        func put(_ p: UnsafeRawPointer, _ n: Int) throws {
            var off = 0
            while off < n {
                var chunk = n - off
                if let k = killAfterBytes, written + chunk >= k { chunk = max(k - written, 0) }
                let r = chunk > 0 ? Foundation.write(fd, p + off, chunk) : 0
                if r < 0 {
                    if errno == EINTR { continue }
                    throw CheckpointError(path, "write failed: \(String(cString: strerror(errno)))")
                }
                off += r; written += r
                if let k = killAfterBytes, written >= k { kill(getpid(), SIGKILL) }
            }
        }
        func putBytes(_ b: [UInt8]) throws { try b.withUnsafeBytes { try put($0.baseAddress!, $0.count) } }
        do {
            try putBytes(CheckpointFormat.magic + le(CheckpointFormat.version) + le(UInt64(headerBytes.count)))
            try headerBytes.withUnsafeBytes { try put($0.baseAddress!, $0.count) }
            try putBytes(le(headerBytes.withUnsafeBytes { crc32($0) }))
            try compress(sections, level: level, path: path, put)
            guard fsync(fd) == 0 else { throw CheckpointError(path, "fsync failed: \(String(cString: strerror(errno)))") }
            guard close(fd) == 0 else { throw CheckpointError(path, "close failed: \(String(cString: strerror(errno)))") }
        } catch {
            close(fd); unlink(temp)
            throw error
        }
        guard rename(temp, path) == 0 else {
            let e = String(cString: strerror(errno)); unlink(temp)
            throw CheckpointError(path, "rename from \(temp) failed: \(e)")
        }
        try syncDirectory(dir)
    }

    /// Streams the sections through one zstd frame with the content checksum on.
    static func compress(_ sections: [PayloadSection], level: Int32, path: String,
                         _ put: (UnsafeRawPointer, Int) throws -> Void) throws {
        guard let cctx = ZSTD_createCCtx() else { throw CheckpointError(path, "zstd: cannot create a compression context") }
        defer { ZSTD_freeCCtx(cctx) }
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)
        let outSize = ZSTD_CStreamOutSize()
        let out = UnsafeMutableRawPointer.allocate(byteCount: outSize, alignment: 16)
        defer { out.deallocate() }
        func drain(_ input: inout ZSTD_inBuffer, _ mode: ZSTD_EndDirective) throws {
            while true {
                var o = ZSTD_outBuffer(dst: out, size: outSize, pos: 0)
                let remaining = ZSTD_compressStream2(cctx, &o, &input, mode)
                if ZSTD_isError(remaining) != 0 {
                    throw CheckpointError(path, "zstd: \(String(cString: ZSTD_getErrorName(remaining)))")
                }
                if o.pos > 0 { try put(out, o.pos) }
                let done = mode == ZSTD_e_end ? remaining == 0 : input.pos == input.size
                if done { return }
            }
        }
        for s in sections {
            var input = ZSTD_inBuffer(src: s.pointer, size: s.bytes, pos: 0)
            try drain(&input, ZSTD_e_continue)
        }
        var empty = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        try drain(&empty, ZSTD_e_end)
    }
}

/// fsync of a directory, so a rename in it is durable.
public func syncDirectory(_ dir: String) throws {
    let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard dfd >= 0 else { throw CheckpointError(dir, "cannot open the folder to fsync it: \(String(cString: strerror(errno)))") }
    defer { close(dfd) }
    guard fsync(dfd) == 0 else { throw CheckpointError(dir, "fsync of the folder failed: \(String(cString: strerror(errno)))") }
}

// MARK: - Reading

/// A checkpoint file, checked on open: magic, format version, header checksum and header JSON.
/// `readPayload` then decompresses into caller memory and checks sizes, zstd's checksum and the CRC-32.
public struct CheckpointReader {
    public let path: String
    /// The header JSON (the whole object, including "payload").
    public let header: Data
    public let payload: PayloadInfo
    public let formatVersion: UInt32
    private let bytes: [UInt8]
    private let payloadOffset: Int

    public init(path: String) throws {
        self.path = path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw CheckpointError(path, "no such checkpoint file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError(path, "cannot read the file (permissions?)")
        }
        let bytes = [UInt8](data)
        if bytes.isEmpty { throw CheckpointError(path, "empty file, expected an ssl-dist checkpoint") }
        guard bytes.count >= CheckpointFormat.prefixBytes else {
            throw CheckpointError(path, "truncated: \(bytes.count) bytes, shorter than the \(CheckpointFormat.prefixBytes)-byte prefix")
        }
        guard Array(bytes[0..<8]) == CheckpointFormat.magic else {
            let shown = bytes[0..<8].map { (32...126).contains($0) ? String(UnicodeScalar($0)) : "." }.joined()
            throw CheckpointError(path, "not an ssl-dist checkpoint: magic '\(shown)', expected 'SSLDCKPT'")
        }
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[o + $1]) << (8 * UInt32($1)) } }
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) } }
        let version = u32(8)
        guard version <= CheckpointFormat.version else {
            throw CheckpointError(path, "format version \(version) is newer than this ssl-dist reads "
                                  + "(\(CheckpointFormat.version)); use a newer ssl-dist")
        }
        guard version >= 1 else { throw CheckpointError(path, "format version \(version) is not valid") }
        let h = u64(12)
        guard h < UInt64(bytes.count), CheckpointFormat.prefixBytes + Int(h) + 4 <= bytes.count else {
            throw CheckpointError(path, "truncated: the header of \(h) bytes does not fit in the \(bytes.count)-byte file")
        }
        let hEnd = CheckpointFormat.prefixBytes + Int(h)
        let headerSlice = Array(bytes[CheckpointFormat.prefixBytes..<hEnd])
        let stored = u32(hEnd)
        let actual = headerSlice.withUnsafeBytes { crc32($0) }
        guard stored == actual else {
            throw CheckpointError(path, String(format: "header checksum mismatch (stored %08x, computed %08x): the header is corrupt", stored, actual))
        }
        let headerData = Data(headerSlice)
        guard let object = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
              let p = object["payload"], let pData = try? JSONSerialization.data(withJSONObject: p),
              let info = try? JSONDecoder().decode(PayloadInfo.self, from: pData) else {
            throw CheckpointError(path, "the header is not a checkpoint header (no valid \"payload\" member)")
        }
        header = headerData
        payload = info
        formatVersion = version
        self.bytes = bytes
        payloadOffset = hEnd + 4
    }

    /// Decompresses the payload into `sections`, which must match the header's sections in name and size.
    public func readPayload(into sections: [PayloadSection]) throws {
        guard sections.map(\.name) == payload.sections.map(\.name), sections.map(\.bytes) == payload.sections.map(\.bytes) else {
            let want = sections.map { "\($0.name) \($0.bytes)" }.joined(separator: ", ")
            let have = payload.sections.map { "\($0.name) \($0.bytes)" }.joined(separator: ", ")
            throw CheckpointError(path, "payload holds [\(have)] bytes, this model needs [\(want)]")
        }
        guard let dctx = ZSTD_createDCtx() else { throw CheckpointError(path, "zstd: cannot create a decompression context") }
        defer { ZSTD_freeDCtx(dctx) }
        try bytes.withUnsafeBytes { raw in
            var input = ZSTD_inBuffer(src: raw.baseAddress! + payloadOffset, size: raw.count - payloadOffset, pos: 0)
            var last = 1
            for s in sections {
                var out = ZSTD_outBuffer(dst: s.pointer, size: s.bytes, pos: 0)
                while out.pos < out.size {
                    let before = (input.pos, out.pos)
                    last = ZSTD_decompressStream(dctx, &out, &input)
                    if ZSTD_isError(last) != 0 {
                        throw CheckpointError(path, "payload is corrupt: zstd says \(String(cString: ZSTD_getErrorName(last)))")
                    }
                    if (input.pos, out.pos) == before {  // no progress: the input ran out
                        // A cut file, or a flipped bit in a block header that now claims more data than there is.
                        throw CheckpointError(path, "truncated or corrupt: the payload ends inside section '\(s.name)'")
                    }
                }
            }
            // Finish the frame: its end and content checksum come after the last byte of data.
            while last != 0 {
                var sink = ZSTD_outBuffer(dst: nil, size: 0, pos: 0)
                let before = input.pos
                last = ZSTD_decompressStream(dctx, &sink, &input)
                if ZSTD_isError(last) != 0 {
                    throw CheckpointError(path, "payload is corrupt: zstd says \(String(cString: ZSTD_getErrorName(last)))")
                }
                if last != 0 && input.pos == before {
                    throw CheckpointError(path, "truncated or corrupt: the payload's zstd frame is incomplete")
                }
            }
            if input.pos != input.size {
                throw CheckpointError(path, "\(input.size - input.pos) unexpected bytes after the payload")
            }
        }
        let crc = crc32(of: sections)
        guard crc == payload.crc32 else {
            throw CheckpointError(path, String(format: "payload checksum mismatch (header %08x, data %08x)", payload.crc32, crc))
        }
    }
}
