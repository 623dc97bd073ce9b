// Target `config`: decodeConfig over the input as the bytes of a Pod-spec file (YAML or JSON,
// libyaml underneath). Every input parses to a plan the engine can run or gives an error of
// the form `FILE:LINE:COLUMN: message`.
import UsherCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    do {
        let plan = try decodeConfig(bytes, file: "pod.yaml")
        checkPlan(plan, "")
    } catch {
        checkConfigMessage(error.message, file: "pod.yaml", input: bytes)
    }
    return 0
}
