// Target `envfile`: parseEnvFile (`--env-file`, `fileKeyRef`). Every entry it returns has a key
// of printable ASCII without blanks or '=', and an error never quotes the file's text (it may
// hold secrets): only line numbers and the rule broken.
import UsherCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    do {
        for (key, _) in try parseEnvFile(bytes) {
            let k = Array(key.utf8)
            if k.isEmpty || k.count > 128 || !k.allSatisfy({ $0 > 32 && $0 < 127 && $0 != 61 }) {
                broken("a key that Kubernetes would refuse: \(key.debugDescription)", String(decoding: bytes, as: UTF8.self).debugDescription)
            }
        }
    } catch {
        let allowed = Array("line 0123456789: is not KEY=VALUE the key printable ASCII without blanks, 1 to 128 characters".utf8)
        if !error.message.utf8.allSatisfy({ allowed.contains($0) }) {
            broken("an error that may quote the file: \(error.message)", String(decoding: bytes, as: UTF8.self).debugDescription)
        }
    }
    return 0
}
