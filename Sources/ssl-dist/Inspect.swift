import ArgumentParser
import Foundation
import SSLTraining

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a checkpoint's header, tensors, state digest, and whether its checksums verify.")

    @Argument(help: "A checkpoint file, or a run directory (its latest checkpoint).") var path: String
    @Flag(help: "Machine-readable JSON, with a top-level 'digest' field.") var json = false

    func run() throws { try reportingFailures(show) }

    func show() throws {
        let r = try CheckpointInspection.inspect(path)
        if json {
            let data = try JSONSerialization.data(withJSONObject: r.json, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(r.text)
        }
        if r.checksumError != nil { throw ExitCode(1) }
    }
}
