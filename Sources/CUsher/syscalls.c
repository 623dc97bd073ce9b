// The event loop's system calls: epoll, and the calls of the signal and reap paths made
// directly, in inline assembly, on x86_64 and aarch64 (libc's elsewhere). See "The event
// loop's system calls" in cusher.h.
#define _GNU_SOURCE 1
#include "cusher.h"
#include <sys/epoll.h>

int cusher_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cusher_epoll_ctl(int epfd, int op, int fd, uint64_t token, int interest) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = interest == 1 ? EPOLLIN : interest == 2 ? EPOLLOUT : 0;
    ev.data.u64 = token;
    int ops[] = {0, EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL};
    return epoll_ctl(epfd, ops[op & 3], fd, &ev);
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
