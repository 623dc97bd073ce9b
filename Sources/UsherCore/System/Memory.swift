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
