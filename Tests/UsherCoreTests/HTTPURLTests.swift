import Testing
@testable import UsherCore

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
        #expect(httpStatus(Array("HTTP/1.1 204 No Content\r\n".utf8)) == 204)
        #expect(httpStatus(Array("HTTP/1.0 503 Busy\r\nX: y".utf8)) == 503)
        #expect(httpStatus(Array("HTTP/1.1 200 OK".utf8)) == nil, "not complete yet")
        #expect(httpStatus(Array("SSH-2.0-OpenSSH\r\n".utf8)) == nil)
    }
}
