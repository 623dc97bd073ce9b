import CUsher

/// Once every process is started, usher spends its life blocked in epoll_wait. The code that
/// parsed the command line and spawned the children is not needed again, yet the kernel's
/// fault-around left most of the static binary's text mapped (about 700 kB of a 770 kB file,
/// nearly all of it glibc). Dropping those mappings makes the idle resident set the few pages
/// the event loop touches; they are clean read-only file pages, so a later use faults them back
/// in from the page cache (a minor fault, microseconds) with identical contents. Writable data,
/// heap and stack are not touched.
func releaseStartupCode() {
    _ = cusher_release_text_pages()
}

/// Whether an environment built from `bytes` of text can be allocated now. Swift traps where an
/// allocation fails, which would end PID 1; a start is a path usher can refuse (126, or a
/// restart's back-off), so it asks first. The estimate covers the text, the strings and arrays
/// it becomes (an entry each, its bytes again for sorting) and the C array the spawn takes:
/// a sidecar's restart with a 64 KB env file of 1,500 entries needed between 384 and 512 kB
/// more than usher had mapped (32 times the text, and 256 kB, is a wide margin over that).
func canBuildEnvironment(from bytes: Int) -> Bool {
    cusher_can_allocate(UInt(bytes) * 32 + 256 * 1024) != 0
}
