import Testing
@testable import UsherCore

@Suite struct PasswdLookup {
    let file = Array("root:x:0:0:root:/root:/bin/sh\n# comment\nbroken\napp:x:1000:2000::/home/app:/bin/false\nodd:x:7:notanumber::/:/\n".utf8)

    @Test func primaryGroups() {
        #expect(passwdPrimaryGroup(file, uid: 1000) == 2000)
        #expect(passwdPrimaryGroup(file, uid: 0) == 0)
        #expect(passwdPrimaryGroup(file, uid: 1001) == nil)
        #expect(passwdPrimaryGroup(file, uid: 7) == nil)
        #expect(passwdPrimaryGroup([], uid: 0) == nil)
    }
}
