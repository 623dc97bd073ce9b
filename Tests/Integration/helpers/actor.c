// actor: plays an app or a sidecar under usher in the integration tests, and records what
// happens to it, one line per event, appended to a log file shared by all actors of a test:
//   NAME EVENT DETAIL MONOTONIC_NS PID
// CLOCK_MONOTONIC is the clock Python's time.monotonic_ns() reads, so a test can compare when
// it sent a signal with when an actor received it.
//
// actor NAME --log FILE [--ignore SIG]... [--stop-on SIG] [--linger MS] [--code N]
//       [--exit-after MS] [--orphans N] [--orphan-ms MS] [--report] [--tag WORD]
//   TERM, INT, QUIT and --stop-on SIG end the actor: it logs the signal, waits --linger ms,
//   logs "exit", then exits with --code if given, else dies of that same signal.
//   Other catchable signals are only logged. --ignore sets SIG_IGN (the kernel drops them).
//   --exit-after: exit by itself with --code (default 0) after MS.
//   The "exit" line's detail is the status its parent will see, as a shell shows it: the code,
//   or 128+N when it dies of signal N.
//   --orphans N: double-fork N grandchildren that outlive their parent (reparented to usher),
//   log their new ppid, and all exit together --orphan-ms (default 200) after the first was made.
//   --tag WORD: ignored (a test's marker on the command line, e.g. a fake secret).
//   --report: log pgid, blocked and ignored signal masks (as inherited), $ACTOR_ENV, ppid,
//   the terminal's foreground process group and the session id (sid), before installing any
//   handler.
//   --catch SIG: log SIG and go on running, even for TERM, INT and QUIT (a process that
//   ignores its stop signal but shows that it got it).
//   --out-lines N / --err-lines N: a thread writes N lines "NAME out 000001" (or "err") to
//   stdout (stderr) as fast as the pipe takes them, then logs "wrote-out N" ("wrote-err N").
//   The thread blocks every signal: the main thread keeps logging them while it is blocked.
//   --flood nl|y: a thread writes 64 KiB blocks of newlines (or of "y\n", as `yes` does) to
//   stdout for ever.
//   --join-group-of NAME: setpgid(0, pid of the first actor NAME that logged "start"), waiting
//   up to 5 s for it; NAME "usher" means the process group of the parent. Logs "joined PGID"
//   or "join-failed ERRNO".
//   --give-pid-of NAME: just before exiting by itself, write (pid of the last actor NAME that
//   logged "start") - 1 to /proc/sys/kernel/ns_last_pid, so that the next process made in the
//   pid namespace gets NAME's pid if it is free; NAME equal to its own name means its own pid.
//   Logs "gave PID" or "give-failed ERRNO".
//   --argv-hex: log "argv" with each of argv[1..] in hex, joined by commas.
//   --env-hex VAR: log "envhex" with "VAR=HEX" of the variable's value ("VAR=-" when unset);
//   repeatable (up to 8).
//   --report-cwd: log "cwd" with the working directory.
//   --loop MS: log "loop N" every MS ms (N counts from 1) while running, as the kubelet e2e
//   tests' "Looping" lines do, so that a test can tell when a process last ran (a process
//   killed with SIGKILL logs no "exit").
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *name = "actor";
static const char *log_path;
static int pipe_fds[2];

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void log_event_at(const char *event, const char *detail, long long ns) {
    if (!log_path) return;
    char line[4096];
    int n = snprintf(line, sizeof line, "%s %s %s %lld %d\n", name, event, detail, ns, (int)getpid());
    // One write() per line on an O_APPEND file: lines of concurrent actors never interleave.
    // A log that cannot be written means the test is gone (its folder removed): leave quietly
    // rather than run on unobserved.
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) _exit(0);
    if (write(fd, line, (size_t)n) != (ssize_t)n) _exit(0);
    close(fd);
}

static void log_event(const char *event, const char *detail) { log_event_at(event, detail, now_ns()); }

struct record { int sig; long long ns; };

static void on_signal(int sig) {
    int saved = errno;
    struct record r = { sig, now_ns() };
    if (write(pipe_fds[1], &r, sizeof r) < 0) { /* pipe full: dropped */ }
    errno = saved;
}

static int signal_number(const char *s) {
    static const char *names[] = { "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE",
        "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP",
        "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS" };
    if (strncmp(s, "SIG", 3) == 0) s += 3;
    for (int i = 1; i < 32; i++) if (strcmp(s, names[i]) == 0) return i;
    return atoi(s);
}

static void status_field(const char *field, char *out, size_t size) {
    snprintf(out, size, "-");
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    char line[256];
    size_t len = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            char *v = line + len + 1;
            while (*v == ' ' || *v == '\t') v++;
            v[strcspn(v, "\n")] = 0;
            snprintf(out, size, "%s", v);
        }
    }
    fclose(f);
}

// All orphans exit at the same instant (ms after the first was made), so that their SIGCHLDs
// coalesce: a reaper that handles one exit per SIGCHLD leaves zombies behind.
static void make_orphans(int count, int ms) {
    long long exit_at = now_ns() + (long long)ms * 1000000LL;
    for (int i = 0; i < count; i++) {
        pid_t middle = fork();
        if (middle == 0) {
            if (fork() == 0) {
                usleep(50 * 1000);  // let the middle process exit first
                char detail[32];
                snprintf(detail, sizeof detail, "%d", (int)getppid());
                log_event("orphan-ppid", detail);
                struct timespec at = { (time_t)(exit_at / 1000000000LL), (long)(exit_at % 1000000000LL) };
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR) {}
                log_event("orphan-exit", "0");
                _exit(0);
            }
            _exit(0);
        }
        if (middle > 0) waitpid(middle, NULL, 0);
    }
}


// --- for --out-lines, --flood, --join-group-of, --give-pid-of, --argv-hex and --env-hex ------

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return; }
        p += w; n -= (size_t)w;
    }
}

struct lines_job { int fd; long count; const char *word; };

static void *write_lines(void *arg) {
    struct lines_job *job = arg;
    char buf[8192];
    size_t used = 0;
    for (long i = 1; i <= job->count; i++) {
        int n = snprintf(buf + used, sizeof buf - used, "%s %s %06ld\n", name, job->word, i);
        used += (size_t)n;
        if (sizeof buf - used < 256 || i == job->count) { write_all(job->fd, buf, used); used = 0; }
    }
    char detail[32];
    snprintf(detail, sizeof detail, "%ld", job->count);
    log_event(job->fd == 1 ? "wrote-out" : "wrote-err", detail);
    return NULL;
}

static void *flood(void *arg) {
    static char block[65536];
    const char *kind = arg;
    if (!strcmp(kind, "y")) { for (size_t i = 0; i < sizeof block; i += 2) { block[i] = 'y'; block[i + 1] = '\n'; } }
    else memset(block, '\n', sizeof block);
    for (;;) write_all(1, block, sizeof block);
    return NULL;
}

// Starts a thread with every signal blocked (it inherits the mask), so that the signals go to
// the main thread, which logs them.
static void start_thread(void *(*fn)(void *), void *arg) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_create(&t, NULL, fn, arg);
    pthread_detach(t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

// The pid an actor NAME logged with "start": the first one, or the last one.
static int pid_of(const char *who, int last) {
    FILE *f = fopen(log_path, "r");
    if (!f) return -1;
    char line[4096];
    int found = -1;
    size_t len = strlen(who);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, who, len) == 0 && strncmp(line + len, " start - ", 9) == 0) {
            char *p = strrchr(line, ' ');
            found = atoi(p + 1);
            if (!last) break;
        }
    }
    fclose(f);
    return found;
}

static void join_group_of(const char *who) {
    int pgid = -1;
    if (!strcmp(who, "usher")) pgid = (int)getpgid(getppid());
    else {
        for (int i = 0; i < 500 && (pgid = pid_of(who, 0)) < 0; i++) usleep(10 * 1000);
    }
    char detail[32];
    if (pgid > 0 && setpgid(0, pgid) == 0) {
        snprintf(detail, sizeof detail, "%d", (int)getpgrp());
        log_event("joined", detail);
    } else {
        snprintf(detail, sizeof detail, "%d", pgid > 0 ? errno : -1);
        log_event("join-failed", detail);
    }
}

static void give_pid_of(const char *who) {
    int pid = !strcmp(who, name) ? (int)getpid() : pid_of(who, 1);
    char detail[32];
    int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
    if (pid > 1 && fd >= 0) {
        char text[32];
        int n = snprintf(text, sizeof text, "%d", pid - 1);
        if (write(fd, text, (size_t)n) == n) {
            close(fd);
            snprintf(detail, sizeof detail, "%d", pid);
            log_event("gave", detail);
            return;
        }
    }
    snprintf(detail, sizeof detail, "%d", pid > 1 ? errno : -1);
    log_event("give-failed", detail);
    if (fd >= 0) close(fd);
}

static void hex(const char *s, char *out, size_t size) {
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && k + 3 < size; p++) k += (size_t)snprintf(out + k, size - k, "%02x", *p);
    out[k] = 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: actor NAME --log FILE [options]\n"); return 64; }
    name = argv[1];
    int ignore[64] = {0}, stop_on[64] = {0}, catch_only[64] = {0};
    long linger_ms = 0, exit_after_ms = -1, orphan_ms = 200, loop_ms = 0;
    int code = -1, orphans = 0, report = 0, argv_hex = 0, report_cwd = 0;
    long out_lines = 0, err_lines = 0;
    const char *flood_kind = NULL, *join_of = NULL, *give_of = NULL, *env_hex[8] = {0};
    int env_hexes = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--log")) { log_path = v; i++; }
        else if (!strcmp(a, "--ignore")) { ignore[signal_number(v) & 63] = 1; i++; }
        else if (!strcmp(a, "--stop-on")) { stop_on[signal_number(v) & 63] = 1; i++; }
        else if (!strcmp(a, "--linger")) { linger_ms = atol(v); i++; }
        else if (!strcmp(a, "--code")) { code = atoi(v); i++; }
        else if (!strcmp(a, "--exit-after")) { exit_after_ms = atol(v); i++; }
        else if (!strcmp(a, "--orphans")) { orphans = atoi(v); i++; }
        else if (!strcmp(a, "--orphan-ms")) { orphan_ms = atol(v); i++; }
        else if (!strcmp(a, "--report")) { report = 1; }
        else if (!strcmp(a, "--tag")) { i++; }  // means nothing: a word a test wants on the command line
        else if (!strcmp(a, "--catch")) { catch_only[signal_number(v) & 63] = 1; i++; }
        else if (!strcmp(a, "--out-lines")) { out_lines = atol(v); i++; }
        else if (!strcmp(a, "--err-lines")) { err_lines = atol(v); i++; }
        else if (!strcmp(a, "--flood")) { flood_kind = v; i++; }
        else if (!strcmp(a, "--join-group-of")) { join_of = v; i++; }
        else if (!strcmp(a, "--give-pid-of")) { give_of = v; i++; }
        else if (!strcmp(a, "--argv-hex")) { argv_hex = 1; }
        else if (!strcmp(a, "--env-hex")) { if (env_hexes < 8) env_hex[env_hexes++] = v; i++; }
        else if (!strcmp(a, "--report-cwd")) { report_cwd = 1; }
        else if (!strcmp(a, "--loop")) { loop_ms = atol(v); i++; }
        else { fprintf(stderr, "actor: unknown option %s\n", a); return 64; }
    }
    stop_on[SIGTERM] = stop_on[SIGINT] = stop_on[SIGQUIT] = 1;
    for (int sig = 0; sig < 64; sig++) if (catch_only[sig]) stop_on[sig] = 0;

    if (report) {
        char buf[128];
        snprintf(buf, sizeof buf, "%d", (int)getpgrp()); log_event("pgid", buf);
        status_field("SigBlk", buf, sizeof buf); log_event("sigblk", buf);
        status_field("SigIgn", buf, sizeof buf); log_event("sigign", buf);
        const char *env = getenv("ACTOR_ENV");
        log_event("env", env && *env ? env : "-");
        snprintf(buf, sizeof buf, "%d", (int)getppid()); log_event("ppid", buf);
        snprintf(buf, sizeof buf, "%d", (int)tcgetpgrp(0)); log_event("tty_fg", buf);
        snprintf(buf, sizeof buf, "%d", (int)getsid(0)); log_event("sid", buf);
    }

    if (pipe2(pipe_fds, O_CLOEXEC) != 0) return 70;
    // The handler must never block: a full pipe drops the record instead.
    fcntl(pipe_fds[1], F_SETFL, O_NONBLOCK);
    for (int sig = 1; sig < 32; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = ignore[sig] ? SIG_IGN : on_signal;
        sa.sa_flags = SA_RESTART;
        sigaction(sig, &sa, NULL);
    }
    log_event("start", "-");
    if (argv_hex) {
        static char all[3000];
        size_t k = 0;
        for (int i = 1; i < argc && k < sizeof all - 4; i++) {
            char h[1024];
            hex(argv[i], h, sizeof h);
            k += (size_t)snprintf(all + k, sizeof all - k, "%s%s", i > 1 ? "," : "", h);
        }
        log_event("argv", all);
    }
    for (int k = 0; k < env_hexes; k++) {
        const char *value = getenv(env_hex[k]);
        char h[1024], detail[1200];
        if (value) hex(value, h, sizeof h); else snprintf(h, sizeof h, "-");
        snprintf(detail, sizeof detail, "%s=%s", env_hex[k], h);
        log_event("envhex", detail);
    }
    if (report_cwd) {
        char cwd[2048];
        log_event("cwd", getcwd(cwd, sizeof cwd) ? cwd : "-");
    }
    if (join_of) join_group_of(join_of);
    static struct lines_job out_job, err_job;
    if (out_lines > 0) { out_job = (struct lines_job){ 1, out_lines, "out" }; start_thread(write_lines, &out_job); }
    if (err_lines > 0) { err_job = (struct lines_job){ 2, err_lines, "err" }; start_thread(write_lines, &err_job); }
    if (flood_kind) start_thread(flood, (void *)flood_kind);
    if (orphans > 0) make_orphans(orphans, (int)orphan_ms);

    long long start = now_ns();
    long long hard_cap = start + 120LL * 1000000000LL;  // never outlive a broken test
    long loops = 0;
    long long next_loop = loop_ms > 0 ? start + loop_ms * 1000000LL : 0;
    for (;;) {
        long long deadline = exit_after_ms >= 0 ? start + exit_after_ms * 1000000LL : hard_cap;
        if (loop_ms > 0 && now_ns() >= next_loop) {
            char detail[32];
            snprintf(detail, sizeof detail, "%ld", ++loops);
            log_event("loop", detail);
            next_loop += loop_ms * 1000000LL;
        }
        long long wake = loop_ms > 0 && next_loop < deadline ? next_loop : deadline;
        long long left_ms = (deadline - now_ns()) / 1000000LL;
        long long wait_ms = (wake - now_ns()) / 1000000LL;
        if (wait_ms < 0) wait_ms = 0;
        if (left_ms <= 0) {
            int status = code >= 0 ? code : 0;
            if (give_of) give_pid_of(give_of);
            char detail[16];
            snprintf(detail, sizeof detail, "%d", status);
            log_event("exit", detail);
            return status;
        }
        struct pollfd p = { pipe_fds[0], POLLIN, 0 };
        int n = poll(&p, 1, (int)(wait_ms > 1000000 ? 1000000 : wait_ms));
        if (n <= 0) continue;
        struct record r;
        if (read(pipe_fds[0], &r, sizeof r) != (ssize_t)sizeof r) continue;
        char detail[16];
        snprintf(detail, sizeof detail, "%d", r.sig);
        log_event_at("signal", detail, r.ns);
        if (stop_on[r.sig]) {
            if (linger_ms > 0) usleep((useconds_t)linger_ms * 1000);
            char status[16];
            snprintf(status, sizeof status, "%d", code >= 0 ? code : 128 + r.sig);
            log_event("exit", status);
            if (code >= 0) return code;
            signal(r.sig, SIG_DFL);
            raise(r.sig);
            return 127;  // not reached: the default action of a stop signal ends the process
        }
    }
}
