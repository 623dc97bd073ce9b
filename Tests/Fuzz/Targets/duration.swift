// Target `duration`: parseDuration (`500ms`, `1m30s`, a bare number of seconds). A result is
// never negative, and formatting it back (the log's form) does not trap.
import UsherCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: inputBytes(data, size), as: UTF8.self)
    guard let d = parseDuration(text) else { return 0 }
    if d < 0 { broken("negative duration \(d)", text.debugDescription) }
    let shown = formatDuration(d)
    _ = formatSeconds(d)
    // Whole milliseconds print exactly, so they read back as the same duration.
    if d % 1_000_000 == 0, parseDuration(shown) != d {
        broken("\(d) formats as \(shown), which does not parse back", text.debugDescription)
    }
    return 0
}
