// Target `httpurl`: HTTPURL, the `http://IP:PORT/PATH` of probes and `rehearse --probe`. A URL
// that parses has a port, an address for its host, a path fit for a request line, and reads
// back the same from its parts.
import UsherCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: inputBytes(data, size), as: UTF8.self)
    guard let url = HTTPURL(text) else { return 0 }
    checkURL(url, text.debugDescription)
    let again = HTTPURL("http://\(url.host):\(url.port)\(url.path)")
    if again != url { broken("URL does not read back from its parts: \(url)", text.debugDescription) }
    return 0
}
