/// The IDX format of MNIST and Fashion-MNIST: magic 0x00 0x00, a type byte (0x08 = unsigned byte),
/// a dimension count, big-endian UInt32 sizes, then the data. Gzip or raw.
public struct IDXArray {
    public let dims: [Int]
    public let data: [UInt8]
}

public enum IDXReader {
    public static func read(_ path: String) throws -> IDXArray {
        let bytes = try readFileBytes(path)
        return try parse(bytes, name: path)
    }

    public static func parse(_ bytes: [UInt8], name: String) throws -> IDXArray {
        if bytes.isEmpty { throw DataError(name, "empty file, expected an IDX file") }
        guard bytes.count >= 4 else { throw DataError(name, "only \(bytes.count) bytes, expected an IDX header of at least 4") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataError(name, String(format: "bad IDX magic %02x %02x %02x %02x, expected 00 00 08 0N", bytes[0], bytes[1], bytes[2], bytes[3]))
        }
        guard bytes[2] == 0x08 else {
            throw DataError(name, String(format: "IDX element type 0x%02x is not supported, expected 0x08 (unsigned byte)", bytes[2]))
        }
        let nd = Int(bytes[3])
        guard (1...4).contains(nd) else { throw DataError(name, "IDX header declares \(nd) dimensions, expected 1 to 4") }
        let headerSize = 4 + 4 * nd
        guard bytes.count >= headerSize else { throw DataError(name, "truncated IDX header: \(bytes.count) bytes, expected \(headerSize)") }
        var dims: [Int] = []
        for i in 0..<nd {
            let o = 4 + 4 * i
            dims.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        let have = bytes.count - headerSize
        let count = try checkedDataBytes(dims, elementSize: 1, file: name)
        if have < count {
            throw DataError(name, "truncated: dimensions \(dims) need \(count) data bytes, file has \(have)")
        }
        if have > count {
            throw DataError(name, "\(have - count) unexpected bytes after the \(count) data bytes of dimensions \(dims)")
        }
        return IDXArray(dims: dims, data: Array(bytes[headerSize...]))
    }

    /// Images (N×rows×cols, or N×features) and labels (N), checked against each other.
    public static func readPair(images: String, labels: String, classes: Int?) throws -> Dataset {
        let im = try read(images)
        let lb = try read(labels)
        guard im.dims.count >= 2 else { throw DataError(images, "has dimensions \(im.dims), expected images N×rows×cols") }
        guard lb.dims.count == 1 else { throw DataError(labels, "has dimensions \(lb.dims), expected labels N") }
        guard im.dims[0] == lb.dims[0] else {
            throw DataError(labels, "has \(lb.dims[0]) labels but \(images) has \(im.dims[0]) images")
        }
        let n = im.dims[0]
        guard n > 0 else { throw DataError(images, "holds no images") }
        let d = im.dims.dropFirst().reduce(1, *)
        let maxLabel = Int(lb.data.max() ?? 0)
        let k = classes ?? (maxLabel + 1)
        if let bad = lb.data.firstIndex(where: { Int($0) >= k }) {
            throw DataError(labels, "label \(lb.data[bad]) at index \(bad) is out of range, expected 0..<\(k)")
        }
        var features = [Float](repeating: 0, count: n * d)
        im.data.withUnsafeBufferPointer { src in
            features.withUnsafeMutableBufferPointer { dst in
                for i in 0..<(n * d) { dst[i] = Float(src[i]) * (1.0 / 255.0) }
            }
        }
        let shape = im.dims.count == 3 ? [im.dims[1], im.dims[2]] : [d]
        return Dataset(features: features, labels: lb.data.map { Int32($0) }, dim: d, classes: k, shape: shape)
    }
}
