import Foundation

/// Appends one JSON object per line to a file (`metrics.jsonl`), flushing each line.
public final class MetricsLog {
    let handle: FileHandle
    public let path: String

    public init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw ConfigError(flag: "--run-dir", problem: "cannot create \(path)")
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw ConfigError(flag: "--run-dir", problem: "cannot open \(path) for writing")
        }
        h.seekToEndOfFile()
        handle = h
    }

    deinit { try? handle.close() }

    public func append(_ record: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        handle.write(data)
        handle.write(Data("\n".utf8))
    }
}
