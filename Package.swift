// swift-tools-version:6.0
import PackageDescription
import Foundation

// `make static` sets USHER_EMBEDDED=1: the same sources are compiled in Embedded Swift mode
// (no runtime metadata, no existentials) and linked fully static, so the release binary runs
// in an empty root filesystem. The default (normal) mode is for development and tests.
let embedded = ProcessInfo.processInfo.environment["USHER_EMBEDDED"] == "1"
let toolchainLib = ProcessInfo.processInfo.environment["USHER_EMBEDDED_LIB"] ?? ""

let swiftSettings: [SwiftSetting] = embedded
    ? [.enableExperimentalFeature("Embedded"), .unsafeFlags(["-wmo", "-Osize", "-Xfrontend", "-function-sections"])]
    : []

// Linked by the toolchain's lld: --gc-sections drops unused functions (each in its own section),
// and release.ld drops the unwind tables (why: see that file).
let executableLinker: [LinkerSetting] = embedded
    ? [.unsafeFlags([
        "-Xclang-linker", "-static", "-use-ld=lld",
        "-L\(toolchainLib)", "-lswiftUnicodeDataTables", "-lm",
        "-Xlinker", "--gc-sections", "-Xlinker", "--no-eh-frame-hdr",
        "-Xlinker", "-T\(Context.packageDirectory)/Sources/usher/release.ld",
    ])]
    : []

var targets: [Target] = [
    .target(name: "CUsher"),
    // libyaml for `--config FILE`: the system's copy through pkg-config. The static link of the
    // release binary picks libyaml.a.
    .systemLibrary(
        name: "CYAML", path: "Sources/CYAML", pkgConfig: "yaml-0.1",
        providers: [.apt(["libyaml-dev"])]),
    .target(name: "UsherCore", dependencies: ["CUsher", "CYAML"], swiftSettings: swiftSettings),
    .executableTarget(
        name: "usher", dependencies: ["UsherCore"], exclude: ["release.ld"],
        swiftSettings: swiftSettings, linkerSettings: executableLinker),
]
if !embedded {
    targets.append(.testTarget(name: "UsherCoreTests", dependencies: ["UsherCore"]))
}

let package = Package(
    name: "usher",
    products: [.executable(name: "usher", targets: ["usher"])],
    targets: targets
)
