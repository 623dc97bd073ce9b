#define _GNU_SOURCE 1
#include "cusher.h"
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>

int cusher_errno(void) { return errno; }

static int saved_argc;
static char **saved_argv;
// glibc passes (argc, argv, envp) to ELF constructors; that is the only way to reach argv
// from Embedded Swift, and it works the same in the normal build.
__attribute__((constructor)) static void cusher_save_args(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}
int cusher_argc(void) { return saved_argc; }
char **cusher_argv(void) { return saved_argv; }

extern char **environ;
char **cusher_environ(void) { return environ; }

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

int cusher_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cusher_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int cusher_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

extern char __executable_start[];
extern char etext[];
int cusher_release_text_pages(void) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)__executable_start + page - 1) & ~(page - 1);
    uintptr_t end = (uintptr_t)etext & ~(page - 1);
    if (end <= start) return 0;
    return madvise((void *)start, end - start, MADV_DONTNEED);
}

int cusher_sigrtmax(void) { return SIGRTMAX; }

void cusher_sigset_every_signal(sigset_t *set) { memset(set, 0xff, sizeof *set); }

int cusher_spawn_add_tcsetpgrp(posix_spawn_file_actions_t *actions, int fd) {
    return posix_spawn_file_actions_addtcsetpgrp_np(actions, fd);
}

int cusher_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cusher_epoll_add(int epfd, int fd, uint64_t token) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u64 = token;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int cusher_epoll_watch(int epfd, int fd, uint64_t token, int writable) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = writable ? EPOLLOUT : EPOLLIN;
    ev.data.u64 = token;
    return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
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

int cusher_epoll_wait(int epfd, uint64_t *tokens, int max, int timeout_ms) {
    struct epoll_event evs[16];
    if (max > 16) max = 16;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) tokens[i] = evs[i].data.u64;
    return n;
}
