import Foundation
import SSLData

/// A file written as a stream and made visible only when complete: a temporary file in the same folder, fsync'ed
/// and renamed over the target on `commit()`; dropped (deleted) if never committed. `-` writes standard output.
public final class AtomicOutput {
    public let path: String
    let temp: String?
    let handle: FileHandle
    var committed = false

    /// Opens the temporary file; an error names `flag` and the path, and leaves nothing behind.
    public init(_ path: String, flag: String) throws {
        self.path = path
        if path == "-" { temp = nil; handle = FileHandle.standardOutput; return }
        let url = URL(fileURLWithPath: path)
        let t = url.deletingLastPathComponent().path + "/.\(url.lastPathComponent).tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: t, contents: nil), let h = FileHandle(forWritingAtPath: t) else {
            throw DataError(flag, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        temp = t
        handle = h
    }

    deinit { if !committed, let temp { try? handle.close(); unlink(temp) } }

    public func write(_ data: Data) throws {
        do { try handle.write(contentsOf: data) } catch {
            throw DataError(path, "write failed: \((error as NSError).localizedDescription)")
        }
    }

    /// Makes the file visible under its name, complete and durable.
    public func commit() throws {
        guard let temp else { committed = true; return }
        guard fsync(handle.fileDescriptor) == 0 else { throw DataError(path, "fsync failed: \(String(cString: strerror(errno)))") }
        try handle.close()
        guard rename(temp, path) == 0 else { throw DataError(path, "cannot rename the finished file: \(String(cString: strerror(errno)))") }
        committed = true
    }
}
