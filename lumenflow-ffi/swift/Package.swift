// swift-tools-version:5.9
// LumenFlow for Swift: the generated bindings (Sources/LumenFlow) over the Rust library.
// Run ./scripts/swift-package.sh first: it builds the library and generates the sources
// (and, with --xcframework on macOS, LumenFlowFFI.xcframework). See README.md here.
import PackageDescription

#if os(Linux)
// Linux: the shared library liblumenflow_ffi.so, found through the module map's `link`
// (swift build -Xlinker -L<dir of the .so>; LD_LIBRARY_PATH at run time).
let ffi: Target = .systemLibrary(name: "LumenFlowFFI", path: "Sources/LumenFlowFFI")
#else
// Apple platforms: static libraries for macOS, iOS and the simulator in one XCFramework.
let ffi: Target = .binaryTarget(name: "LumenFlowFFI", path: "LumenFlowFFI.xcframework")
#endif

let package = Package(
    name: "LumenFlow",
    platforms: [.macOS(.v12), .iOS(.v15)],
    products: [
        .library(name: "LumenFlow", targets: ["LumenFlow"]),
    ],
    targets: [
        ffi,
        .target(name: "LumenFlow", dependencies: ["LumenFlowFFI"], path: "Sources/LumenFlow"),
        .testTarget(name: "LumenFlowTests", dependencies: ["LumenFlow"], path: "Tests/LumenFlowTests"),
    ]
)
