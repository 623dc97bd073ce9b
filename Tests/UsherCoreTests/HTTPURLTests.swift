import Glibc
import Testing
@testable import UsherCore

/// Runs an HTTPCheck against a peer that answers `response` and closes, over a socket pair (no
/// network needed), and returns its outcome.
private func checkOutcome(response: String) -> HTTPCheck.Outcome? {
    var fds: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { return nil }
    defer { close(fds[1]) }
    let bytes = Array(response.utf8)
    _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
    shutdown(fds[1], Int32(SHUT_WR))
    var check = HTTPCheck(url: HTTPURL("http://127.0.0.1:8080/")!, headers: [], fd: fds[0], startedAt: 0)
    defer { close(fds[0]) }
    for _ in 0..<100 {
        if let outcome = check.progress() { return outcome }
    }
    return nil
}

@Suite struct HTTPURLs {
    @Test func parses() {
        let u = HTTPURL("http://127.0.0.1:8080/healthz?x=1")
        #expect(u?.host == "127.0.0.1" && u?.port == 8080 && u?.path == "/healthz?x=1")
        #expect(u?.address == 0x0100007F, "network byte order")
        #expect(HTTPURL("http://localhost")?.port == 80)
        #expect(HTTPURL("http://localhost")?.path == "/")
        #expect(HTTPURL("http://10.1.2.3:1/")?.address == 0x0302010A)
    }

    @Test(arguments: ["https://127.0.0.1/", "127.0.0.1:80", "http://example.com/", "http://1.2.3/",
                      "http://1.2.3.256/", "http://127.0.0.1:0/", "http://127.0.0.1:70000/", "http://127.0.0.1:/",
                      "http://:80/", "http://127.0.0.1/a b", "http://127.0.0.1/a\r\nX: y"])
    func rejects(text: String) {
        #expect(HTTPURL(text) == nil)
    }

    @Test func statusLines() {
        #expect(parseStatusLine(Array("HTTP/1.1 204 No Content\r\n".utf8)) == .status(204))
        #expect(parseStatusLine(Array("HTTP/1.0 503 Busy\r\nX: y".utf8)) == .status(503))
        #expect(parseStatusLine(Array("HTTP/1.1 200 OK".utf8)) == .incomplete, "not complete yet")
        #expect(parseStatusLine(Array("SSH-2.0-OpenSSH\r\n".utf8)) == .malformed)
    }

    /// The status code is exactly three digits, as Go's net/http (and so the kubelet) reads it:
    /// `2000` is no 200, and neither is `20` or `2x0`. The reason phrase is optional.
    @Test func statusCodeIsExactlyThreeDigits() {
        #expect(parseStatusLine(Array("HTTP/1.1 2000 OK\r\n".utf8)) == .malformed)
        #expect(parseStatusLine(Array("HTTP/1.1 2000\r\n".utf8)) == .malformed)
        #expect(parseStatusLine(Array("HTTP/1.1 20\r\n".utf8)) == .malformed)
        #expect(parseStatusLine(Array("HTTP/1.1 2x0 OK\r\n".utf8)) == .malformed)
        #expect(parseStatusLine(Array("HTTP/1.1 +20 OK\r\n".utf8)) == .malformed)
        #expect(parseStatusLine(Array("HTTP/1.1 200\r\n".utf8)) == .status(200), "no reason phrase")
        #expect(parseStatusLine(Array("HTTP/1.1 200\n".utf8)) == .status(200), "a bare LF ends the line too")
        #expect(parseStatusLine(Array("HTTP/1.1 302 Found\r\n".utf8)) == .status(302))
        #expect(parseStatusLine(Array("HTTP/1.1  200 OK\r\n".utf8)) == .status(200), "Go skips extra blanks before the code")
        #expect(parseStatusLine(Array("HTTP/2 200 OK\r\n".utf8)) == .malformed, "not an HTTP/X.Y version")
        #expect(parseStatusLine(Array("HTTP/1.1200 OK\r\n".utf8)) == .malformed)
    }

    /// The rehearsal's request prober and the httpGet probe read statuses with the same parser:
    /// an HTTPCheck over a socket pair fails a `2000` response as the kubelet does.
    @Test func theProbeCheckFailsAFourDigitStatus() {
        #expect(checkOutcome(response: "HTTP/1.1 2000 OK\r\n\r\n") == .failed("malformed HTTP status line"))
        #expect(checkOutcome(response: "HTTP/1.1 204 No Content\r\n\r\n") == .passed(204))
    }
}
