// swift-tools-version:6.0
import PackageDescription

// Hot loops are written trap-free (wrapping integer ops, explicit bounds); exclusivity checks in the inner loops
// cost more than they protect. On x86-64 the elementwise kernels (likelihoods, activations, Adam, bf16 rounding)
// are compiled for Haswell's instruction set (AVX2 + FMA, x86-64-v3: every x86 server CPU since 2013) instead of the SSE2 baseline.
#if arch(x86_64)
let cpuFlags = ["-target-cpu", "haswell"]
#else
let cpuFlags: [String] = []
#endif
let optimize: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"] + cpuFlags),
]

let package = Package(
    name: "ssl-dist",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ssl-dist", targets: ["ssl-dist"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // MARK: - System libraries (Debian packages installed by `make deps`)
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // oneDNN ships no pkg-config file; its headers are in /usr/include/oneapi/dnnl.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),

        // MARK: - Library targets
        // C kernels, each compiled for its instruction set: register-only FMA probes of the CPU's peak, the Adam update; strtod in the C locale for CSV cells.
        .target(name: "CKernels"),
        .target(name: "SSLCore", dependencies: ["CBLAS", "CDNNL", "CKernels"], swiftSettings: optimize),
        .target(name: "SSLData", dependencies: ["SSLCore", "CZlib", "CKernels"], swiftSettings: optimize),
        .target(name: "SSLDistributed", dependencies: ["CMPI"]),
        .target(name: "SSLCheckpoint", dependencies: ["CZstd", "CZlib"]),
        // Generated from proto/tensorboard_event.proto by `make proto` (committed).
        .target(name: "SSLTensorBoard", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(name: "SSLTraining", dependencies: ["SSLCore", "SSLData", "SSLDistributed", "SSLCheckpoint", "SSLTensorBoard", "CPNG", "CKernels",
                                                   .product(name: "TOMLKit", package: "TOMLKit")], swiftSettings: optimize),
        // The face-template EM of `ssl-dist template`: not a semi-supervised model, so a target of its own.
        .target(name: "SSLTemplate", dependencies: ["SSLCore", "SSLData", "SSLDistributed"], swiftSettings: optimize),
        .executableTarget(
            name: "ssl-dist",
            dependencies: ["SSLTraining", "SSLTemplate", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // MARK: - Tests
        .target(name: "TestSupport", dependencies: ["SSLCore", "SSLData"], path: "Tests/TestSupport"),
        .testTarget(name: "SSLCoreTests", dependencies: ["SSLCore", "CKernels", "TestSupport"]),
        .testTarget(name: "SSLDataTests", dependencies: ["SSLData", "TestSupport"]),
        .testTarget(name: "SSLTrainingTests", dependencies: ["SSLTraining", "SSLTensorBoard", "SSLData", "SSLCore", "TestSupport"]),
        .testTarget(name: "SSLTemplateTests", dependencies: ["SSLTemplate", "SSLTraining", "SSLData", "SSLCore", "TestSupport"]),
        .testTarget(name: "SSLDistributedTests", dependencies: ["SSLDistributed", "SSLData", "TestSupport"]),
        // Fixtures are read from the source tree by path (#filePath), not bundled.
        .testTarget(name: "SSLCheckpointTests", dependencies: ["SSLCheckpoint", "SSLCore", "SSLTraining", "SSLDistributed", "TestSupport", "CZlib"],
                    exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v5]
)
