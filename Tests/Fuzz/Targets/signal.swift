// Target `signal`: parseSignal (`SIGTERM`, `term`, `15`). A result is a signal this system can
// deliver, and its name parses back to the same number.
import Glibc
import UsherCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: inputBytes(data, size), as: UTF8.self)
    guard let n = parseSignal(text) else { return 0 }
    if n < 1 || n > 64 { broken("signal \(n) out of range", text.debugDescription) }
    let name = signalName(n)
    if parseSignal(name) != n && parseSignal("\(n)") != n {
        broken("signal \(n) named \(name) does not parse back", text.debugDescription)
    }
    return 0
}
