import Foundation

/// The rows of a binary array file, read on demand (`FileRows`): a `.npy` array (rows along its first dimension) or an
/// IDX file of unsigned bytes (MNIST's images, each divided by 255 as `IDXReader` does). A plain file is read by `pread`
/// of the rows asked for only, a gzip one decompressed once. Every row read is checked to be finite.
public final class ArrayRows: FileRows {
    public enum Format {
        /// NumPy; with `vectorsOfLastDimension` a row is a vector along the last dimension (a cube's pixel, its spectrum).
        case npy(vectorsOfLastDimension: Bool)
        /// IDX, type 0x08 (unsigned byte); values divided by 255.
        case idx

        /// The header's length from the file's first 12 bytes (NPY: its length field; IDX: the dimension count).
        func headerLength(_ head: [UInt8]) -> Int {
            switch self {
            case .npy:
                let major = head.count > 6 ? head[6] : 0
                let lenBytes = major == 1 ? 2 : 4
                let claimed = head.count >= 8 + lenBytes ? (0..<lenBytes).reduce(0) { $0 | Int(head[8 + $1]) << (8 * $1) } : 0
                return 8 + lenBytes + claimed
            case .idx:
                return head.count >= 4 ? 4 + 4 * Int(head[3]) : head.count
            }
        }

        /// The header in `b` (which holds at least all of it), as an array's.
        func header(_ b: UnsafeRawBufferPointer, name: String) throws -> NPYHeader {
            switch self {
            case .npy: return try NPYReader.header(b, name: name)
            case .idx: return try IDXReader.header(b, name: name)
            }
        }

        /// What each value is divided by.
        var divisor: Float { if case .idx = self { return 255 } else { return 1 } }

        var vectorsOfLastDimension: Bool { if case .npy(let v) = self { return v } else { return false } }
    }

    public let path: String
    /// The array's element type, shape and where its data start (an IDX file's as an array of uint8).
    public let header: NPYHeader
    public var shape: [Int] { header.shape }
    /// Values per row: the product of every dimension but the first, or with `vectorsOfLastDimension` the last one
    /// (a cube's pixels, each a spectrum).
    public let rowLength: Int
    /// How many rows the array holds.
    public let rowCount: Int
    /// Bytes of the file read so far (the header, and the rows asked for); a gzip file counts whole.
    public private(set) var bytesRead = 0
    public let fileBytes: Int
    /// What each value read is divided by (255 for IDX, 1 for NPY).
    let divisor: Float
    private let fd: Int32
    private let decompressed: [UInt8]?

    /// A `.npy` file's rows.
    public convenience init(_ path: String, vectorsOfLastDimension: Bool = false) throws {
        try self.init(path, format: .npy(vectorsOfLastDimension: vectorsOfLastDimension))
    }

    public init(_ path: String, format: Format) throws {
        self.path = path
        try requireFile(path)
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DataError(path, "cannot open for reading (\(String(cString: strerror(errno))))") }
        var st = stat()
        fstat(fd, &st)
        fileBytes = Int(st.st_size)
        var head = [UInt8](repeating: 0, count: min(fileBytes, 12))
        let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        if n >= 2 && head[0] == 0x1F && head[1] == 0x8B {
            close(fd)
            self.fd = -1
            let bytes = try readFileBytes(path)
            decompressed = bytes
            bytesRead = fileBytes
            header = try bytes.withUnsafeBytes { try format.header($0, name: path) }
            guard bytes.count - header.dataStart == header.count * header.elementSize else {
                throw DataError(path, header.sizeProblem(dataBytes: bytes.count - header.dataStart))
            }
        } else {
            self.fd = fd
            decompressed = nil
            // The header's length is in its first 12 bytes; then the whole header.
            var whole = [UInt8](repeating: 0, count: min(fileBytes, format.headerLength(head)))
            let m = whole.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            whole.removeLast(whole.count - max(m, 0))
            bytesRead = whole.count
            do {
                header = try whole.withUnsafeBytes { try format.header($0, name: path) }
                guard fileBytes - header.dataStart == header.count * header.elementSize else {
                    throw DataError(path, header.sizeProblem(dataBytes: fileBytes - header.dataStart))
                }
            } catch { close(fd); throw error }
        }
        divisor = format.divisor
        rowLength = format.vectorsOfLastDimension ? (header.shape.last ?? 1) : header.shape.dropFirst().reduce(1, *)
        rowCount = rowLength > 0 ? header.count / rowLength : (header.shape.first ?? 0)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// The rows at `positions`, in that order, one after another; runs of consecutive rows are read at once.
    public func read(_ positions: [Int]) throws -> [Float] {
        let rowBytes = rowLength * header.elementSize
        var out = [Float](repeating: 0, count: positions.count * rowLength)
        var scratch = [UInt8]()
        var k = 0
        try out.withUnsafeMutableBufferPointer { o in
            while k < positions.count {
                // The longest run of consecutive rows from here, at most 8 MB at once.
                var run = 1
                while k + run < positions.count, positions[k + run] == positions[k] + run, (run + 1) * rowBytes <= 8 << 20 { run += 1 }
                let first = positions[k]
                precondition(first >= 0 && first + run <= rowCount, "ArrayRows: row \(first) of \(rowCount)")
                let offset = header.dataStart + first * rowBytes
                let into = o.baseAddress! + k * rowLength
                if let bytes = decompressed {
                    bytes.withUnsafeBytes { header.decode($0.baseAddress! + offset, count: run * rowLength, into: into) }
                } else {
                    if scratch.count < run * rowBytes { scratch = [UInt8](repeating: 0, count: run * rowBytes) }
                    let got = scratch.withUnsafeMutableBytes { pread(fd, $0.baseAddress, run * rowBytes, off_t(offset)) }
                    guard got == run * rowBytes else {
                        throw DataError(path, "read failed at row \(first): \(got < 0 ? String(cString: strerror(errno)) : "the file shrank while reading")")
                    }
                    bytesRead += got
                    scratch.withUnsafeBytes { header.decode($0.baseAddress!, count: run * rowLength, into: into) }
                }
                if divisor != 1 {
                    let inverse = 1 / divisor  // as `Dataset.scale(by:)` and `IDXReader` divide
                    for i in 0..<(run * rowLength) { into[i] *= inverse }
                }
                if let bad = (0..<(run * rowLength)).first(where: { !into[$0].isFinite }) {
                    throw DataError(path, "contains NaN or infinite values (row \(first + bad / rowLength), counted from 0)")
                }
                k += run
            }
        }
        return out
    }
}
