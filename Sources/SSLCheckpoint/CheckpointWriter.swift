import CZlib
import CZstd
import Foundation

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
