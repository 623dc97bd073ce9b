/*
 * The two timing loops that must not carry an interpreter's overhead (built with gcc -O2
 * -static). Both print one sample per line, in nanoseconds, on stdout; bench.py does the
 * statistics. Any failure (a timeout, a command that fails) exits non-zero with a message.
 *
 *   probe spawn ROUNDS --cmd ARGV... [--cmd ARGV...]...
 *       Start-up: for each round, runs each command once in turn (interleaved, so noise hits
 *       all of them alike) with stdout/stderr on /dev/null, and prints "INDEX NS": the wall
 *       time from just before posix_spawn to waitpid's return (CLOCK_MONOTONIC).
 *
 *   probe signal COUNT PID FIFO [PID FIFO]...
 *       Signal forwarding: waits for each `child sigack FIFO` to report ready, then COUNT
 *       rounds, each going through the targets in turn (interleaved, so noise hits all of
 *       them alike): takes CLOCK_MONOTONIC, sends SIGUSR1 to PID (the supervisor), and waits
 *       for the child's CLOCK_MONOTONIC from inside its handler. Prints "INDEX NS", the
 *       difference. The next signal goes only after the acknowledgement, so no two signals
 *       coalesce and only one supervisor is busy at a time.
 *
 *   probe kill-chain COUNT ARGV...
 *       The baseline for usher's sidecar shutdown: starts COUNT copies of ARGV (a process that
 *       SIGTERM ends at once), then sends SIGTERM to each in reverse start order and waits for
 *       it (waitpid) before the next, as usher does. Prints the time from the first kill to
 *       the last waitpid's return.
 *
 *   probe timer COUNT MS
 *       The machine's own timer lateness, for usher's deadline figures: COUNT times, arms a
 *       timerfd (CLOCK_MONOTONIC, absolute) MS ms ahead, blocks in epoll_wait as usher does,
 *       and prints how late after the instant epoll_wait returned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const int run_timeout_s = 20;    /* one supervised /bin/true */
static const int ack_timeout_ms = 5000; /* one acknowledgement from the child */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fail(const char *fmt, const char *arg) {
    fprintf(stderr, "probe: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(3);
}

/* --- probe spawn ------------------------------------------------------------------------ */

static volatile pid_t running = 0;
static pid_t chain[4096]; /* probe kill-chain's processes, killed too on a timeout */
static volatile long chain_len = 0;

static void on_alarm(int sig) {
    (void)sig;
    if (running > 0) kill(running, SIGKILL);
    for (long i = 0; i < chain_len; i++) kill(chain[i], SIGKILL);
    static const char msg[] = "probe: a command did not finish in time\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(3);
}

static int64_t time_one(char **argv, posix_spawn_file_actions_t *actions) {
    pid_t pid;
    int status;
    alarm(run_timeout_s);
    int64_t t0 = now_ns();
    int rc = posix_spawn(&pid, argv[0], actions, NULL, argv, environ);
    if (rc != 0) {
        errno = rc;
        fail("cannot run %s", argv[0]);
    }
    running = pid;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) fail("waitpid: %s", strerror(errno));
    }
    int64_t t1 = now_ns();
    running = 0;
    alarm(0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("%s did not exit with status 0", argv[0]);
    return t1 - t0;
}

static int spawn_main(int argc, char **argv) {
    long rounds = atol(argv[2]);
    char **cmds[256];
    int ncmds = 0;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--cmd") == 0) {
            argv[i] = NULL; /* ends the previous command's argv */
            if (i + 1 < argc && ncmds < 256) cmds[ncmds++] = &argv[i + 1];
        }
    }
    if (rounds <= 0 || ncmds == 0) fail("%s", "usage: probe spawn ROUNDS --cmd ARGV... [--cmd ARGV...]");
    signal(SIGALRM, on_alarm);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, devnull, 1);
    posix_spawn_file_actions_adddup2(&actions, devnull, 2);
    for (long r = 0; r < rounds; r++) {
        for (int c = 0; c < ncmds; c++) printf("%d %lld\n", c, (long long)time_one(cmds[c], &actions));
    }
    return 0;
}

/* --- probe signal ----------------------------------------------------------------------- */

static int64_t read_stamp(int fd) {
    int64_t stamp;
    size_t have = 0;
    while (have < sizeof stamp) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, ack_timeout_ms);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) fail("%s", "no acknowledgement from the child within 5 s");
        ssize_t got = read(fd, (char *)&stamp + have, sizeof stamp - have);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) fail("%s", "the child closed its end (did it die?)");
        have += (size_t)got;
    }
    return stamp;
}

static int signal_main(int argc, char **argv) {
    long count = atol(argv[2]);
    int ntargets = (argc - 3) / 2;
    if (count <= 0 || ntargets <= 0 || ntargets > 64 || (argc - 3) % 2 != 0)
        fail("%s", "usage: probe signal COUNT PID FIFO [PID FIFO]...");
    pid_t pids[64];
    int fds[64];
    for (int t = 0; t < ntargets; t++) {
        pids[t] = (pid_t)atol(argv[3 + 2 * t]);
        /* Non-blocking open never waits for the writer; poll() then bounds every wait. */
        fds[t] = open(argv[4 + 2 * t], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (pids[t] <= 0 || fds[t] < 0) fail("cannot open %s", argv[4 + 2 * t]);
        if (read_stamp(fds[t]) != 0) fail("%s", "unexpected ready message");
    }
    for (long i = 0; i < count; i++) {
        for (int t = 0; t < ntargets; t++) {
            int64_t sent = now_ns();
            if (kill(pids[t], SIGUSR1) != 0) fail("kill: %s", strerror(errno));
            int64_t handled = read_stamp(fds[t]);
            printf("%d %lld\n", t, (long long)(handled - sent));
        }
    }
    return 0;
}

/* --- probe kill-chain ------------------------------------------------------------------- */

static int kill_chain_main(char **argv) {
    long count = atol(argv[2]);
    if (count <= 0 || count > 4096) fail("%s", "usage: probe kill-chain COUNT ARGV...");
    signal(SIGALRM, on_alarm);
    alarm(run_timeout_s);
    /* posix_spawn returns once the child has exec'd: each one is running its program. */
    for (long i = 0; i < count; i++) {
        int rc = posix_spawn(&chain[i], argv[3], NULL, NULL, &argv[3], environ);
        if (rc != 0) {
            for (long j = 0; j < i; j++) kill(chain[j], SIGKILL);
            errno = rc;
            fail("cannot run %s", argv[3]);
        }
        chain_len = i + 1;
    }
    int64_t t0 = now_ns();
    for (long i = count - 1; i >= 0; i--) {
        int status;
        kill(chain[i], SIGTERM);
        while (waitpid(chain[i], &status, 0) < 0) {
            if (errno != EINTR) fail("waitpid: %s", strerror(errno));
        }
        chain_len = i; /* reaped: its pid is no longer ours to kill */
    }
    printf("%lld\n", (long long)(now_ns() - t0));
    return 0;
}

/* --- probe timer ------------------------------------------------------------------------ */

static int timer_main(char **argv) {
    long count = atol(argv[2]);
    long delay_ms = atol(argv[3]);
    if (count <= 0 || delay_ms <= 0) fail("%s", "usage: probe timer COUNT MS");
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    if (tfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) != 0) fail("%s", strerror(errno));
    for (long i = 0; i < count; i++) {
        int64_t at = now_ns() + delay_ms * 1000000;
        struct itimerspec spec = {.it_value = {.tv_sec = at / 1000000000, .tv_nsec = at % 1000000000}};
        if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &spec, NULL) != 0) fail("%s", strerror(errno));
        while (epoll_wait(ep, &ev, 1, -1) < 0) {
            if (errno != EINTR) fail("epoll_wait: %s", strerror(errno));
        }
        int64_t woke = now_ns();
        uint64_t expirations;
        if (read(tfd, &expirations, sizeof expirations) < 0) fail("%s", strerror(errno));
        printf("%lld\n", (long long)(woke - at));
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "spawn") == 0) return spawn_main(argc, argv);
    if (argc >= 4 && strcmp(argv[1], "kill-chain") == 0) return kill_chain_main(argv);
    if (argc == 4 && strcmp(argv[1], "timer") == 0) return timer_main(argv);
    if (argc >= 5 && strcmp(argv[1], "signal") == 0) return signal_main(argc, argv);
    fail("%s", "usage: probe spawn ROUNDS --cmd ARGV... | probe signal COUNT PID FIFO... | "
               "probe kill-chain COUNT ARGV... | probe timer COUNT MS");
    return 2;
}
