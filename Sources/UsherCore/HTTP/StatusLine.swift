/// What the start of an HTTP response says, read as Go's net/http (and so the kubelet) reads it:
/// `HTTP/X.Y`, blanks, a status code of exactly three digits, then a blank or the end of the
/// line (`HTTP/1.1 2000 OK` is malformed, not 200). One parser for the httpGet probes and the
/// requests of `rehearse --probe`, which both go through HTTPCheck.
public enum StatusLine: Equatable {
    /// The first line has not fully arrived.
    case incomplete
    case malformed
    case status(Int)
}

public func parseStatusLine(_ head: [UInt8]) -> StatusLine {
    guard var end = head.firstIndex(of: 10) else { return .incomplete }
    if end > 0 && head[end - 1] == 13 { end -= 1 }  // CR LF, or a bare LF as Go takes it too
    // Byte by byte by index: the release binary is smaller so than with slices.
    func isDigit(_ i: Int) -> Bool { i < end && head[i] >= 48 && head[i] <= 57 }
    // The version: HTTP/X.Y with one digit each (Go's ParseHTTPVersion), then a blank.
    guard end > 8, head[0] == 72, head[1] == 84, head[2] == 84, head[3] == 80, head[4] == 47, isDigit(5), head[6] == 46,
          isDigit(7), head[8] == 32
    else { return .malformed }
    var i = 9
    while i < end && head[i] == 32 { i += 1 }
    var codeEnd = i
    while codeEnd < end && head[codeEnd] != 32 { codeEnd += 1 }  // the code: up to the next blank
    guard codeEnd - i == 3, let code = plainDecimal(head[i..<codeEnd], maxDigits: 3) else { return .malformed }
    return .status(code)
}
