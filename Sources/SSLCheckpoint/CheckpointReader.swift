import CZlib
import CZstd
import Foundation

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
