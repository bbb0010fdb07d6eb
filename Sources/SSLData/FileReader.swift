import CZlib
import Foundation

/// Throws unless `path` names a file (not a directory): what every reader checks before opening it. Returns the
/// file's size in bytes, a symbolic link's target's.
@discardableResult
func requireFile(_ path: String) throws -> Int {
    var st = stat()
    guard stat(path, &st) == 0 else { throw DataError(path, "no such file") }
    if (st.st_mode & S_IFMT) == S_IFDIR { throw DataError(path, "is a directory, expected a file") }
    return Int(st.st_size)
}

/// Reads a whole file, gunzipping it when it is gzip-compressed (zlib reads plain files as they are).
public func readFileBytes(_ path: String) throws -> [UInt8] {
    try requireFile(path)
    guard let f = gzopen(path, "rb") else { throw DataError(path, "cannot open for reading (\(String(cString: strerror(errno))))") }
    defer { gzclose(f) }
    gzbuffer(f, 1 << 20)
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { gzread(f, $0.baseAddress, UInt32($0.count)) }
        if n < 0 {
            var err: Int32 = 0
            let msg = String(cString: gzerror(f, &err))
            throw DataError(path, "read failed: \(msg) (a truncated or corrupt gzip file?)")
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<Int(n)])
    }
    return out
}

/// The data bytes of a header's `dims` times `elementSize`, checked: every product of trailing dimensions (the
/// readers also take the product of all dimensions but the first) must fit an Int, so a damaged or hostile header
/// ends in an error naming `file`, never an overflow trap. The caller compares the result with the file's size.
public func checkedDataBytes(_ dims: [Int], elementSize: Int, file: String) throws -> Int {
    var total = elementSize
    for d in dims.reversed() {
        let (p, overflow) = total.multipliedReportingOverflow(by: d)
        guard d >= 0, !overflow else {
            throw DataError(file, "the header's shape \(dims) is too large to be data in a file (a damaged or wrong header)")
        }
        total = p
    }
    return total
}
