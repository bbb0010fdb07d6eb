import Foundation
import SSLCheckpoint
import SSLCore
import SSLData

/// RUN_DIR/checkpoints: `step-NNNNNNNNN.ckpt` files, a `latest` file naming the newest, and `best.ckpt`, the state
/// at the best validation score.
public struct CheckpointDirectory {
    public let path: String
    public init(runDir: String) { path = "\(runDir)/checkpoints" }

    public func file(forStep step: Int) -> String { "\(path)/" + String(format: "step-%09d.ckpt", step) }
    public var best: String { "\(path)/best.ckpt" }

    /// Resolves a checkpoint argument: "latest" (this folder's pointer), "best", a run directory or its `checkpoints`
    /// folder (their latest), a `latest` pointer file itself, or a checkpoint file.
    public func resolve(_ spec: String) throws -> String {
        var isDir: ObjCBool = false
        if spec == "best" { return best }
        if spec != "latest", FileManager.default.fileExists(atPath: spec, isDirectory: &isDir), isDir.boolValue {
            let runDir = spec.hasSuffix("/checkpoints") ? String(spec.dropLast("/checkpoints".count)) : spec
            return try CheckpointDirectory(runDir: runDir).resolve("latest")
        }
        // RUN_DIR/checkpoints/latest as a path: the pointer it is, read relative to its own folder.
        let url = URL(fileURLWithPath: spec)
        if spec != "latest" && url.lastPathComponent == "latest" {
            let folder = url.deletingLastPathComponent()
            return try CheckpointDirectory(runDir: folder.deletingLastPathComponent().path).resolve("latest")
        }
        guard spec == "latest" else { return spec }
        let pointer = "\(path)/latest"
        guard let name = try? String(contentsOfFile: pointer, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
              !name.isEmpty else {
            throw CheckpointError(pointer, "no 'latest' checkpoint here: nothing to resume (was --run-dir the run's directory?)")
        }
        return "\(path)/\(name)"
    }

    /// Writes the checkpoint atomically, then points `latest` at it, then keeps the newest `keep`.
    func write(state: TrainingState, sections: [PayloadSection], keep: Int) throws -> String {
        let target = file(forStep: state.step)
        try write(state: state, sections: sections, to: target, killAfterBytes: Self.testKillHook(step: state.step))
        try updateLatest(URL(fileURLWithPath: target).lastPathComponent)
        prune(keep: keep, protecting: URL(fileURLWithPath: target).lastPathComponent)
        return target
    }

    /// Writes `best.ckpt` atomically (the previous best stays until the new one is durable).
    func writeBest(state: TrainingState, sections: [PayloadSection]) throws -> String {
        try write(state: state, sections: sections, to: best, killAfterBytes: nil)
        return best
    }

    private func write(state: TrainingState, sections: [PayloadSection], to target: String, killAfterBytes: Int?) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw CheckpointError(path, "cannot create the checkpoint folder: \(error.localizedDescription)")
        }
        let enc = JSONEncoder(); enc.keyEncodingStrategy = .convertToSnakeCase
        guard let header = try JSONSerialization.jsonObject(with: enc.encode(state)) as? [String: Any] else {
            throw CheckpointError(path, "cannot encode the checkpoint header")
        }
        try CheckpointWriter.write(path: target, header: header, sections: sections, killAfterBytes: killAfterBytes)
    }

    /// `latest` is replaced atomically (temporary file, fsync, rename, folder fsync), after the checkpoint is durable.
    private func updateLatest(_ name: String) throws {
        let temp = "\(path)/.latest.tmp-\(getpid())"
        let final = "\(path)/latest"
        guard FileManager.default.createFile(atPath: temp, contents: Data((name + "\n").utf8)) else {
            throw CheckpointError(temp, "cannot write the 'latest' pointer")
        }
        let fd = open(temp, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
        guard rename(temp, final) == 0 else {
            throw CheckpointError(final, "cannot update the 'latest' pointer: \(String(cString: strerror(errno)))")
        }
        try syncDirectory(path)
    }

    /// Deletes all but the newest `keep` step files (never the one `latest` names).
    private func prune(keep: Int, protecting latest: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
        let steps = names.filter { $0.hasPrefix("step-") && $0.hasSuffix(".ckpt") }.sorted()
        for name in steps.dropLast(keep) where name != latest {
            try? FileManager.default.removeItem(atPath: "\(path)/\(name)")
        }
    }

    /// Test hook: SSL_DIST_TEST_KILL_DURING_CHECKPOINT=STEP:BYTES kills this process with SIGKILL after
    /// BYTES bytes of the checkpoint of step STEP are written, to simulate a crash mid-write.
    static func testKillHook(step: Int) -> Int? {
        guard let spec = ProcessInfo.processInfo.environment["SSL_DIST_TEST_KILL_DURING_CHECKPOINT"] else { return nil }
        let parts = spec.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2, parts[0] == step else { return nil }
        return parts[1]
    }
}
