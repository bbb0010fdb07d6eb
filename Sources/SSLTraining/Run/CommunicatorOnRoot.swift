import SSLDistributed

extension Communicator {
    /// Runs `body` on rank 0 only; every rank then learns whether it failed, so no rank goes on alone. The error every
    /// rank throws names `what` and carries rank 0's message.
    func onRoot(_ what: String, _ body: () throws -> Void) throws {
        var failed: Int32 = 0
        var message: [UInt8] = []
        if isRoot {
            do { try body() } catch { failed = 1; message = Array("\(error)".utf8) }
        }
        try broadcast(&failed)
        if failed != 0 {
            try broadcastBytes(&message)
            throw TrainingError(message: "\(what) failed on rank 0: \(String(decoding: message, as: UTF8.self))")
        }
    }
}
