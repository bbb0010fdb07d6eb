import Foundation

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
