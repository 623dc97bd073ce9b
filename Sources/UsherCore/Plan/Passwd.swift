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
    guard let n = plainDecimal(bytes, maxDigits: 10), n <= Int(UInt32.max) else { return nil }
    return UInt32(n)
}

extension Plan {
    /// Each process that runs as another user without a group gets that user's primary group
    /// from the image's /etc/passwd (`passwd`, read only when some process needs it), or group 0
    /// without an entry, as container runtimes do: it must never keep usher's own supplementary
    /// groups or run with an unintended group. Resolved once, before `usher check` shows the
    /// plan and before a run starts it, so that check shows the group that runs.
    public func withPrimaryGroups(passwd: () -> [UInt8]) -> Plan {
        guard containers.contains(where: { $0.user != nil && $0.group == nil }) else { return self }
        let file = passwd()
        var plan = self
        for i in plan.containers.indices {
            if let uid = plan.containers[i].user, plan.containers[i].group == nil {
                plan.containers[i].group = passwdPrimaryGroup(file, uid: uid) ?? 0
            }
        }
        return plan
    }
}
