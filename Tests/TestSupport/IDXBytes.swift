/// An IDX file's bytes: magic 0x00 0x00, the element `type` (0x08: unsigned byte), the dimension count, big-endian
/// sizes, then `data` as given.
public func idxBytes(type: UInt8 = 8, dims: [Int], data: [UInt8]) -> [UInt8] {
    var b: [UInt8] = [0, 0, type, UInt8(dims.count)]
    for d in dims { b += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
    return b + data
}
