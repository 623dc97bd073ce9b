// Replacements for parts of libc: glibc's wording of errno messages on musl, and three libc
// functions whose own versions cost size or time in the static binary (or, on musl, do not
// exist). Each says why it exists. See "libc replacements" in cusher.h.
#define _GNU_SOURCE 1
#include "cusher.h"

// musl words many errno messages differently from glibc ("No file descriptors available" for
// EMFILE, "Out of memory" for ENOMEM). usher's messages read the same on either: glibc's words
// where musl has other words for the same error (the obscure errnos musl leaves without a
// message stay as musl has them). This is strerror on glibc.
const char *cusher_strerror(int e) {
#ifndef __GLIBC__
    switch (e) {
    case EIO: return "Input/output error";
    case ECHILD: return "No child processes";
    case ENOMEM: return "Cannot allocate memory";
    case EBUSY: return "Device or resource busy";
    case EXDEV: return "Invalid cross-device link";
    case EMFILE: return "Too many open files";
    case ENOTTY: return "Inappropriate ioctl for device";
    case ESPIPE: return "Illegal seek";
    case EDOM: return "Numerical argument out of domain";
    case ERANGE: return "Numerical result out of range";
    case EDEADLOCK: return "Resource deadlock avoided";
    case ENAMETOOLONG: return "File name too long";
    case ELOOP: return "Too many levels of symbolic links";
    case ETIME: return "Timer expired";
    case EOVERFLOW: return "Value too large for defined data type";
    case EILSEQ: return "Invalid or incomplete multibyte or wide character";
    case ENOTSOCK: return "Socket operation on non-socket";
    case EMSGSIZE: return "Message too long";
    case ENOTSUP: return "Operation not supported";
    case EADDRINUSE: return "Address already in use";
    case EADDRNOTAVAIL: return "Cannot assign requested address";
    case ENETUNREACH: return "Network is unreachable";
    case ENETRESET: return "Network dropped connection on reset";
    case ECONNABORTED: return "Software caused connection abort";
    case EISCONN: return "Transport endpoint is already connected";
    case ENOTCONN: return "Transport endpoint is not connected";
    case ESHUTDOWN: return "Cannot send after transport endpoint shutdown";
    case ETIMEDOUT: return "Connection timed out";
    case EHOSTUNREACH: return "No route to host";
    case EINPROGRESS: return "Operation now in progress";
    case EDQUOT: return "Disk quota exceeded";
    case EOWNERDEAD: return "Owner died";
    }
#endif
    return strerror(e);
}

#ifndef __GLIBC__
// Embedded Swift allocates every object and array buffer with posix_memalign, almost always
// asking for 16 bytes or less. musl sends each such call through aligned_alloc, which
// over-allocates and then fixes up the slot's header; its malloc already returns 16-byte aligned
// memory, so those calls take malloc directly here (glibc's posix_memalign does the same). This
// replaces musl's posix_memalign in the static link; larger alignments still go to musl.
int posix_memalign(void **res, size_t align, size_t len) {
    void *p;
    if (align <= 16 && align >= sizeof(void *) && (align & (align - 1)) == 0) p = malloc(len);
    else if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
    else p = aligned_alloc(align, len);
    if (!p) return errno;
    *res = p;
    return 0;
}

#include <sys/random.h>
// Embedded Swift seeds its hashing (Dictionary, Set) with arc4random_buf, which glibc has (since
// 2.36) and musl has not. getrandom, which glibc's arc4random_buf uses too; should it fail (no
// such call before Linux 3.17), a seed from the clock and pid: hash seeds need no secrecy here,
// every key usher hashes comes from its own command line and config file.
void arc4random_buf(void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got > 0) {
            p += got;
            n -= (size_t)got;
        } else if (got < 0 && errno != EINTR) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            unsigned long long x = ((unsigned long long)ts.tv_nsec << 20) ^ (unsigned long long)ts.tv_sec ^
                                   ((unsigned long long)getpid() << 40);
            for (; n > 0; n--, p++) {
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                *p = (unsigned char)(x >> 56);
            }
        }
    }
}
#endif

// libc's own __assert_fail (reached from libyaml's assertions, and glibc's internal ones) formats
// its message with fprintf: glibc's wide-character-capable one links about 30 KB of wide printf
// and locale code into a static binary, musl's its whole stdio and printf. This one
// reports the failed assertion and aborts just the same. (musl declares `int line`, glibc
// `unsigned int`: the same register, and this file includes neither's assert.h.)
void __assert_fail(const char *assertion, const char *file, unsigned int line, const char *function) {
    (void)file;
    (void)line;
    (void)function;
    static const char prefix[] = "usher: internal assertion failed in libc: ";
    (void)!write(2, prefix, sizeof prefix - 1);
    (void)!write(2, assertion, strlen(assertion));
    (void)!write(2, "\n", 1);
    abort();
}
