/// FNV-1a, 64-bit: the one digest of ssl-dist (parameters across ranks, data and configurations across ranks,
/// checkpoint payloads). Not cryptographic; equal inputs give equal digests on every machine.
public struct FNV1a {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    public init() {}

    public mutating func add(_ byte: UInt8) { value = (value ^ UInt64(byte)) &* 0x100_0000_01B3 }
    public mutating func add(_ word: UInt64) { value = (value ^ word) &* 0x100_0000_01B3 }
    public mutating func add<S: Sequence>(bytes: S) where S.Element == UInt8 { for b in bytes { add(b) } }
    /// Every float's bit pattern, one word each.
    public mutating func add(_ floats: UnsafeBufferPointer<Float>) { for f in floats { add(UInt64(f.bitPattern)) } }

    public static func hash<S: Sequence>(bytes: S) -> UInt64 where S.Element == UInt8 {
        var h = FNV1a(); h.add(bytes: bytes); return h.value
    }
}
