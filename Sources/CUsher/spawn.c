// Starting children: the vfork spawn (cusher_spawn_as) and posix_spawn's helpers that Swift
// cannot reach. See "Starting children" in cusher.h.
#define _GNU_SOURCE 1
#include "cusher.h"

int cusher_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *dir) {
    return posix_spawn_file_actions_addchdir_np(actions, dir);
}

void cusher_sigset_every_signal(sigset_t *set) { memset(set, 0xff, sizeof *set); }

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
