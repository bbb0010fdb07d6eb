import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A run directory belongs to one run. Rank 0 claims it before writing anything:
/// - an exclusive `flock` on `DIR/.lock`, held while the process lives (the kernel drops it when the process ends,
///   also on a crash or kill, so a stale lock never blocks; on a shared file system the lock is the server's); the
///   file names the holder (host, process, start) for the error a second run gets;
/// - a new run (or a resumed one moved to another directory) refuses a directory that already holds a run, saying what
///   is there and the three ways on: `--resume latest`, another `--run-dir`, or `--overwrite`, which moves the old run
///   aside to `DIR.replaced-TIME` and never deletes it.
public final class RunDirectoryClaim {
    public let path: String
    let fd: Int32

    init(path: String, fd: Int32) { self.path = path; self.fd = fd }
    deinit { close(fd) }

    static let lockName = ".lock"

    /// Claims `dir` for a run. `ownRun`: the directory is the resumed run's own (its checkpoints are there), so the run
    /// in it is this one. Returns the claim and, with `overwrite`, where the old run went.
    public static func claim(_ dir: String, ownRun: Bool, overwrite: Bool) throws -> (RunDirectoryClaim, movedTo: String?) {
        var movedTo: String? = nil
        if !ownRun, let existing = describeRun(in: dir) {
            // A live run there refuses even --overwrite: its files are open.
            if isInUse(dir) { throw heldError(dir) }
            guard overwrite else {
                throw ConfigError(flag: "--run-dir", problem: "\(dir) already holds a run (\(existing)); continue it with "
                    + "--resume latest --run-dir \(dir), choose another --run-dir, or give --overwrite to move it aside "
                    + "(to \(dir).replaced-TIME; nothing is deleted)")
            }
            let aside = "\(dir).replaced-\(timestamp())"
            do { try FileManager.default.moveItem(atPath: dir, toPath: aside) } catch {
                throw ConfigError(flag: "--overwrite", problem: "cannot move \(dir) aside to \(aside): \(error.localizedDescription)")
            }
            movedTo = aside
        }
        return (try lock(dir), movedTo)
    }

    /// Creates `dir` if needed and takes its lock, recording the holder; throws naming the holder when it is held.
    static func lock(_ dir: String) throws -> RunDirectoryClaim {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw ConfigError(flag: "--run-dir", problem: "cannot create directory \(dir): \(error.localizedDescription)")
        }
        let file = "\(dir)/\(lockName)"
        let fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ConfigError(flag: "--run-dir", problem: "cannot open \(file): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw heldError(dir)
        }
        let holder = "host \(ProcessInfo.processInfo.hostName), process \(getpid()), since \(timestamp())\n"
        _ = ftruncate(fd, 0)
        _ = holder.withCString { pwrite(fd, $0, strlen($0), 0) }
        return RunDirectoryClaim(path: dir, fd: fd)
    }

    /// Whether a running process holds `dir`'s lock (a probe that takes nothing and writes nothing).
    static func isInUse(_ dir: String) -> Bool {
        let fd = open("\(dir)/\(lockName)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_EX | LOCK_NB) != 0
    }

    static func heldError(_ dir: String) -> ConfigError {
        let holder = (try? String(contentsOfFile: "\(dir)/\(lockName)", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "another process"
        return ConfigError(flag: "--run-dir", problem: "\(dir) is in use by a running training job (\(holder.isEmpty ? "another process" : holder)); "
            + "wait for it to end or choose another --run-dir")
    }

    /// What a directory holds, if a run: its model, the step of its latest checkpoint, and when it last wrote; nil for a
    /// directory that does not exist or holds no run's files.
    public static func describeRun(in dir: String) -> String? {
        let fm = FileManager.default
        let marks = ["config.json", "metrics.jsonl", "results.json", "checkpoints/latest"]
        let present = marks.filter { fm.fileExists(atPath: "\(dir)/\($0)") }
        guard !present.isEmpty else { return nil }
        var parts: [String] = []
        if let data = fm.contents(atPath: "\(dir)/config.json"),
           let j = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let m = j["model"] as? String {
            parts.append("model \(m)")
        }
        if let latest = try? String(contentsOfFile: "\(dir)/checkpoints/latest", encoding: .utf8),
           let step = Int(latest.trimmingCharacters(in: .whitespacesAndNewlines).filter(\.isNumber)) {
            parts.append("latest checkpoint at step \(step)")
        }
        if fm.fileExists(atPath: "\(dir)/results.json") { parts.append("finished") }
        let dates = present.compactMap { (try? fm.attributesOfItem(atPath: "\(dir)/\($0)"))?[.modificationDate] as? Date }
        if let last = dates.max() { parts.append("last written \(ISO8601DateFormatter().string(from: last))") }
        return parts.joined(separator: ", ")
    }

    /// A new run's default directory: `base` if it holds no run and is not in use, else `base-2`, `base-3`, …: the n
    /// of the first free one (1 for `base` itself; see `numbered`).
    public static func freshNumber(_ base: String) -> Int {
        var n = 1
        while true {
            let dir = numbered(base, n)
            if describeRun(in: dir) == nil && !isInUse(dir) { return n }
            n += 1
        }
    }
    public static func numbered(_ base: String, _ n: Int) -> String { n == 1 ? base : "\(base)-\(n)" }

    /// The run directory a checkpoint file lies in (RUN/checkpoints/FILE), standardised; nil when it lies elsewhere.
    public static func runDirectory(ofCheckpoint path: String) -> String? {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        guard folder.lastPathComponent == "checkpoints" else { return nil }
        return folder.deletingLastPathComponent().standardizedFileURL.path
    }
    public static func standardized(_ dir: String) -> String { URL(fileURLWithPath: dir).standardizedFileURL.path }

    static func timestamp() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: Date())
    }
}
