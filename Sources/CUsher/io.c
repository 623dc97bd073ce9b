// Descriptors: opening, pipes, non-blocking writes and what kind of file an output is. See
// "Descriptors and pipes" in cusher.h.
#define _GNU_SOURCE 1
#include "cusher.h"
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <poll.h>
#include <sys/uio.h>

int cusher_open_read(const char *path) { return open(path, O_RDONLY | O_CLOEXEC); }
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
