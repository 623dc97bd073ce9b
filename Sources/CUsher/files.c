#define _GNU_SOURCE 1
#include "cusher.h"
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/fsuid.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/un.h>
#include <stddef.h>

int cusher_errno(void) { return errno; }

#ifndef USHER_COMMIT
#define USHER_COMMIT "unknown, a development build"  // swift build: SwiftPM passes no commit
#endif
const char *cusher_build_commit(void) { return USHER_COMMIT; }

static int saved_argc;
static char **saved_argv;
#ifdef USHER_C_MAIN
// The release binary (make static, on musl): musl calls ELF constructors with no arguments, so
// the shim owns the process's entry instead. The Makefile compiles this file with USHER_C_MAIN
// and main.swift with -entry-point-function-name usher_swift_main; this main keeps argc/argv
// and runs Swift's top-level code. (Not in the normal build: CUsher is linked into the test and
// fuzz binaries too, which have a main of their own.)
int usher_swift_main(int argc, char **argv);
int main(int argc, char **argv) {
    saved_argc = argc;
    saved_argv = argv;
    return usher_swift_main(argc, argv);
}
#else
// The normal (development) build, on glibc, which passes (argc, argv, envp) to ELF
// constructors: Swift's CommandLine is not there in Embedded mode, so both modes read argv here.
__attribute__((constructor)) static void cusher_save_args(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}
#endif
int cusher_argc(void) { return saved_argc; }
char **cusher_argv(void) { return saved_argv; }

extern char **environ;
char **cusher_environ(void) { return environ; }

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

int cusher_wifexited(int status) { return WIFEXITED(status); }
int cusher_wexitstatus(int status) { return WEXITSTATUS(status); }
int cusher_wifsignaled(int status) { return WIFSIGNALED(status); }
int cusher_wtermsig(int status) { return WTERMSIG(status); }

int cusher_ignore_signal(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    return sigaction(sig, &sa, NULL);
}

int cusher_open_read(const char *path) { return open(path, O_RDONLY | O_CLOEXEC); }
long cusher_write_nowait(int fd, const void *buf, unsigned long len) {
    struct iovec iov = {(void *)buf, len};
    // The raw system call: musl 1.2.3 has neither pwritev2 nor RWF_NOWAIT (linux/fs.h: 8). On a
    // 64-bit kernel the offset is the one register pos_l (pos_h is ignored); -1 is "the file's
    // current position", as for write().
    long n = syscall(SYS_pwritev2, fd, &iov, 1, -1L, 0L, 0x00000008 /* RWF_NOWAIT */);
    // ENOSYS (a kernel before 4.6, or qemu-user, which does not emulate pwritev2): no write that
    // cannot block exists here, which is what EOPNOTSUPP already tells the caller.
    if (n < 0 && errno == ENOSYS) errno = EOPNOTSUPP;
    return n;
}

int cusher_fd_kind(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return CUSHER_FD_NEVER_BLOCKS;  // closed: writes fail at once
    if (S_ISSOCK(st.st_mode)) return CUSHER_FD_SOCKET;
    if (S_ISFIFO(st.st_mode)) return CUSHER_FD_PIPE;
    if (S_ISCHR(st.st_mode) && isatty(fd)) return CUSHER_FD_TERMINAL;
    return CUSHER_FD_NEVER_BLOCKS;
}

int cusher_reopen_nonblocking(int fd) {
    // "/proc/self/fd/" and the number, without printf (which would link libc's formatter).
    char path[32] = "/proc/self/fd/";
    char digits[12];
    int n = 0;
    unsigned v = (unsigned)fd;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v && n < 11);
    size_t at = strlen(path);
    while (n > 0) path[at++] = digits[--n];
    path[at] = 0;
    return open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
}

int cusher_poll_writable(int fd) {
    struct pollfd p = {fd, POLLOUT, 0};
    int n = poll(&p, 1, 0);
    if (n < 0) return -1;
    return n == 1 && (p.revents & POLLOUT) ? 1 : 0;
}

int cusher_poll_writable_any(const int *fds, int count, int timeout_ms) {
    struct pollfd p[4];
    if (count > 4) count = 4;
    for (int i = 0; i < count; i++) {
        p[i].fd = fds[i];
        p[i].events = POLLOUT;
        p[i].revents = 0;
    }
    return poll(p, (nfds_t)count, timeout_ms);
}

int cusher_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *dir) {
    return posix_spawn_file_actions_addchdir_np(actions, dir);
}

int cusher_open_write(const char *path) { return open(path, O_WRONLY | O_CLOEXEC); }

int cusher_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cusher_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int cusher_pipe_queued(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) < 0 ? -1 : n;
}

int cusher_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

extern char __executable_start[];
extern char etext[];
int cusher_release_text_pages(void) {
    // getpagesize, not sysconf: musl's sysconf links its whole table of limits (about 1 KB).
    uintptr_t page = (uintptr_t)getpagesize();
    uintptr_t start = ((uintptr_t)__executable_start + page - 1) & ~(page - 1);
    uintptr_t end = (uintptr_t)etext & ~(page - 1);
    if (end <= start) return 0;
    return madvise((void *)start, end - start, MADV_DONTNEED);
}

int cusher_sigrtmax(void) { return SIGRTMAX; }

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

void cusher_sigset_every_signal(sigset_t *set) { memset(set, 0xff, sizeof *set); }

int cusher_block_with_internal_signals(sigset_t *set) {
    unsigned long *bits = (unsigned long *)set;  // bit N-1 is signal N, as the kernel sees it
    // glibc keeps 32 and 33 for itself, musl 32 to 34 (its SIGRTMIN is 35); 34 is already in a
    // glibc sigfillset (its SIGRTMIN), so one set of bits covers both.
    bits[0] |= (1UL << 31) | (1UL << 32) | (1UL << 33);
    return (int)syscall(SYS_rt_sigprocmask, SIG_SETMASK, set, NULL, (size_t)(_NSIG / 8));
}

#ifdef __GLIBC__
int cusher_spawn_add_tcsetpgrp(posix_spawn_file_actions_t *actions, int fd) {
    return posix_spawn_file_actions_addtcsetpgrp_np(actions, fd);
}
int cusher_spawn_needs_vfork(void) { return 0; }
short cusher_spawn_setsid_flag(void) { return POSIX_SPAWN_SETSID; }
#else
// musl: never called (cusher_spawn_needs_vfork sends every child through cusher_spawn_as).
int cusher_spawn_add_tcsetpgrp(posix_spawn_file_actions_t *actions, int fd) {
    (void)actions;
    (void)fd;
    return ENOSYS;
}
int cusher_spawn_needs_vfork(void) { return 1; }
short cusher_spawn_setsid_flag(void) { return 0; }
#endif

int cusher_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cusher_epoll_ctl(int epfd, int op, int fd, uint64_t token, int interest) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = interest == 1 ? EPOLLIN : interest == 2 ? EPOLLOUT : 0;
    ev.data.u64 = token;
    int ops[] = {0, EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL};
    return epoll_ctl(epfd, ops[op & 3], fd, &ev);
}

int cusher_tcp_connect(uint32_t address, uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = address;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EINPROGRESS) return fd;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int cusher_socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
}

#include <sys/syscall.h>
#include <sys/wait.h>
// See cusher_sys_read in cusher.h. x86_64: syscall takes its number in rax, arguments in rdi,
// rsi, rdx, r10 and clobbers rcx and r11; aarch64: svc 0, number in x8, arguments from x0.
// aarch64 has no epoll_wait: epoll_pwait with no signal mask is the same call.
#if defined(__x86_64__)
static inline long syscall4(long n, long a, long b, long c, long d) {
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return ret;
}
#define SYSCALL4(n, a, b, c, d) syscall4(n, (long)(a), (long)(b), (long)(c), (long)(d))
#define EPOLL_WAIT_NR SYS_epoll_wait
#define RAW_SYSCALLS 1
#elif defined(__aarch64__)
static inline long syscall5(long n, long a, long b, long c, long d, long e) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    __asm__ __volatile__("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory", "cc");
    return x0;
}
#define SYSCALL4(n, a, b, c, d) syscall5(n, (long)(a), (long)(b), (long)(c), (long)(d), 0)
#define EPOLL_WAIT_NR SYS_epoll_pwait
#define RAW_SYSCALLS 1
#endif
#ifdef RAW_SYSCALLS
static inline long sys_ret(long r) {
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return -1;
    }
    return r;
}
long cusher_sys_read(int fd, void *buf, unsigned long len) { return sys_ret(SYSCALL4(SYS_read, fd, buf, len, 0)); }
int cusher_sys_kill(int pid, int sig) { return (int)sys_ret(SYSCALL4(SYS_kill, pid, sig, 0, 0)); }
int cusher_sys_reap(int *status) { return (int)sys_ret(SYSCALL4(SYS_wait4, -1, status, WNOHANG, 0)); }
#else
#define sys_ret(r) (r)
#define SYSCALL4(n, a, b, c, d) epoll_wait(a, b, c, d)
long cusher_sys_read(int fd, void *buf, unsigned long len) { return read(fd, buf, len); }
int cusher_sys_kill(int pid, int sig) { return kill(pid, sig); }
int cusher_sys_reap(int *status) { return waitpid(-1, status, WNOHANG); }
#endif

int cusher_epoll_wait(int epfd, uint64_t *tokens, int max, int timeout_ms) {
    struct epoll_event evs[32];
    if (max > 32) max = 32;
    int n = (int)sys_ret(SYSCALL4(EPOLL_WAIT_NR, epfd, (long)evs, max, timeout_ms));
    for (int i = 0; i < n; i++) tokens[i] = evs[i].data.u64;
    return n;
}

int cusher_spawn_as(const char *file, char *const argv[], char *const envp[], const char *dir,
                    long long uid, long long gid, int no_new_privs, int foreground, int new_session,
                    int out_fd, int err_fd, pid_t *pid, int *step) {
    // vfork: the child borrows usher's memory until it execs, as glibc's posix_spawn does, so it
    // reports a failure by writing these two variables, and the parent reads them once the
    // child has exec'd or exited. The child only makes system calls, and the identity changes are
    // raw syscalls: libc's setuid would coordinate every thread of the process (there is one)
    // and link that machinery into the static binary.
    volatile int failed_step = -1, failed_errno = 0;
    pid_t child = vfork();
    if (child < 0) { *step = 5; return errno; }
    if (child == 0) {
        // usher's mask stays until just before exec. The tcsetpgrp of a background group must
        // come before the dispositions are reset: SIGTTOU is one of the few signals usher leaves
        // unblocked, and only its inherited SIG_IGN keeps it from stopping this child (glibc's
        // posix_spawn blocks every signal in its child; this path takes the terminal on musl).
        // Dispositions are the child's own (vfork does not share the signal handler table).
        if (new_session) setsid();
        else setpgid(0, 0);
        if (foreground) tcsetpgrp(0, getpid());
        // The raw system call: libc's sigaction refuses its own internal signals (glibc 32-33,
        // musl 32-34), and one that usher's parent left ignored must not stay ignored in the
        // child. The kernel's struct sigaction (handler, flags, restorer, an 8-byte mask), all
        // zero: SIG_DFL, no flags, an empty mask. SIGKILL and SIGSTOP answer EINVAL, harmlessly.
        unsigned long dfl[4] = {0, 0, 0, 0};
        for (int s = 1; s < NSIG; s++) syscall(SYS_rt_sigaction, s, dfl, NULL, (size_t)8);
        if (out_fd >= 0) dup2(out_fd, 1);
        if (err_fd >= 0) dup2(err_fd, 2);
        int failed = -1;
        if (dir && chdir(dir) != 0) failed = 1;
        else if ((uid >= 0 || gid >= 0) && syscall(SYS_setgroups, 0, NULL) != 0) failed = 2;
        else if (gid >= 0 && syscall(SYS_setgid, (gid_t)gid) != 0) failed = 3;
        else if (uid >= 0 && syscall(SYS_setuid, (uid_t)uid) != 0) failed = 4;
        else if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) failed = 6;
        if (failed < 0) {
            sigset_t empty;
            sigemptyset(&empty);
            sigprocmask(SIG_SETMASK, &empty, NULL);
            execvpe(file, argv, envp);
            failed = 0;
        }
        failed_errno = errno;
        failed_step = failed;
        _exit(127);
    }
    if (failed_step >= 0) {
        // The child never ran the command: reap it here, so the supervisor never sees its pid.
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
        *step = failed_step;
        return failed_errno;
    }
    *pid = child;
    return 0;
}

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

int cusher_first_ipv4(uint32_t *address) {
    struct ifaddrs *list;
    if (getifaddrs(&list) != 0) return -1;
    int found = -1;
    for (struct ifaddrs *a = list; a && found != 0; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
        if ((a->ifa_flags & IFF_LOOPBACK) || !(a->ifa_flags & IFF_UP)) continue;
        *address = ((struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr;
        found = 0;
    }
    freeifaddrs(list);
    return found;
}

int cusher_notify_socket(void) { return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0); }

long cusher_notify_send(int fd, const char *path, const void *message, unsigned long length) {
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof sa.sun_path) { errno = EINVAL; return -1; }
    memcpy(sa.sun_path, path, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (path[0] == '@') sa.sun_path[0] = 0;  // the abstract namespace: no NUL at the end
    else len += 1;
    return sendto(fd, message, length, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
}

// --- Files opened on a container's behalf (the policy is System/ContainerFiles.swift) ---------

int cusher_openat(int dir, const char *path, int flags, int mode) {
    return openat(dir, path, flags | O_CLOEXEC | O_NOCTTY, mode);
}

int cusher_open_directory(const char *path) { return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC); }

// openat2's request (linux/openat2.h, which musl's headers do not carry), written out.
struct cusher_open_how {
    uint64_t flags, mode, resolve;
};
#ifndef SYS_openat2
#define SYS_openat2 437  // the same number on every architecture (the unified syscall table)
#endif

// Without openat2: each directory below `dir` opened with O_NOFOLLOW (a symbolic link there
// fails O_DIRECTORY), the file itself too; ".." is refused (EXDEV, as RESOLVE_BENEATH says it).
static int open_without_links(int dir, const char *path) {
    char part[256];
    int current = dir;
    while (*path) {
        const char *end = strchr(path, '/');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        int fd = -2;  // nothing to open for an empty or "." component
        if (n >= sizeof part) {
            errno = ENAMETOOLONG;
            fd = -1;
        } else if (n == 2 && path[0] == '.' && path[1] == '.') {
            errno = EXDEV;
            fd = -1;
        } else if (n > 0 && !(n == 1 && path[0] == '.')) {
            memcpy(part, path, n);
            part[n] = 0;
            fd = end ? openat(current, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                     : openat(current, part, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        }
        if (fd != -2) {
            int saved = errno;
            if (current != dir) close(current);
            errno = saved;
            if (fd < 0) return -1;
            current = fd;
        }
        path += n + (end ? 1 : 0);
    }
    if (current == dir) {  // nothing named below dir
        errno = EISDIR;
        return -1;
    }
    return current;
}

int cusher_open_beneath(const char *root, const char *path) {
    int dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -1;
    size_t n = strlen(root);
    if (strncmp(path, root, n) == 0) path += n;
    while (*path == '/') path++;
    // RESOLVE_BENEATH (0x08): no step of the walk may leave `dir`, through "..", an absolute
    // path or a symbolic link; RESOLVE_NO_MAGICLINKS (0x02): no /proc/PID/fd-style link at all.
    struct cusher_open_how how = {(uint64_t)(O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), 0, 0x08 | 0x02};
    int fd = (int)syscall(SYS_openat2, dir, path, &how, sizeof how);
    // A seccomp profile that does not know openat2 answers ENOSYS or EPERM (Docker's before
    // 20.10): the walk decides then.
    if (fd < 0 && (errno == ENOSYS || errno == EPERM)) fd = open_without_links(dir, path);
    int saved = errno;
    close(dir);
    errno = saved;
    return fd;
}

int cusher_file_facts(int fd, struct cusher_file_facts *facts) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    facts->regular = S_ISREG(st.st_mode);
    facts->directory = S_ISDIR(st.st_mode);
    facts->size = (int64_t)st.st_size;
    facts->links = (int64_t)st.st_nlink;
    facts->owner = (uint32_t)st.st_uid;
    facts->others_may_write = (st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX);
    return 0;
}

// usher is single-threaded, so the file-system ids are the whole process's while switched.
static gid_t saved_groups[256];
static int saved_group_count = -1;

int cusher_fs_become(uint32_t uid, uint32_t gid) {
    // The raw system calls: musl's setgroups runs __synccall to reach every thread (usher has
    // one), which links its semaphores and signal machinery into the binary (1.3 kB).
    int n = (int)syscall(SYS_getgroups, 256, saved_groups);
    if (n < 0 || syscall(SYS_setgroups, 0, NULL) != 0) return -1;
    saved_group_count = n;
    setfsgid(gid);
    setfsuid(uid);
    // setfsuid and setfsgid say nothing of failure: asking again (with an id they refuse, -1)
    // returns the one in force.
    if ((uint32_t)setfsuid((uid_t)-1) != uid || (uint32_t)setfsgid((gid_t)-1) != gid) {
        cusher_fs_restore();
        return -1;
    }
    return 0;
}

void cusher_fs_restore(void) {
    setfsuid(geteuid());
    setfsgid(getegid());
    if (saved_group_count >= 0) syscall(SYS_setgroups, saved_group_count, saved_groups);
    saved_group_count = -1;
}

int cusher_can_allocate(unsigned long bytes) {
    void *p = malloc(bytes);
    // The empty asm uses p: without it LLVM folds a malloc whose only use is free into
    // "succeeded" and removes both, and the question is never asked.
    __asm__ volatile("" : : "r"(p) : "memory");
    free(p);
    return p != NULL;
}

int cusher_make_directory(const char *path) {
    if (mkdir(path, 0755) == 0 || errno == EEXIST) return 0;
    return -1;
}
