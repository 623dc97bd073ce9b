import CUsher

// The one policy for every file usher opens on a container's behalf: env files (`--env-file`,
// `fileKeyRef`), the status file and `usher status`'s read of it, and the termination message.
// usher often runs as root for processes that do not, in directories those processes can write
// (an emptyDir is 0777 and not sticky), so each open here holds to five rules:
// - Regular files only. A FIFO, a device, a socket or a directory is refused: after the open
//   (fstat on the descriptor, never a second lookup of the name), before a byte is read.
// - Never blocking. Every open is O_NONBLOCK: the open of a FIFO with no writer (or, to write,
//   no reader) would otherwise stop the event loop, and with it every deadline.
// - Never through a link. A read resolves beneath its root (the volume a `fileKeyRef` names, the
//   directory of an `--env-file`) with openat2's RESOLVE_BENEATH: a symbolic link that leads out
//   of it, "..", or a /proc magic link is refused; where openat2 is missing (a kernel before
//   5.6, a seccomp filter, qemu-user) the path is walked a component at a time with O_NOFOLLOW,
//   which refuses every symbolic link below the root. A write never follows a link in its last
//   component, creates its temporary file with O_EXCL (a name planted there is removed first,
//   never opened), and refuses a file with a second name (a hard link to somebody else's file).
// - The container user's rights for reads. usher switches its file-system ids to the process's
//   user and group, with no supplementary groups (what the process will run with), for the
//   open: a file that user cannot read (a root-only secret linked into a shared volume) is not
//   read for it. The status file and the termination message are usher's own: written with its
//   rights, the status file only into a directory usher's user owns and no other user can
//   change.
// - Bounded sizes. A file larger than its limit is refused, and the memory a read and what is
//   built from it will take is asked of malloc first: a start usher can refuse is refused, where
//   an allocation Swift makes would trap and end PID 1.

/// Why a file could not be used, in words that show none of its contents.
struct FileProblem: Error {
    var reason: String
    /// The file (or a directory on its way) does not exist: an optional env file's one pass.
    var missing = false

    init(_ reason: String, missing: Bool = false) {
        self.reason = reason
        self.missing = missing
    }

    /// The words for a failed open or read.
    static func from(errno e: Int32, uid: UInt32?, limit: Int = 0) -> FileProblem {
        switch e {
        case EFBIG: return FileProblem("larger than \(limit) bytes")
        case ENOENT: return FileProblem("not found", missing: true)
        case ELOOP, EXDEV: return FileProblem("a symbolic link, or a path that leaves its directory through one")
        case ENOTDIR: return FileProblem("a part of its path is not a directory (or is a symbolic link)")
        case EACCES, EPERM: return FileProblem("permission denied" + (uid.map { " to uid \($0)" } ?? ""))
        case ENXIO: return FileProblem("not a regular file")
        default: return FileProblem(errorText(e))
        }
    }
}

/// Whose rights a read is made with: the user and group a container's process runs as (nil:
/// usher's own, which such a process inherits).
struct FileReader {
    var uid: UInt32?
    var gid: UInt32?
    static let usher = FileReader(uid: nil, gid: nil)
}

/// Reads the regular file `path` below the directory `root`, as `reader` may, up to `limit`
/// bytes (see the policy above).
func readContainerFile(_ path: String, beneath root: String, as reader: FileReader, limit: Int) -> Result<[UInt8], FileProblem> {
    // Only root can take another user's rights; a process of another user cannot be started
    // by anyone else, so without root the reader is usher itself.
    let switched = reader.uid != nil && geteuid() == 0
    if switched {
        guard cusher_fs_become(reader.uid ?? 0, reader.gid ?? 0) == 0 else {
            return .failure(FileProblem("usher cannot take the rights of uid \(reader.uid ?? 0) to read it"))
        }
    }
    let fd = withCString(root) { r in withCString(path) { cusher_open_beneath(r, $0) } }
    let e = cusher_errno()
    if switched { cusher_fs_restore() }
    guard fd >= 0 else { return .failure(.from(errno: e, uid: reader.uid)) }
    defer { close(fd) }
    var facts = cusher_file_facts()
    guard cusher_file_facts(fd, &facts) == 0 else { return .failure(.from(errno: cusher_errno(), uid: reader.uid)) }
    guard facts.regular != 0 else { return .failure(FileProblem("not a regular file")) }
    guard facts.size <= Int64(limit) else { return .failure(.from(errno: EFBIG, uid: nil, limit: limit)) }
    guard canBuildEnvironment(from: Int(facts.size)) else {
        return .failure(FileProblem("not enough memory to read it"))
    }
    return readAll(fd, limit: limit, expected: Int(facts.size)).mapError { .from(errno: $0.errno, uid: reader.uid, limit: limit) }
}

/// Replaces the file `name` in the directory `dir` with `bytes` at once (a temporary file renamed
/// over it: a reader sees the old contents or the new). `dir` must be owned by usher's user and
/// writable by no other (or sticky, as /tmp is): another user could otherwise swap the file.
/// nil when written.
func replaceOwnFile(_ dir: String, _ name: String, with bytes: [UInt8]) -> FileProblem? {
    let dfd = withCString(dir) { cusher_open_directory($0) }
    guard dfd >= 0 else { return .from(errno: cusher_errno(), uid: nil) }
    defer { close(dfd) }
    var facts = cusher_file_facts()
    guard cusher_file_facts(dfd, &facts) == 0 else { return .from(errno: cusher_errno(), uid: nil) }
    guard facts.owner == geteuid() else {
        return FileProblem("its directory belongs to uid \(facts.owner), not to usher's uid \(geteuid())")
    }
    guard facts.others_may_write == 0 else {
        return FileProblem("its directory can be written by other users and is not sticky")
    }
    // A temporary name of this write's own (the instant, in nanoseconds): ushers that share a
    // directory (tests' PID 1s in one /run) must not take each other's for a planted file.
    let tmp = name + ".tmp.\(monotonicNow())"
    return withCString(tmp) { cTmp in
        // Whatever stands at the temporary name (a link, a FIFO, a stale file) is removed, never
        // opened: O_EXCL then creates a new file or fails.
        _ = unlinkat(dfd, cTmp, 0)
        let fd = cusher_openat(dfd, cTmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK, 0o644)
        guard fd >= 0 else { return .from(errno: cusher_errno(), uid: nil) }
        let wrote = bytes.withUnsafeBufferPointer { writeAll(fd, $0) }
        let e = cusher_errno()
        close(fd)
        let renamed = wrote && withCString(name) { renameat(dfd, cTmp, dfd, $0) } == 0
        if renamed { return nil }
        let problem = FileProblem.from(errno: wrote ? cusher_errno() : e, uid: nil)
        _ = unlinkat(dfd, cTmp, 0)
        return problem
    }
}

/// Removes `name` from the directory `dir` (a status file that can no longer be kept true).
func removeOwnFile(_ dir: String, _ name: String) {
    _ = withCString(dir + "/" + name) { unlink($0) }
}

/// Writes `text` over the regular file at `path` (created when `create`): never through a link,
/// never into a FIFO (no reader: no message), never into a file with a second name.
func overwriteFile(_ path: String, with text: String, create: Bool) -> FileProblem? {
    let flags = O_WRONLY | O_NOFOLLOW | O_NONBLOCK | (create ? O_CREAT : 0)
    let fd = withCString(path) { cusher_openat(AT_FDCWD, $0, flags, 0o644) }
    guard fd >= 0 else { return .from(errno: cusher_errno(), uid: nil) }
    defer { close(fd) }
    var facts = cusher_file_facts()
    guard cusher_file_facts(fd, &facts) == 0 else { return .from(errno: cusher_errno(), uid: nil) }
    guard facts.regular != 0 else { return FileProblem("not a regular file") }
    guard facts.links == 1 else { return FileProblem("it has another name (a hard link)") }
    // Truncated only now: an open with O_TRUNC would have emptied whatever the name led to.
    guard ftruncate(fd, 0) == 0, writeAll(fd, text) else { return .from(errno: cusher_errno(), uid: nil) }
    return nil
}

/// The directory part of a path ("/" for a file at the top, "." for a bare name).
func directoryOf(_ path: String) -> String {
    let bytes = OSString.encode(path)
    guard let slash = bytes.lastIndex(of: 47) else { return "." }
    return slash == 0 ? "/" : OSString.decode(bytes[..<slash])
}

/// The last component of a path.
func lastComponent(_ path: String) -> String {
    let bytes = OSString.encode(path)
    guard let slash = bytes.lastIndex(of: 47) else { return path }
    return OSString.decode(bytes[(slash + 1)...])
}

/// `body` with `text` as a C string (lossless, see OSString).
private func withCString<R>(_ text: String, _ body: (UnsafePointer<CChar>) -> R) -> R {
    let c = OSString.cString(text)
    defer { c.deallocate() }
    return body(c)
}
