/// The primary group of `uid` in an /etc/passwd file (`name:x:uid:gid:gecos:home:shell`), or nil
/// when the user has no entry. A container runtime gives a `runAsUser` without `runAsGroup` that
/// group (root's group 0 when the image has no entry); usher does the same.
public func passwdPrimaryGroup(_ file: [UInt8], uid: UInt32) -> UInt32? {
    for line in splitBytes(file[...], 10) {
        let fields = splitBytes(line, 58, omittingEmpty: false)
        guard fields.count >= 4, let u = decimal(fields[2]), u == uid else { continue }
        return decimal(fields[3])
    }
    return nil
}

private func decimal(_ bytes: ArraySlice<UInt8>) -> UInt32? {
    guard !bytes.isEmpty, bytes.count <= 10, bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
    let n = bytes.reduce(UInt64(0)) { $0 * 10 + UInt64($1 - 48) }
    return n <= UInt64(UInt32.max) ? UInt32(n) : nil
}
