// swift-tools-version:6.0
import PackageDescription

// The development build (`swift build`, `swift test`): normal Swift mode on the system's glibc.
// The release binary is built from the same sources by the Makefile (`make static`,
// `make release`): Embedded Swift, linked fully static against musl, for x86_64 and aarch64;
// the Makefile says why that build calls swiftc and clang itself.
let package = Package(
    name: "usher",
    products: [.executable(name: "usher", targets: ["usher"])],
    targets: [
        .target(name: "CUsher"),
        // libyaml for `--config FILE`: the system's copy through pkg-config. The release build
        // compiles Debian's source of the same version for each machine (Makefile, LIBYAML_SRC).
        .systemLibrary(
            name: "CYAML", path: "Sources/CYAML", pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]),
        .target(name: "UsherCore", dependencies: ["CUsher", "CYAML"]),
        .executableTarget(name: "usher", dependencies: ["UsherCore"], exclude: ["release.ld"]),
        .testTarget(name: "UsherCoreTests", dependencies: ["UsherCore"]),
    ]
)
