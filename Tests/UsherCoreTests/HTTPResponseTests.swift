import Glibc
import Testing
@testable import UsherCore

/// httpGet verdicts as the kubelet's Go client reaches them (kubernetes/kubernetes
/// pkg/probe/http/http.go).
@Suite struct ResponseHeads {
    func read(_ text: String, inPiecesOf size: Int = 1 << 20) -> ResponseHead.Reading {
        var head = ResponseHead()
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let r = head.read(bytes[i..<min(i + size, bytes.count)])
            if r != .more { return r }
            i += size
        }
        return .more
    }

    @Test func theVerdictWaitsForTheEndOfTheHeaders() {
        #expect(read("HTTP/1.1 200 OK\r\n") == .more, "a status line alone is not a response yet")
        #expect(read("HTTP/1.1 200 OK\r\nX-A: 1\r\nX-B: 2\r\n") == .more)
        #expect(read("HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nbody") == .response(200, location: nil))
        #expect(read("HTTP/1.1 204 No Content\n\n") == .response(204, location: nil), "bare LFs")
        #expect(read("HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n", inPiecesOf: 1) == .response(200, location: nil))
    }

    @Test func informationalResponsesAreSkipped() {
        #expect(read("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n") == .response(200, location: nil))
        #expect(read("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 503 Busy\r\n\r\n") == .response(503, location: nil))
        #expect(read("HTTP/1.1 100 Continue\r\n\r\n") == .more, "the final response has not come")
        #expect(read("HTTP/1.1 101 Switching Protocols\r\n\r\n") == .response(101, location: nil), "101 is final in Go")
        let five = String(repeating: "HTTP/1.1 100 Continue\r\n\r\n", count: 5)
        #expect(read(five + "HTTP/1.1 200 OK\r\n\r\n") == .response(200, location: nil))
        #expect(read(five + "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n") == .failed("too many 1xx informational responses"))
    }

    @Test func theFirstLocationIsKept() {
        #expect(read("HTTP/1.1 302 Found\r\nlocation:  /next \r\nLocation: /other\r\n\r\n") == .response(302, location: Array("/next".utf8)))
        #expect(read("HTTP/1.1 302 Found\r\nX-Location: /no\r\n\r\n") == .response(302, location: nil))
        #expect(read("HTTP/1.1 302 Found\r\nLocation:\r\n\r\n") == .response(302, location: []))
    }

    @Test func malformedHeads() {
        #expect(read("HTTP/1.1 2000 OK\r\n\r\n") == .failed("malformed HTTP status line"))
        #expect(read("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n") == .failed("malformed HTTP header line"))
        #expect(read("HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\n\r\n") == .response(200, location: nil), "a continuation line")
        var head = ResponseHead()
        #expect(head.read(Array("HTTP/1.1 200 OK\r\n".utf8)[...]) == .more)
        let line = Array(("X-Long: " + String(repeating: "a", count: 1 << 20) + "\r\n").utf8)
        var result = ResponseHead.Reading.more
        for _ in 0..<11 where result == .more { result = head.read(line[...]) }
        #expect(result == .failed("the response's headers are larger than 10 MiB"), "Go's MaxResponseHeaderBytes")
    }
}

@Suite struct Redirects {
    let base = HTTPURL("http://127.0.0.1:8080/health/live?full=1")!

    func to(_ location: String, hostname: String = "127.0.0.1") -> Redirect {
        redirect(to: Array(location.utf8), from: base, hostname: hostname)
    }

    func follow(_ text: String, keepsHost: Bool) -> Redirect {
        .follow(HTTPURL(text)!, keepsHost: keepsHost)
    }

    @Test func relativeLocationsResolveAsGoResolvesThem() {
        #expect(to("/ok") == follow("http://127.0.0.1:8080/ok", keepsHost: true))
        #expect(to("ready") == follow("http://127.0.0.1:8080/health/ready", keepsHost: true))
        #expect(to("../ready?x=2#frag") == follow("http://127.0.0.1:8080/ready?x=2", keepsHost: true))
        #expect(to("./") == follow("http://127.0.0.1:8080/health/", keepsHost: true))
        #expect(to("?q") == follow("http://127.0.0.1:8080/health/live?q", keepsHost: true))
        #expect(to("//127.0.0.1:9090/x") == follow("http://127.0.0.1:9090/x", keepsHost: true))
    }

    @Test func theSameHostNameIsFollowedOnAnyPort() {
        #expect(to("http://127.0.0.1:9090/a/./b/../c") == follow("http://127.0.0.1:9090/a/c", keepsHost: false))
        #expect(to("HTTP://127.0.0.1/") == follow("http://127.0.0.1/", keepsHost: false))
        #expect(to("http://user@127.0.0.1:8080") == follow("http://127.0.0.1:8080/", keepsHost: false))
    }

    /// RedirectChecker compares host names as strings: 127.0.0.1 is not localhost.
    @Test func anotherHostNameEndsTheChain() {
        #expect(to("http://127.0.0.2:8080/") == .otherHost)
        #expect(to("http://localhost:8080/") == .otherHost)
        #expect(to("https://example.com/") == .otherHost)
        #expect(to("//[::1]:8080/") == .otherHost)
        #expect(to("http://localhost:8080/", hostname: "localhost") == follow("http://localhost:8080/", keepsHost: false))
    }

    @Test func whatCannotBeFollowed() {
        #expect(to("https://127.0.0.1/") == .unusable("a redirect to https, which usher cannot follow"))
        #expect(to("http:/nohost") == .unusable("the redirect's Location has no host"))
        #expect(to("/a b") == .unusable("the redirect's Location is not a URL usher can follow"))
    }

    @Test func resolvePathIsGos() {
        func r(_ base: String, _ ref: String) -> String {
            String(decoding: resolvePath(Array(base.utf8), Array(ref.utf8)), as: UTF8.self)
        }
        #expect(r("/a/b", "c") == "/a/c")
        #expect(r("/a/b/", "c") == "/a/b/c")
        #expect(r("/a/b", "../../../c") == "/c")
        #expect(r("/a/b", "..") == "/")
        #expect(r("/a/b/c", ".") == "/a/b/")
        #expect(r("/a/b", "") == "/a/b")
        #expect(r("", "") == "/")
    }
}

/// Runs an HTTPCheck (asked by `asker`) against a peer that answers `response` and closes,
/// over a socket pair (no network needed), and returns its outcome; nil while it needs more.
private func outcome(_ response: String, asker: HTTPCheck.Asker = .probe, close: Bool = true) -> HTTPCheck.Outcome? {
    var fds: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { return nil }
    defer { Glibc.close(fds[1]) }
    _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
    let bytes = Array(response.utf8)
    _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
    if close { shutdown(fds[1], Int32(SHUT_WR)) }
    var check = HTTPCheck(url: HTTPURL("http://127.0.0.1:8080/")!, headers: [], asker: asker, fd: fds[0], startedAt: 0)
    defer { Glibc.close(check.fd) }
    for _ in 0..<100 {
        if let outcome = check.progress() { return outcome }
    }
    return nil
}

@Suite struct ProbeVerdicts {
    @Test func aContinueThenTheRealResponse() {
        #expect(outcome("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n") == .passed(200))
        #expect(outcome("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\n\r\n") == .failed("HTTP 503"))
    }

    @Test func headersThatDoNotEndGiveNoVerdict() {
        #expect(outcome("HTTP/1.1 200 OK\r\nX-Slow: 1\r\n", close: false) == nil, "the timeout decides")
        #expect(outcome("HTTP/1.1 200 OK\r\nX-Slow: 1\r\n") == .failed("connection closed before a response"))
    }

    /// RedirectChecker: another host ends the chain with the redirect, a success; a redirect
    /// without a Location is a response like any other; hooks and rehearsals never follow.
    @Test func redirectsThatAreNotFollowed() {
        #expect(outcome("HTTP/1.1 302 Found\r\nLocation: http://10.9.9.9/\r\n\r\n") == .passed(302))
        #expect(outcome("HTTP/1.1 302 Found\r\n\r\n") == .passed(302))
        #expect(outcome("HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1/\r\n\r\n") == .failed("a redirect to https, which usher cannot follow"))
        #expect(outcome("HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n", asker: .rehearsal) == .passed(301))
        #expect(outcome("HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n", asker: .hook) == .passed(301))
        #expect(outcome("HTTP/1.1 300 Choices\r\nLocation: /x\r\n\r\n") == .passed(300), "Go follows 301, 302, 303, 307 and 308 only")
    }
}
