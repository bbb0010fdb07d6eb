import Foundation

/// Writes NumPy `.npy` files (format version 1.0, C order, little-endian), atomically: a temporary file in the
/// same folder, then a rename, so a reader never sees half a file.
public enum NPYWriter {
    /// float32 array of `shape` from `values` (row-major).
    public static func write(_ path: String, float32 values: [Float], shape: [Int]) throws {
        precondition(values.count == shape.reduce(1, *), "NPYWriter: \(values.count) values for shape \(shape)")
        var data = header(descr: "<f4", shape: shape)
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        try write(data, to: path)
    }

    /// float64 array of `shape` from `values` (row-major).
    public static func write(_ path: String, float64 values: [Double], shape: [Int]) throws {
        precondition(values.count == shape.reduce(1, *), "NPYWriter: \(values.count) values for shape \(shape)")
        var data = header(descr: "<f8", shape: shape)
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        try write(data, to: path)
    }

    /// int64 array (labels, class maps) of `shape` (default: a vector).
    public static func write(_ path: String, int64 values: [Int64], shape: [Int]? = nil) throws {
        precondition(values.count == (shape ?? [values.count]).reduce(1, *), "NPYWriter: \(values.count) values for shape \(shape!)")
        var data = header(descr: "<i8", shape: shape ?? [values.count])
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        try write(data, to: path)
    }

    /// Magic, version 1.0, header length, then the header dict padded with spaces and a newline so the data start
    /// on a multiple of 64 bytes.
    public static func header(descr: String, shape: [Int]) -> Data {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let n = UInt16(dict.utf8.count)
        data.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8)])
        data.append(contentsOf: Array(dict.utf8))
        return data
    }

    static func write(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw DataError(path, "cannot write: \((error as NSError).localizedDescription)")
        }
    }
}
