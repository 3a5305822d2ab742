// swift-tools-version:6.0
// Fuzz targets for sluice's pure modules, kept out of the main package so that its `swift build`
// and `swift test` never see them. Sources/HTTP1, Sources/Config, Sources/ProxyProtocol, Sources/HTTP2
// and Sources/CNGHTTP2 here are symlinks to the main package's folders (SwiftPM refuses a target path
// outside the package root, but follows a link).
// Build and run with tools/fuzz.sh, which builds with
//   swift build -c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// (not `--sanitize fuzzer --sanitize address`: swiftc keeps only the last -sanitize= flag).
import PackageDescription

let package = Package(
    name: "sluice-fuzz",
    targets: [
        .target(name: "HTTP1", path: "Sources/HTTP1"),
        .target(name: "Config", path: "Sources/Config"),
        .target(name: "ProxyProtocol", path: "Sources/ProxyProtocol"),
        .systemLibrary(name: "CNGHTTP2", path: "Sources/CNGHTTP2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .target(name: "HTTP2", dependencies: ["CNGHTTP2", "HTTP1"], path: "Sources/HTTP2"),
        // Byte helpers and invariant checks shared by the targets.
        .target(name: "FuzzSupport", dependencies: ["HTTP1"]),
        .executableTarget(name: "FuzzRequestHead", dependencies: ["HTTP1", "FuzzSupport"]),
        .executableTarget(name: "FuzzResponseHead", dependencies: ["HTTP1", "FuzzSupport"]),
        .executableTarget(name: "FuzzChunked", dependencies: ["HTTP1", "FuzzSupport"]),
        .executableTarget(name: "FuzzConfig", dependencies: ["Config"]),
        .executableTarget(name: "FuzzProxyProtocol", dependencies: ["ProxyProtocol", "FuzzSupport"]),
        .executableTarget(name: "FuzzHTTP2", dependencies: ["HTTP2", "HTTP1", "FuzzSupport"]),
    ]
)
