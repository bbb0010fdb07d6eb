import Foundation
import SSLCheckpoint
import SSLCore
import SSLData
import SSLDistributed

/// Reading a checkpoint under MPI: rank 0 opens and checks the file; every rank gets the header, then
/// the payload, so all ranks hold identical state. Errors on rank 0 become errors on every rank.
struct CheckpointLoading {
    let comm: Communicator

    /// The header of `spec` ("latest" in `runDir`'s checkpoints, a file, or a run directory), on every rank.
    /// The reader is returned on rank 0 only.
    func header(_ spec: String, runDir: String) throws -> (TrainingState, CheckpointReader?) {
        var reader: CheckpointReader? = nil
        var header: [UInt8] = []
        try comm.onRoot("reading the checkpoint") {
            let path = try CheckpointDirectory(runDir: runDir).resolve(spec)
            reader = try CheckpointReader(path: path)
            _ = try readTrainingState(reader!)
            header = [UInt8](reader!.header)
        }
        try comm.broadcastBytes(&header)
        let dec = JSONDecoder(); dec.keyDecodingStrategy = .convertFromSnakeCase
        return (try dec.decode(TrainingState.self, from: Data(header)), reader)
    }

    /// Reads the payload on rank 0 into `sections` and broadcasts it.
    func payload(_ reader: CheckpointReader?, into sections: [PayloadSection]) throws {
        try comm.onRoot("reading the checkpoint payload") { try reader!.readPayload(into: sections) }
        for s in sections { try comm.broadcast(UnsafeMutableRawBufferPointer(start: s.pointer, count: s.bytes), root: 0) }
    }
}
