import Foundation
import SSLCheckpoint
import SSLCore

/// Everything `ssl-dist inspect` shows about a checkpoint.
public struct CheckpointInspection {
    public struct Tensor {
        public var name: String
        public var shape: [Int]
        public var mean: Double
        public var std: Double
    }
    public var path: String
    public var fileBytes: Int
    public var formatVersion: UInt32
    public var header: [String: Any]
    public var state: TrainingState
    public var tensors: [Tensor]
    /// FNV-1a over parameters, Adam's m, v and step: equal exactly when that state is equal bit for bit.
    public var digest: UInt64?
    /// nil when every checksum verified; otherwise what failed.
    public var checksumError: String?

    /// Reads and verifies `path` (a checkpoint file, or a run directory / its checkpoints folder: their latest).
    public static func inspect(_ path: String) throws -> CheckpointInspection {
        let file = try CheckpointDirectory(runDir: ".").resolve(path)
        let reader = try CheckpointReader(path: file)
        let state = try readTrainingState(reader)
        let header = (try? JSONSerialization.jsonObject(with: reader.header) as? [String: Any]) ?? [:]
        let store = ParameterStore(layout: state.layout)
        if reader.payload.sections.contains(where: { $0.name == "average" }) { store.keepAverage() }
        let adam = Adam(count: state.layout.parameterCount)
        let t = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        defer { t.deallocate() }
        let sections = payloadSections(store, adam, t)
        var checksumError: String? = nil
        var digest: UInt64? = nil
        var tensors: [Tensor] = []
        do {
            try reader.readPayload(into: sections)
            digest = payloadDigest(sections)
            for e in state.layout.entries {
                var s = 0.0, s2 = 0.0
                let start = state.layout.start(of: e)
                for i in start..<(start + e.count) { let v = Double(store.values[i]); s += v; s2 += v * v }
                let n = Double(max(e.count, 1))
                let mean = s / n
                tensors.append(Tensor(name: e.name, shape: e.shape, mean: mean, std: max(s2 / n - mean * mean, 0).squareRoot()))
            }
        } catch {
            checksumError = "\(error)"
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        return CheckpointInspection(path: file, fileBytes: size, formatVersion: reader.formatVersion, header: header,
                                    state: state, tensors: tensors, digest: digest, checksumError: checksumError)
    }

    public var digestHex: String? { digest.map { String(format: "%016llx", $0) } }

    public var json: [String: Any] {
        [
            "path": path, "file_bytes": fileBytes, "format_version": Int(formatVersion), "header": header,
            "tensors": tensors.map { ["name": $0.name, "shape": $0.shape, "mean": $0.mean, "std": $0.std] as [String: Any] },
            "digest": digestHex as Any, "checksums_ok": checksumError == nil, "checksum_error": checksumError as Any,
        ]
    }

    public var text: String {
        var lines: [String] = []
        lines.append("checkpoint \(path) (\(fileBytes) bytes, format version \(formatVersion))")
        let s = state
        lines.append("  model \(s.model.rawValue), step \(s.step), epoch \(String(format: "%.2f", s.epoch)), seed \(s.rng.seed), "
                     + "world size \(s.worldSize), Adam step \(s.adamStep), written \(s.writtenAt)"
                     + (s.build.map { " by \($0)" } ?? ""))
        if s.model.classifies {
            lines.append("  last validation accuracy: " + (s.lastValidationAccuracy.map { String(format: "%.2f%%", 100 * $0) } ?? "none"))
        } else {
            lines.append("  last validation bound: " + (s.lastValidationAccuracy.map { String(format: "%.3f nats per example", $0) } ?? "none"))
        }
        if let st = s.stack {
            lines.append("  frozen M1: hidden \(st.hidden), z₁ \(st.latent), \(st.likelihood.rawValue); M2 sees dimensions \(st.kept)")
        }
        var shown = header
        shown["layout"] = "\(s.layout.entries.count) tensors, \(s.layout.parameterCount) parameters and \(s.layout.stateCount) state values (listed below)"
        if let data = try? JSONSerialization.data(withJSONObject: shown, options: [.prettyPrinted, .sortedKeys]) {
            lines.append("header:")
            lines.append(String(decoding: data, as: UTF8.self))
        }
        if !tensors.isEmpty {
            lines.append("tensors:")
            let width = tensors.map(\.name.count).max() ?? 0
            for t in tensors {
                let name = t.name.padding(toLength: width, withPad: " ", startingAt: 0)
                let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
                lines.append(String(format: "  %@  %-12@  mean %+.5f  std %.5f", name, shape, t.mean, t.std))
            }
        }
        lines.append("digest: " + (digestHex ?? "unavailable"))
        lines.append(checksumError.map { "checksums: FAILED: \($0)" }
                     ?? "checksums: ok (header CRC-32, zstd content checksum, payload CRC-32)")
        return lines.joined(separator: "\n")
    }
}
