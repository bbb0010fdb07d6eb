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

    /// What an IDX header says, as the header of an array of unsigned bytes: its dimensions and where the data start.
    /// `b` holds at least the header; the caller checks the data's length (`NPYHeader.sizeProblem`).
    public static func header(_ b: UnsafeRawBufferPointer, name: String) throws -> NPYHeader {
        if b.isEmpty { throw DataError(name, "empty file, expected an IDX file") }
        guard b.count >= 4 else { throw DataError(name, "only \(b.count) bytes, expected an IDX header of at least 4") }
        guard b[0] == 0, b[1] == 0 else {
            throw DataError(name, String(format: "bad IDX magic %02x %02x %02x %02x, expected 00 00 08 0N", b[0], b[1], b[2], b[3]))
        }
        guard b[2] == 0x08 else {
            throw DataError(name, String(format: "IDX element type 0x%02x is not supported, expected 0x08 (unsigned byte)", b[2]))
        }
        let nd = Int(b[3])
        guard (1...4).contains(nd) else { throw DataError(name, "IDX header declares \(nd) dimensions, expected 1 to 4") }
        let headerSize = 4 + 4 * nd
        guard b.count >= headerSize else { throw DataError(name, "truncated IDX header: \(b.count) bytes, expected \(headerSize)") }
        let dims = (0..<nd).map { i -> Int in
            let o = 4 + 4 * i
            return Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3])
        }
        let count = try checkedDataBytes(dims, elementSize: 1, file: name)
        return NPYHeader(dtype: .uint8, shape: dims, dataStart: headerSize, count: count, elementSize: 1)
    }

    public static func parse(_ bytes: [UInt8], name: String) throws -> IDXArray {
        let h = try bytes.withUnsafeBytes { try header($0, name: name) }
        let have = bytes.count - h.dataStart
        if have < h.count {
            throw DataError(name, "truncated: dimensions \(h.shape) need \(h.count) data bytes, file has \(have)")
        }
        if have > h.count {
            throw DataError(name, "\(have - h.count) unexpected bytes after the \(h.count) data bytes of dimensions \(h.shape)")
        }
        return IDXArray(dims: h.shape, data: Array(bytes[h.dataStart...]))
    }

    /// Images (N×rows×cols, or N×features) and labels (N), checked against each other; pixels divided by 255.
    public static func readPair(images: String, labels: String, classes: Int?) throws -> Dataset {
        let (d, rows) = try openPair(images: images, labels: labels, classes: classes)
        return try d.readingEveryRow(from: rows)
    }

    /// The labels of an images/labels pair, checked against the images' header, with the images still in their file
    /// (`ArrayRows`): a dataset of no features yet, for a rank that reads only the rows it trains on.
    public static func openPair(images: String, labels: String, classes: Int?) throws -> (Dataset, ArrayRows) {
        let im = try ArrayRows(images, format: .idx)
        let lb = try read(labels)
        guard im.shape.count >= 2 else { throw DataError(images, "has dimensions \(im.shape), expected images N×rows×cols") }
        guard lb.dims.count == 1 else { throw DataError(labels, "has dimensions \(lb.dims), expected labels N") }
        guard im.shape[0] == lb.dims[0] else {
            throw DataError(labels, "has \(lb.dims[0]) labels but \(images) has \(im.shape[0]) images")
        }
        guard im.rowCount > 0 else { throw DataError(images, "holds no images") }
        let maxLabel = Int(lb.data.max() ?? 0)
        let k = classes ?? (maxLabel + 1)
        if let bad = lb.data.firstIndex(where: { Int($0) >= k }) {
            throw DataError(labels, "label \(lb.data[bad]) at index \(bad) is out of range, expected 0..<\(k)")
        }
        let shape = im.shape.count == 3 ? [im.shape[1], im.shape[2]] : [im.rowLength]
        return (Dataset(withoutFeatures: lb.data.map { Int32($0) }, dim: im.rowLength, classes: k, shape: shape), im)
    }
}
