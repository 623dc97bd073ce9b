// The process's own state: errno, wait statuses, signal dispositions and the signal mask, the
// subreaper flag, and memory. See "The process's own state" in cusher.h.
#define _GNU_SOURCE 1
#include "cusher.h"
#include <sys/mman.h>

int cusher_errno(void) { return errno; }

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

int cusher_sigrtmax(void) { return SIGRTMAX; }

int cusher_block_with_internal_signals(sigset_t *set) {
    unsigned long *bits = (unsigned long *)set;  // bit N-1 is signal N, as the kernel sees it
    // glibc keeps 32 and 33 for itself, musl 32 to 34 (its SIGRTMIN is 35); 34 is already in a
    // glibc sigfillset (its SIGRTMIN), so one set of bits covers both.
    bits[0] |= (1UL << 31) | (1UL << 32) | (1UL << 33);
    return (int)syscall(SYS_rt_sigprocmask, SIG_SETMASK, set, NULL, (size_t)(_NSIG / 8));
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

int cusher_can_allocate(unsigned long bytes) {
    void *p = malloc(bytes);
    // The empty asm uses p: without it LLVM folds a malloc whose only use is free into
    // "succeeded" and removes both, and the question is never asked.
    __asm__ volatile("" : : "r"(p) : "memory");
    free(p);
    return p != NULL;
}
