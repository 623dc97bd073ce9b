/*
 * The supervised process of the benchmarks (built with gcc -O2 -static). One program, one mode
 * per measurement; the driver talks to it through FIFOs named on the command line, so nothing
 * depends on the supervisor passing file descriptors on.
 *
 *   child sigack FIFO        SIGUSR1 handler writes CLOCK_MONOTONIC (8 bytes, ns) to FIFO
 *   child term-ack FIFO      SIGTERM handler writes CLOCK_MONOTONIC to FIFO, then exits 0
 *   child ignore-term FIFO   ignores SIGTERM (only SIGKILL ends it)
 *   child pause              sleeps with default dispositions (SIGTERM ends it at once)
 *   child orphans N READY GO starts N orphans (reparented to PID 1) that exit together when
 *                            a byte is written to the FIFO GO
 *
 * Every mode that has a FIFO writes 8 zero bytes to it once it is ready (handlers installed,
 * orphans started), then sleeps until a signal ends it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int out_fd = -1;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "child: %s: %s\n", what, strerror(errno));
    _exit(99);
}

static void write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(98); /* the driver is gone: nothing left to report to */
        p += n;
        len -= (size_t)n;
    }
}

static void send_stamp(int64_t t) { write_all(out_fd, &t, sizeof t); }

/* The handlers take the time first, then report it: write() is async-signal-safe. */
static void on_usr1(int sig) { (void)sig; send_stamp(now_ns()); }
static void on_term(int sig) { (void)sig; send_stamp(now_ns()); _exit(0); }

static void handle(int sig, void (*fn)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0) die("sigaction");
}

static void open_out(const char *fifo) {
    out_fd = open(fifo, O_WRONLY | O_CLOEXEC); /* blocks until the driver opens its end */
    if (out_fd < 0) die(fifo);
}

static void sleep_forever(void) {
    for (;;) pause();
}

/*
 * N orphans that all block on one pipe: an intermediate process forks them and exits, so they
 * are reparented to PID 1 (the supervisor). Each closes its copy of the pipe's write end and
 * reports on `started`; once all N have, this process holds the last write end. A byte on the
 * FIFO GO makes it close that end: every orphan's read() returns 0 at the same moment and it
 * exits, leaving N zombies for the supervisor to reap.
 */
static void orphans(long n, const char *ready, const char *go) {
    int gate[2], started[2];
    if (pipe2(gate, O_CLOEXEC) != 0 || pipe2(started, O_CLOEXEC) != 0) die("pipe");
    pid_t mid = fork();
    if (mid < 0) die("fork");
    if (mid == 0) {
        for (long i = 0; i < n; i++) {
            pid_t p = fork();
            if (p < 0) die("fork orphan");
            if (p == 0) {
                char c;
                close(gate[1]);
                close(started[0]);
                write_all(started[1], "s", 1);
                close(started[1]);
                while (read(gate[0], &c, 1) < 0 && errno == EINTR) {}
                _exit(0);
            }
        }
        _exit(0);
    }
    close(gate[0]);
    close(started[1]);
    int status;
    while (waitpid(mid, &status, 0) < 0 && errno == EINTR) {}
    char buf[512];
    long seen = 0;
    while (seen < n) {
        ssize_t got = read(started[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) die("orphans did not start");
        seen += got;
    }
    close(started[0]);
    /* Read-write: the open never waits for a writer, and read() blocks until the driver's
     * byte arrives (this process being a writer itself, it never sees end-of-file). */
    int go_fd = open(go, O_RDWR | O_CLOEXEC);
    if (go_fd < 0) die(go);
    open_out(ready);
    send_stamp(0);
    char c;
    ssize_t got;
    while ((got = read(go_fd, &c, 1)) < 0 && errno == EINTR) {}
    close(gate[1]); /* the last write end: all orphans wake up now */
    sleep_forever();
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "sigack") == 0) {
        open_out(argv[2]);
        handle(SIGUSR1, on_usr1);
        send_stamp(0);
        sleep_forever();
    } else if (argc >= 3 && strcmp(argv[1], "term-ack") == 0) {
        open_out(argv[2]);
        handle(SIGTERM, on_term);
        send_stamp(0);
        sleep_forever();
    } else if (argc >= 3 && strcmp(argv[1], "ignore-term") == 0) {
        open_out(argv[2]);
        signal(SIGTERM, SIG_IGN);
        send_stamp(0);
        sleep_forever();
    } else if (argc >= 2 && strcmp(argv[1], "pause") == 0) {
        sleep_forever();
    } else if (argc >= 5 && strcmp(argv[1], "orphans") == 0) {
        orphans(atol(argv[2]), argv[3], argv[4]);
    }
    fprintf(stderr, "usage: child sigack|term-ack|ignore-term FIFO | pause | orphans N READY GO\n");
    return 2;
}
