// The C shim: only what Swift cannot reach on its own. Each wrapper says why it exists.
// Grouped by concern: each section below names the file of Sources/CUsher that defines it.
// This header also includes the libc headers UsherCore uses, because Embedded Swift cannot
// `import Glibc`: importing CUsher is how Swift code sees libc in both build modes.
#ifndef CUSHER_H
#define CUSHER_H
#include <dirent.h>  // opendir, readdir: the /proc scan for what a container left behind
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>  // rename (and nothing of stdio is called: no printf is linked)
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

// --- The process's entry (entry.c) ---------------------------------------------------------------
// The git commit the binary was built from, for --version: the Makefile passes it to entry.c
// as USHER_COMMIT (a define, so that nothing generated lands in the source tree).
const char *cusher_build_commit(void);

// Embedded Swift has no CommandLine; the C runtime hands argv to constructors (glibc) or, in
// the release binary, to entry.c's main.
int cusher_argc(void);
char **cusher_argv(void);

// `environ` is a libc global that Embedded Swift cannot name.
char **cusher_environ(void);

// --- libc replacements (libc.c) ------------------------------------------------------------------
// Besides cusher_strerror, libc.c replaces three libc functions in the static link, each for a
// reason given there: posix_memalign and arc4random_buf (musl only), and __assert_fail.

// strerror with glibc's wording on every libc (musl's differs for many errors).
const char *cusher_strerror(int e);

// --- The process's own state (process.c) ---------------------------------------------------------
// errno is a macro over a thread-local location.
int cusher_errno(void);

// The W* status macros are macros.
int cusher_wifexited(int status);
int cusher_wexitstatus(int status);
int cusher_wifsignaled(int status);
int cusher_wtermsig(int status);

// SIG_IGN is a cast macro, and sigaction's handler is a union.
int cusher_ignore_signal(int sig);

// SIGRTMAX is a macro over a libc call; NSIG bounds the signal numbers.
int cusher_sigrtmax(void);

// Adds glibc's internal signals 32 and 33 to `set` (sigaddset refuses them) and makes it the
// signal mask with the raw system call (sigprocmask would drop them again).
int cusher_block_with_internal_signals(sigset_t *set);

// prctl is variadic, which Swift cannot call.
int cusher_set_child_subreaper(void);

// Drops this process's page mappings of its own program text (from __executable_start to etext,
// linker-provided symbols Swift cannot name). The pages are clean, read-only and file-backed:
// the next use faults them back in from the page cache, byte for byte. See Memory.swift.
int cusher_release_text_pages(void);

// Whether `bytes` can be allocated now: Swift traps where malloc fails, and a path usher can
// refuse (a start that reads files) asks first.
int cusher_can_allocate(unsigned long bytes);

// --- The event loop's system calls (syscalls.c) --------------------------------------------------
// struct epoll_event is packed on x86_64, which Swift does not import faithfully.
int cusher_epoll_create(void);
#define CUSHER_EPOLL_ADD 1
#define CUSHER_EPOLL_MOD 2
#define CUSHER_EPOLL_DEL 3
// Adds, changes or removes `fd`; `interest` is 0 (registered, never reported), 1 (input) or 2
// (room to write, or the end of a non-blocking connect).
int cusher_epoll_ctl(int epfd, int op, int fd, uint64_t token, int interest);
// Waits for events; writes up to `max` tokens. timeout_ms < 0 blocks without a timeout.
int cusher_epoll_wait(int epfd, uint64_t *tokens, int max, int timeout_ms);

// The system calls of the signal and reap paths, made directly (the same results as the libc
// calls: -1 with errno set). musl sends read, waitpid and epoll_wait through its thread
// cancellation machinery (__syscall_cp, then __syscall_ret for errno): usher has one thread and
// cancels nothing, and that was a quarter of the instructions of a forwarded signal (callgrind:
// about 60 of 233). Only on x86_64 and aarch64 (the release machines); elsewhere the libc calls.
long cusher_sys_read(int fd, void *buf, unsigned long len);
int cusher_sys_kill(int pid, int sig);
// waitpid(-1, &status, WNOHANG).
int cusher_sys_reap(int *status);

// --- Starting children (spawn.c) -----------------------------------------------------------------
// A signal set with every bit set. sigfillset leaves out glibc's internal signals 32 and 33, and
// posix_spawn's child sets any internal signal outside its SETSIGDEF set to SIG_IGN, which exec
// keeps: children would start with signals 32 and 33 ignored. With every bit set the child
// resets them to SIG_DFL too, as if started by fork and exec from a clean parent.
void cusher_sigset_every_signal(sigset_t *set);

// posix_spawn_file_actions_addtcsetpgrp_np is a GNU extension that needs _GNU_SOURCE, which the
// Glibc module Swift imports in normal mode is not built with. (glibc only: see below.)
int cusher_spawn_add_tcsetpgrp(posix_spawn_file_actions_t *actions, int fd);

// 1 where every child must be started by cusher_spawn_as rather than posix_spawn: on musl, whose
// posix_spawn has no way to hand the child the terminal, and reports a failed exec through a
// pipe, two more descriptors for each child (a descriptor limit that fits usher on glibc would
// fail its children on musl). cusher_spawn_as is a vfork, as glibc's posix_spawn is, and needs
// neither. 0 on glibc.
int cusher_spawn_needs_vfork(void);

// POSIX_SPAWN_SETSID, a GNU extension that needs _GNU_SOURCE (as above); glibc only.
short cusher_spawn_setsid_flag(void);

// Starts `file` (searched in PATH as execvp does) like usher's posix_spawn path: default signal
// dispositions, an empty mask, its own process group (with new_session, as the leader of a
// session of its own too), the terminal's foreground if asked, stdout and stderr replaced when
// out_fd/err_fd >= 0; and additionally changes to `dir` (NULL: stay), drops to `gid` and `uid`
// (-1: keep) with no supplementary groups, and with no_new_privs set keeps it from gaining
// privileges by exec. posix_spawn can do none of these, so this vforks.
// Returns 0 with *pid set, or the errno of the step that failed, which *step names: 0 exec,
// 1 chdir, 2 setgroups, 3 setgid, 4 setuid, 5 vfork, 6 no_new_privs.
int cusher_spawn_as(const char *file, char *const argv[], char *const envp[], const char *dir,
                    long long uid, long long gid, int no_new_privs, int foreground, int new_session,
                    int out_fd, int err_fd, pid_t *pid, int *step);

// posix_spawn_file_actions_addchdir_np is a GNU extension (in glibc and musl) that needs
// _GNU_SOURCE.
int cusher_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *dir);

// --- Descriptors and pipes (io.c) ----------------------------------------------------------------
// open is variadic, which Swift cannot call. Opens read-only, close-on-exec.
int cusher_open_read(const char *path);
// The same, write-only (for /dev/null as a probe command's output).
int cusher_open_write(const char *path);

// pipe2 is a GNU extension that needs _GNU_SOURCE. Both ends close-on-exec.
int cusher_pipe_cloexec(int fds[2]);

// fcntl is variadic. Sets O_NONBLOCK on one end of a pipe only: the child's end must block.
int cusher_set_nonblocking(int fd);

// ioctl is variadic. How many bytes a pipe holds now (FIONREAD), or -1 with errno.
int cusher_pipe_queued(int fd);

// Writes without ever blocking (pwritev2 with RWF_NOWAIT, as a raw system call: musl has no
// pwritev2): -1 with EAGAIN when a pipe or socket is full, EOPNOTSUPP where the kernel has no
// such write (terminals).
long cusher_write_nowait(int fd, const void *buf, unsigned long len);

// What kind of file usher's stdout or stderr is, for writing to it without blocking (the stat
// macros are macros): one that never blocks (a regular file, /dev/null and other devices that
// are not terminals), a socket, a terminal, or a pipe.
#define CUSHER_FD_NEVER_BLOCKS 0
#define CUSHER_FD_SOCKET 1
#define CUSHER_FD_TERMINAL 2
#define CUSHER_FD_PIPE 3
int cusher_fd_kind(int fd);
// Opens a new open file description of what `fd` refers to (a pipe or a terminal), write-only
// and non-blocking, through /proc/self/fd; never as a controlling terminal. -1 with errno when
// that cannot be done (no /proc, a socket, no permission).
int cusher_reopen_nonblocking(int fd);
// 1 when `fd` has room to write now (poll with no wait), 0 when not, -1 on error.
int cusher_poll_writable(int fd);
// Waits up to timeout_ms until one of `fds` has room to write; poll's result.
int cusher_poll_writable_any(const int *fds, int count, int timeout_ms);

// --- Sockets (sockets.c) -------------------------------------------------------------------------
// Starts a non-blocking TCP connect to an IPv4 address (network byte order) and port; returns the
// socket (close-on-exec) with the connect under way, or -1 with errno. sockaddr_in and glibc's
// socket-type enum make this clumsy from Swift. cusher_socket_error reads SO_ERROR: 0 once the
// connect succeeded, else its errno.
int cusher_tcp_connect(uint32_t address, uint16_t port);
int cusher_socket_error(int fd);

// The first IPv4 address of an interface that is up and not loopback, in network byte order,
// into *address: the container's own address, which the kubelet calls the pod IP. getifaddrs'
// list is a linked list of unions Swift reaches clumsily. Returns 0, or -1 when there is none.
int cusher_first_ipv4(uint32_t *address);

// sd_notify's datagram socket (NOTIFY_SOCKET, a path or "@abstract"): a non-blocking,
// close-on-exec unix datagram socket, and one message sent to it without waiting (sockaddr_un
// and the abstract namespace's leading NUL are clumsy from Swift). -1 with errno on failure.
int cusher_notify_socket(void);
long cusher_notify_send(int fd, const char *path, const void *message, unsigned long length);

// --- Files (files.c) -----------------------------------------------------------------------------
// Files opened on a container's behalf (System/ContainerFiles.swift holds the policy).
// openat is variadic; this adds O_CLOEXEC and O_NOCTTY to `flags`.
int cusher_openat(int dir, const char *path, int flags, int mode);
// A directory as a place to open names in (O_PATH, which needs _GNU_SOURCE).
int cusher_open_directory(const char *path);
// Opens `path` (inside the directory `root`, or relative to it) read-only and non-blocking, never
// through a link that leads out of `root`: openat2 with RESOLVE_BENEATH, which has no libc
// wrapper (nor its request struct a musl header); where the kernel (before 5.6), a seccomp
// filter or qemu-user lacks it, a walk with O_NOFOLLOW that refuses every link below `root`.
// In C rather than Swift for size: the Swift walk cost about 1 kB more. -1 with errno.
int cusher_open_beneath(const char *root, const char *path);
// What fstat says that the policy needs (the S_IS* tests are macros, struct stat's layout
// differs per libc and architecture).
struct cusher_file_facts {
    int regular, directory;
    int64_t size, links;
    uint32_t owner;
    // A directory's group or others may write and it is not sticky: they may rename its files.
    int others_may_write;
};
int cusher_file_facts(int fd, struct cusher_file_facts *facts);
// Opens that follow switch to another user's file-system rights (fsuid, fsgid, no
// supplementary groups: what the container's process will have) until cusher_fs_restore.
// setfsuid has no Swift-visible header and getgroups/setgroups need _GNU_SOURCE on musl.
// -1 when the switch did not take (usher is not root).
int cusher_fs_become(uint32_t uid, uint32_t gid);
void cusher_fs_restore(void);

// mkdir with mode 0755; 0 when it exists already.
int cusher_make_directory(const char *path);
#endif
