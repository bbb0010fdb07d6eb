import Foundation
import SSLCore

/// The outcome of a child process.
public struct ProcessResult {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var seconds: Double
    public var output: String { stdout + stderr }
}

/// The directory holding the built products (ssl-dist next to the test bundle).
public func productsDirectory() -> URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
}

public func sslDistBinary() -> String { productsDirectory().appendingPathComponent("ssl-dist").path }

/// Runs `executable args`, waits at most `timeout` seconds (then kills it), and collects its output.
public func runProcess(_ executable: String, _ args: [String], environment: [String: String] = [:],
                       timeout: Double = 300) throws -> ProcessResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    p.standardInput = FileHandle.nullDevice  // as in CI: no stdin
    let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("ssl-proc-\(UUID().uuidString).out")
    let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("ssl-proc-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
    p.standardOutput = try FileHandle(forWritingTo: outURL)
    p.standardError = try FileHandle(forWritingTo: errURL)
    let done = DispatchSemaphore(value: 0)
    p.terminationHandler = { _ in done.signal() }
    let start = Date()
    try p.run()
    if done.wait(timeout: .now() + timeout) == .timedOut {
        p.terminate()
        _ = done.wait(timeout: .now() + 10)
    }
    let seconds = Date().timeIntervalSince(start)
    let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
    let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    return ProcessResult(status: p.terminationStatus, stdout: out, stderr: err, seconds: seconds)
}

/// `mpirun` with the flags every test job needs: root allowed, oversubscription, a hard timeout.
public func mpirun(_ args: [String], timeout: Int = 120) throws -> ProcessResult {
    try runProcess("/usr/bin/mpirun",
                   ["--oversubscribe", "--timeout", String(timeout), "--mca", "btl", "self,vader,tcp"] + args,
                   environment: ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                                 "OMPI_MCA_rmaps_base_oversubscribe": "1"],
                   timeout: Double(timeout + 30))
}

/// A run directory's metrics.jsonl, one record per line (epoch or iteration).
public func metricsRecords(_ runDir: String) throws -> [[String: Any]] {
    try String(contentsOfFile: "\(runDir)/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
        guard let record = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] else {
            throw NSError(domain: "metrics.jsonl", code: 1, userInfo: [NSLocalizedDescriptionKey: "not a JSON object: \($0)"])
        }
        return record
    }
}

/// Reads a raw little-endian float32 file.
public func readFloats(_ path: String) throws -> [Float] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}

/// max|a − b| / max|a|, and max|a − b|.
public func relativeDifference(_ a: [Float], _ b: [Float]) -> (relative: Double, absolute: Double) {
    precondition(a.count == b.count, "different parameter counts \(a.count) and \(b.count)")
    var maxDiff = 0.0, maxA = 0.0
    for i in a.indices {
        maxDiff = max(maxDiff, abs(Double(a[i]) - Double(b[i])))
        maxA = max(maxA, abs(Double(a[i])))
    }
    return (maxDiff / max(maxA, 1e-30), maxDiff)
}

/// A child process whose output can be waited on while it runs.
public final class RunningProcess {
    public let process = Process()
    private let lock = NSLock()
    private var out = "", err = ""
    private var waiters: [(String, DispatchSemaphore)] = []
    private let done = DispatchSemaphore(value: 0)
    private let outPipe = Pipe(), errPipe = Pipe()

    public init(_ executable: String, _ args: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let o = outPipe, e = errPipe
        process.standardOutput = o
        process.standardError = e
        o.fileHandleForReading.readabilityHandler = { [weak self] h in self?.append(h.availableData, stdout: true) }
        e.fileHandleForReading.readabilityHandler = { [weak self] h in self?.append(h.availableData, stdout: false) }
        process.terminationHandler = { [weak self] _ in self?.done.signal() }
        try process.run()
    }

    private func append(_ data: Data, stdout: Bool) {
        lock.lock(); defer { lock.unlock() }
        if stdout { out += String(decoding: data, as: UTF8.self) } else { err += String(decoding: data, as: UTF8.self) }
        waiters.removeAll { text, sem in
            if out.contains(text) || err.contains(text) { sem.signal(); return true }
            return false
        }
    }

    public var stdout: String { lock.lock(); defer { lock.unlock() }; return out }
    public var stderr: String { lock.lock(); defer { lock.unlock() }; return err }

    /// Blocks until `text` appears in the output (true) or `timeout` seconds pass (false).
    public func waitForOutput(containing text: String, timeout: Double) -> Bool {
        let sem = DispatchSemaphore(value: 0)
        lock.lock()
        if out.contains(text) || err.contains(text) { lock.unlock(); return true }
        waiters.append((text, sem))
        lock.unlock()
        return sem.wait(timeout: .now() + timeout) == .success
    }

    /// Waits for exit (killing the process after `timeout` seconds); returns its status.
    @discardableResult
    public func wait(timeout: Double) -> Int32 {
        if done.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            _ = done.wait(timeout: .now() + 10)
        }
        // Read what is left in the pipes, up to their end (every writer has exited).
        for (pipe, isOut) in [(outPipe, true), (errPipe, false)] {
            pipe.fileHandleForReading.readabilityHandler = nil
            append(pipe.fileHandleForReading.readDataToEndOfFile(), stdout: isOut)
        }
        return process.terminationStatus
    }
}

/// PIDs of running processes whose executable is `name` and whose command line contains `marker`.
public func processIDs(named name: String, commandLineContaining marker: String) -> [Int32] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return entries.compactMap { Int32($0) }.filter { pid in
        guard let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
              comm.trimmingCharacters(in: .whitespacesAndNewlines) == name,
              let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return String(decoding: cmd.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(marker)
    }
}

/// A new, empty directory under the system's temporary folder, unique to this process and call.
public func makeTemporaryDirectory(_ prefix: String) throws -> String {
    let dir = NSTemporaryDirectory() + "\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The `--gemm`/`--precision` flags of every engine this machine has: OpenBLAS fp32, oneDNN fp32, and oneDNN bf16
/// where oneDNN can compute it (it is left out, with a note, elsewhere).
public func engineFlags() -> [[String]] {
    var flags = [["--gemm", "blas"], ["--gemm", "dnnl", "--precision", "fp32"]]
    if (try? MatMulEngine(backend: .dnnl, precision: .bf16)) != nil {
        flags.append(["--gemm", "dnnl", "--precision", "bf16"])
    } else {
        print("note: oneDNN has no bf16 matmul on this CPU; bf16 runs are left out")
    }
    return flags
}

/// The relative tolerance of a 1-versus-N-rank comparison of parameters after a short run with these engine flags
/// (none: this machine's default engine, `EngineChoice.fastest`): 5e-5 when the products take bf16 inputs, whose
/// rounding differs with each rank's slice of the batch (m2 measured 2.0e-5 relative, see MPIJobTests), 1e-5 with
/// fp32 products (measured 1e-6 or less). bf16 is the default on CPUs that multiply it faster (AMD Zen 4/5, AMX).
public func rankTolerance(_ flags: [String] = []) -> Double {
    func flag(_ name: String) -> String? { flags.firstIndex(of: name).flatMap { $0 + 1 < flags.count ? flags[$0 + 1] : nil } }
    let engine = EngineChoice.resolve(backend: flag("--gemm").flatMap { GemmBackend(rawValue: $0) },
                                      precision: flag("--precision").flatMap { Precision(rawValue: $0) },
                                      saved: nil)
    return engine.precision == .bf16 ? 5e-5 : 1e-5
}
