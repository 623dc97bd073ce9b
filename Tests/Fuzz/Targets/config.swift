// Target `config`: decodeConfig over the input as the bytes of a Pod-spec file (YAML or JSON,
// libyaml underneath). Every input parses to a plan the engine can run (within exec's size
// bounds, see checkPlan) or gives an error of the form `FILE:LINE:COLUMN: message`, and it does
// so within a time budget: alias and `$(VAR)` bombs must be refused early, not worked through.
// (fuzz.sh's -rss_limit_mb=2048 is the memory budget, -timeout=5 the last resort.)
import UsherCore

/// Seconds one decode may take, seeds of a megabyte included, under ASan on a busy machine.
private let budget = 2.0

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    let start = monotonicSeconds()
    defer {
        let took = monotonicSeconds() - start
        if took > budget { broken("decodeConfig took \(took) s for \(bytes.count) bytes (budget \(budget) s)") }
    }
    do {
        let plan = try decodeConfig(bytes, file: "pod.yaml")
        checkPlan(plan, "")
    } catch {
        checkConfigMessage(error.message, file: "pod.yaml", input: bytes)
    }
    return 0
}
