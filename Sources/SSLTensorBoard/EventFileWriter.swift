import Foundation
import SwiftProtobuf

/// Writes TensorBoard event files: `events.out.tfevents.<seconds>.<host>` in a folder, a sequence of
/// TFRecords (UInt64 length, masked CRC-32C of the length, the bytes, masked CRC-32C of the bytes), each
/// holding a serialized `tensorboard.Event`. The first record carries the file version. Open the folder
/// with `tensorboard --logdir`.
public final class EventFileWriter {
    public let path: String
    private let handle: FileHandle

    public init(directory: String, wallTime: Double = Date().timeIntervalSince1970) throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw TensorBoardError(path: directory, problem: "cannot create the folder: \(error.localizedDescription)")
        }
        let host = ProcessInfo.processInfo.hostName.components(separatedBy: ".").first ?? "host"
        path = "\(directory)/events.out.tfevents.\(Int(wallTime)).\(host).\(getpid())"
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw TensorBoardError(path: path, problem: "cannot create the event file")
        }
        handle = h
        var first = Tensorboard_Event()
        first.wallTime = wallTime
        first.fileVersion = "brain.Event:2"
        try write(first)
    }

    deinit { try? handle.close() }

    /// One event with a summary of scalar values at `step`.
    public func addScalars(step: Int, wallTime: Double = Date().timeIntervalSince1970, _ values: [(tag: String, value: Double)]) throws {
        var event = Tensorboard_Event()
        event.wallTime = wallTime
        event.step = Int64(step)
        var summary = Tensorboard_Summary()
        summary.value = values.map { tag, v in
            var value = Tensorboard_Summary.Value()
            value.tag = tag
            value.simpleValue = Float(v)
            return value
        }
        event.summary = summary
        try write(event)
    }

    /// Makes everything written so far visible to a reader.
    public func flush() { try? handle.synchronize() }

    private func write(_ event: Tensorboard_Event) throws {
        let data: Data = try event.serializedData()
        var record = Data()
        let length = withUnsafeBytes(of: UInt64(data.count).littleEndian) { Data($0) }
        record.append(length)
        record.append(withUnsafeBytes(of: maskedCRC32C(length).littleEndian) { Data($0) })
        record.append(data)
        record.append(withUnsafeBytes(of: maskedCRC32C(data).littleEndian) { Data($0) })
        do { try handle.write(contentsOf: record) } catch {
            throw TensorBoardError(path: path, problem: "write failed: \(error.localizedDescription)")
        }
    }
}

public struct TensorBoardError: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public var description: String { "\(path): \(problem)" }
}

// MARK: - CRC-32C (Castagnoli), as TFRecord uses it

private let crc32cTable: [UInt32] = (0..<256).map { i in
    var c = UInt32(i)
    for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
    return c
}

/// CRC-32C of `data` (reflected, polynomial 0x1EDC6F41).
public func crc32c(_ data: Data) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in data { c = crc32cTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
}

/// TFRecord's masked CRC: rotate right by 15 and add a constant.
public func maskedCRC32C(_ data: Data) -> UInt32 {
    let c = crc32c(data)
    return ((c >> 15) | (c << 17)) &+ 0xA282_EAD8
}
