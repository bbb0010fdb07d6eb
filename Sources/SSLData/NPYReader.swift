import Foundation

/// NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): magic "\x93NUMPY", version, header length
/// (UInt16 for 1.0, UInt32 for 2.0 and 3.0), then a Python-literal header dict with 'descr', 'fortran_order'
/// and 'shape', then the data in C order. Gzip-compressed files are read too.
public struct NPYArray {
    public enum DType: String { case float32 = "f4", float64 = "f8", uint8 = "u1", int32 = "i4", int64 = "i8" }
    public let dtype: DType
    public let shape: [Int]
    /// The values as floats (features are float32 in ssl-dist; integer labels and class maps are exact in them).
    public let values: [Float]
}

/// What a .npy header says: the dtype, the shape, where the data start and how many values they hold.
public struct NPYHeader {
    public let dtype: NPYArray.DType
    public let shape: [Int]
    public let dataStart: Int
    public let count: Int
    public let elementSize: Int

    /// What is wrong when the file holds `dataBytes` after the header instead of the shape's.
    func sizeProblem(dataBytes: Int) -> String {
        let what = dataBytes < count * elementSize ? "truncated" : "unexpected trailing bytes"
        return "\(what): shape \(shape) of \(dtype) needs \(count * elementSize) data bytes, the file has \(dataBytes)"
    }

    /// `count` values stored at `p` in this dtype, as floats.
    func decode(_ p: UnsafeRawPointer, count: Int, into v: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .float32: for i in 0..<count { v[i] = Float(bitPattern: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian) }
        case .float64: for i in 0..<count { v[i] = Float(Double(bitPattern: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian)) }
        case .uint8: for i in 0..<count { v[i] = Float(p.load(fromByteOffset: i, as: UInt8.self)) }
        case .int32: for i in 0..<count { v[i] = Float(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        case .int64: for i in 0..<count { v[i] = Float(Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
        }
    }
}

public enum NPYReader {
    /// Reads `path`; a plain file is memory-mapped (not copied), a gzip one decompressed into memory.
    public static func read(_ path: String) throws -> NPYArray {
        if let mapped = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped), mapped.count >= 2,
           !(mapped[0] == 0x1F && mapped[1] == 0x8B) {
            return try mapped.withUnsafeBytes { try parse($0, name: path) }
        }
        return try readFileBytes(path).withUnsafeBytes { try parse($0, name: path) }
    }

    public static func parse(_ bytes: [UInt8], name: String) throws -> NPYArray {
        try bytes.withUnsafeBytes { try parse($0, name: name) }
    }

    public static func parse(_ b: UnsafeRawBufferPointer, name: String) throws -> NPYArray {
        let h = try header(b, name: name)
        guard b.count - h.dataStart == h.count * h.elementSize else {
            throw DataError(name, h.sizeProblem(dataBytes: b.count - h.dataStart))
        }
        var values = [Float](repeating: 0, count: h.count)
        values.withUnsafeMutableBufferPointer { h.decode(b.baseAddress! + h.dataStart, count: h.count, into: $0.baseAddress!) }
        return NPYArray(dtype: h.dtype, shape: h.shape, values: values)
    }

    /// The header at the start of `b` (which must hold at least the whole header): dtype, shape, where the data start.
    public static func header(_ b: UnsafeRawBufferPointer, name: String) throws -> NPYHeader {
        if b.isEmpty { throw DataError(name, "empty file, expected a .npy array") }
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard b.count >= 10, Array(b[0..<6]) == magic else { throw DataError(name, "not a .npy file (bad magic), expected \\x93NUMPY") }
        let major = b[6]
        guard (1...3).contains(major) else { throw DataError(name, ".npy format version \(major).\(b[7]) is not supported (1, 2 or 3)") }
        let lenBytes = major == 1 ? 2 : 4
        guard b.count >= 8 + lenBytes else { throw DataError(name, "truncated .npy header") }
        let headerLen = (0..<lenBytes).reduce(0) { $0 | Int(b[8 + $1]) << (8 * $1) }
        let start = 8 + lenBytes
        guard b.count >= start + headerLen else { throw DataError(name, "truncated: the .npy header claims \(headerLen) bytes") }
        guard let header = String(bytes: b[start..<(start + headerLen)], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw DataError(name, "the .npy header is not text")
        }
        func field(_ key: String) -> String? {
            guard let r = header.range(of: "'\(key)':") else { return nil }
            return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descrField = field("descr"), let q1 = descrField.firstIndex(of: "'"),
              let q2 = descrField[descrField.index(after: q1)...].firstIndex(of: "'") else {
            throw DataError(name, "the .npy header has no 'descr'")
        }
        let descr = String(descrField[descrField.index(after: q1)..<q2])
        guard descr.count >= 3, "<>|=".contains(descr.first!), descr.dropFirst().first!.isLetter,
              Int(descr.dropFirst(2)) != nil else {
            throw DataError(name, "the .npy header's 'descr' is '\(descr)', not a dtype such as '<f4' (corrupt header?)")
        }
        guard let fortranField = field("fortran_order") else { throw DataError(name, "the .npy header has no 'fortran_order'") }
        if fortranField.hasPrefix("True") {
            throw DataError(name, "array is in Fortran order; save it in C order (numpy.ascontiguousarray) and try again")
        }
        guard let shapeField = field("shape"), let open = shapeField.firstIndex(of: "("), let close = shapeField.firstIndex(of: ")") else {
            throw DataError(name, "the .npy header has no 'shape'")
        }
        let dims = shapeField[shapeField.index(after: open)..<close].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = try dims.map { d -> Int in
            guard let v = Int(d), v >= 0 else { throw DataError(name, "bad dimension '\(d)' in the .npy shape") }
            return v
        }
        let order = descr.first!
        guard order == "<" || order == "|" || (order == "=" && 1.littleEndian == 1) else {
            throw DataError(name, "dtype '\(descr)' is big-endian; only little-endian arrays are read")
        }
        guard let dtype = NPYArray.DType(rawValue: String(descr.dropFirst())) else {
            throw DataError(name, "dtype '\(descr)' is not supported; expected float32, float64 or uint8 features and int32/int64 labels")
        }
        let size = ["f4": 4, "f8": 8, "u1": 1, "i4": 4, "i8": 8][dtype.rawValue]!
        let count = try checkedDataBytes(shape, elementSize: size, file: name) / size
        return NPYHeader(dtype: dtype, shape: shape, dataStart: start + headerLen, count: count, elementSize: size)
    }

    /// Features X (N×D, or N×…, float32/float64/uint8) and integer labels Y (N), checked against each other.
    public static func readPair(features: String, labels: String) throws -> Dataset {
        let (d, rows) = try openPair(features: features, labels: labels)
        return try d.readingEveryRow(from: rows)
    }

    /// The labels Y of a features/labels pair, checked against the features' header, with the features X still in
    /// their file (`ArrayRows`): a dataset of no features yet, for a rank that reads only the rows it trains on.
    public static func openPair(features: String, labels: String) throws -> (Dataset, ArrayRows) {
        let x = try ArrayRows(features), y = try read(labels)
        guard x.shape.count >= 2 else { throw DataError(features, "has shape \(x.shape), expected examples × features") }
        guard [.float32, .float64, .uint8].contains(x.header.dtype) else {
            throw DataError(features, "features of dtype \(x.header.dtype) are not supported; expected float32, float64 or uint8")
        }
        guard y.shape.count == 1 || (y.shape.count == 2 && y.shape[1] == 1) else {
            throw DataError(labels, "has shape \(y.shape), expected one label per example")
        }
        guard [.int32, .int64, .uint8].contains(y.dtype) else { throw DataError(labels, "labels must be integers, found \(y.dtype)") }
        guard y.shape[0] == x.shape[0] else {
            throw DataError(labels, "has \(y.shape[0]) labels but \(features) has \(x.shape[0]) examples")
        }
        if let i = y.values.firstIndex(where: { $0 < -1 }) {
            throw DataError(labels, "label \(Int(y.values[i])) at index \(i) is out of range: expected 0, 1, … or −1 (no label)")
        }
        let k = Int(y.values.max() ?? -1) + 1  // 0 when no example has a label (M1 still trains)
        let d = Dataset(withoutFeatures: y.values.map { Int32($0) }, dim: x.rowLength, classes: k,
                        shape: x.shape.count == 3 ? [x.shape[1], x.shape[2]] : [x.rowLength])
        return (d, x)
    }

    /// A hyperspectral cube: X (H×W×B spectra, float or integer) and its ground-truth map GT (H×W integers: 0 for a
    /// pixel without a label, 1…C for the classes), as H·W examples in row-major pixel order with labels GT − 1
    /// (−1 for 0). The dataset remembers the grid, so class maps can be drawn.
    public static func readCube(spectra: String, groundTruth: String) throws -> Dataset {
        let (d, rows) = try openCube(spectra: spectra, groundTruth: groundTruth)
        return try d.readingEveryRow(from: rows)
    }

    /// The ground truth of a cube, checked against the spectra's header, with the spectra still in their file.
    public static func openCube(spectra: String, groundTruth: String) throws -> (Dataset, ArrayRows) {
        let x = try ArrayRows(spectra, vectorsOfLastDimension: true), gt = try read(groundTruth)
        guard x.shape.count == 3 else {
            throw DataError(spectra, "has shape \(x.shape), expected a cube height × width × bands")
        }
        guard gt.shape.count == 2 else { throw DataError(groundTruth, "has shape \(gt.shape), expected a map height × width") }
        guard gt.shape[0] == x.shape[0] && gt.shape[1] == x.shape[1] else {
            throw DataError(groundTruth, "is \(gt.shape[0]) × \(gt.shape[1]) pixels but \(spectra) is \(x.shape[0]) × \(x.shape[1])")
        }
        guard [.int32, .int64, .uint8].contains(gt.dtype) else {
            throw DataError(groundTruth, "the map must hold integers (0: no label, 1…C: classes), found \(gt.dtype)")
        }
        if let i = gt.values.firstIndex(where: { $0 < 0 }) {
            throw DataError(groundTruth, "value \(Int(gt.values[i])) at pixel (\(i / gt.shape[1]), \(i % gt.shape[1])) is negative; "
                            + "expected 0 (no label) or a class 1…C")
        }
        let bands = x.shape[2]
        let k = Int(gt.values.max() ?? 0)
        var d = Dataset(withoutFeatures: gt.values.map { Int32($0) - 1 }, dim: bands, classes: k, shape: [bands])
        d.grid = (x.shape[0], x.shape[1])
        // Cube users count classes as the ground truth does: class k is named k + 1 in every table and output.
        d.classNames = (0..<k).map { String($0 + 1) }
        return (d, x)
    }
}
