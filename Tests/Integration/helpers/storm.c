// storm: the load generator and the counting main process of the reliability tests.
//
//   storm send PID --signals 10,12,1,28,34,40 [--threads T] [--count N] [--sigq-max M]
//              [--out FILE]
//     T threads (default 2) each send N signals (default 10000) to PID with kill(), cycling
//     through the list, as an orchestrator does (kill(), not sigqueue()). Every 64 sends a
//     thread reads SigQ in /proc/PID/status (the target user's queued signals / its
//     RLIMIT_SIGPENDING) and waits while more than M (default: a tenth of the limit) are
//     queued, so that the kernel never drops a real-time signal for lack of room and any
//     loss the test sees is usher's. ESRCH (the target is gone: the test stopped it) ends the
//     sender early. Writes to FILE (or stdout):
//       sent SIG COUNT LAST_NS      per signal: how many, and CLOCK_MONOTONIC before the last
//       total COUNT DURATION_NS MAX_SIGQ STOPPED_EARLY
//
//   storm main --out FILE [--fork-every-us U] [--orphan-every N] [--ignore-term]
//              [--code C] [--status-every-ms MS] [--run-for-s S]
//     Counts every signal it receives (handlers for 1..64 except KILL, STOP, CHLD, and glibc's
//     internal 32 and 33), with the time of the last of each, and how many came from a
//     process other than its parent (usher). Every U microseconds (0: never) it forks a child
//     that exits at once (reaped here); every Nth of those instead double-forks, leaving an
//     orphan that exits at once (reparented to, and reaped by, usher). Every MS (default 100)
//     and when it stops it writes FILE (atomically, through FILE.tmp):
//       recv SIG COUNT LAST_NS FOREIGN
//       forks COUNT ORPHANS
//       final 0|1
//     SIGTERM/SIGINT/SIGQUIT end it at once, from the handler: it exits with C (default: dies of
//     the signal), unless --ignore-term: then it keeps forking until SIGKILL. It exits by itself
//     (status 0) after S seconds (default 120: it never outlives a broken test).
//
//   storm orphans N [--hold-ms MS]
//     Double-forks N grandchildren that outlive their parents (reparented to the nearest
//     subreaper or PID 1), as fast as it can. With --hold-ms they all exit together, MS after
//     the first was made (their SIGCHLDs coalesce: a reaper that reaps one child per SIGCHLD
//     leaves zombies); without, each exits at once, often before its parent (a zombie that is
//     reparented). Prints "orphans MADE" and exits 0 once all are made.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_us(long us) {
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

// ---- send ---------------------------------------------------------------------------------

static pid_t target;
static int sigs[64], nsigs;
static long per_thread = 10000;
static long sigq_max = -1;
static int stopped_early;
static long sent_count[65];
static long long last_sent[65];
static long max_sigq;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

// SigQ: queued/limit for the target's user.
static int read_sigq(long *queued, long *limit) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)target);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strstr(buf, "SigQ:");
    if (!p) return -1;
    return sscanf(p + 5, " %ld/%ld", queued, limit) == 2 ? 0 : -1;
}

static void *sender(void *arg) {
    int offset = (int)(long)arg;
    long count[65] = {0};
    long long last[65] = {0};
    long local_max = 0;
    for (long i = 0; i < per_thread && !stopped_early; i++) {
        if (i % 64 == 0) {
            long q, lim;
            for (;;) {
                if (read_sigq(&q, &lim) != 0) break;
                if (q > local_max) local_max = q;
                long cap = sigq_max >= 0 ? sigq_max : lim / 10;
                if (q <= cap) break;
                sleep_us(200);
            }
        }
        int sig = sigs[(i + offset) % nsigs];
        long long t = now_ns();
        if (kill(target, sig) != 0) {
            if (errno == ESRCH) { stopped_early = 1; break; }
            continue;
        }
        count[sig]++;
        last[sig] = t;
    }
    pthread_mutex_lock(&lock);
    for (int s = 1; s <= 64; s++) {
        sent_count[s] += count[s];
        if (last[s] > last_sent[s]) last_sent[s] = last[s];
    }
    if (local_max > max_sigq) max_sigq = local_max;
    pthread_mutex_unlock(&lock);
    return NULL;
}

static int run_send(int argc, char **argv) {
    if (argc < 3) return 64;
    target = atoi(argv[2]);
    int threads = 2;
    const char *out = NULL;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--threads")) { threads = atoi(v); i++; }
        else if (!strcmp(a, "--count")) { per_thread = atol(v); i++; }
        else if (!strcmp(a, "--sigq-max")) { sigq_max = atol(v); i++; }
        else if (!strcmp(a, "--out")) { out = v; i++; }
        else if (!strcmp(a, "--signals")) {
            char *copy = strdup(v), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t && nsigs < 64; t = strtok_r(NULL, ",", &save)) sigs[nsigs++] = atoi(t);
            i++;
        } else { fprintf(stderr, "storm send: unknown option %s\n", a); return 64; }
    }
    if (nsigs == 0 || threads < 1 || threads > 64) return 64;
    pthread_t ids[64];
    long long start = now_ns();
    for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, sender, (void *)(long)t);
    for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
    long long took = now_ns() - start;
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) return 70;
    long total = 0;
    for (int s = 1; s <= 64; s++) {
        if (sent_count[s] == 0) continue;
        fprintf(f, "sent %d %ld %lld\n", s, sent_count[s], last_sent[s]);
        total += sent_count[s];
    }
    fprintf(f, "total %ld %lld %ld %d\n", total, took, max_sigq, stopped_early);
    fclose(f);
    return 0;
}

// ---- main ---------------------------------------------------------------------------------

static volatile sig_atomic_t stop_sig;
static volatile long recv_count[65];
static volatile long long recv_last[65];
static volatile long recv_foreign[65];
static pid_t parent;
static const char *status_path;
static int ignore_term, exit_code = -1;
static long forks, orphans;

static void on_signal(int sig, siginfo_t *info, void *ctx) {
    (void)ctx;
    recv_count[sig]++;
    recv_last[sig] = now_ns();
    if (info->si_code != SI_USER || info->si_pid != parent) recv_foreign[sig]++;
    if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
        stop_sig = sig;
        // Stop in the handler itself: a process flooded with queued real-time signals never gets
        // back to its main loop (each return to user space delivers the next one), so it would
        // not notice a flag until the flood ends.
        if (!ignore_term) {
            if (exit_code >= 0) _exit(exit_code);
            struct sigaction dfl;
            memset(&dfl, 0, sizeof dfl);
            dfl.sa_handler = SIG_DFL;
            sigaction(sig, &dfl, NULL);
            raise(sig);  // delivered as the handler returns: dies of the stop signal
        }
    }
}

static void write_status(int final) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", status_path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    for (int s = 1; s <= 64; s++) {
        long c = recv_count[s];
        if (c) fprintf(f, "recv %d %ld %lld %ld\n", s, c, (long long)recv_last[s], (long)recv_foreign[s]);
    }
    fprintf(f, "forks %ld %ld\nfinal %d\n", forks, orphans, final);
    fclose(f);
    rename(tmp, status_path);
}

static int run_main(int argc, char **argv) {
    long fork_every_us = 0, orphan_every = 0, status_every_ms = 100, run_for_s = 120;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--out")) { status_path = v; i++; }
        else if (!strcmp(a, "--fork-every-us")) { fork_every_us = atol(v); i++; }
        else if (!strcmp(a, "--orphan-every")) { orphan_every = atol(v); i++; }
        else if (!strcmp(a, "--status-every-ms")) { status_every_ms = atol(v); i++; }
        else if (!strcmp(a, "--run-for-s")) { run_for_s = atol(v); i++; }
        else if (!strcmp(a, "--ignore-term")) { ignore_term = 1; }
        else if (!strcmp(a, "--code")) { exit_code = atoi(v); i++; }
        else { fprintf(stderr, "storm main: unknown option %s\n", a); return 64; }
    }
    if (!status_path) return 64;
    parent = getppid();
    for (int sig = 1; sig <= 64; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD || sig == 32 || sig == 33) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigaction(sig, &sa, NULL);
    }
    write_status(0);
    long long next_status = now_ns() + status_every_ms * 1000000LL;
    long long hard_cap = now_ns() + run_for_s * 1000000000LL;
    for (;;) {
        if (stop_sig && !ignore_term) break;
        long long now = now_ns();
        if (now > hard_cap) { write_status(1); return 0; }
        if (now >= next_status) {
            write_status(0);
            next_status = now + status_every_ms * 1000000LL;
        }
        if (fork_every_us > 0) {
            forks++;
            int orphan = orphan_every > 0 && forks % orphan_every == 0;
            pid_t p = fork();
            if (p == 0) {
                if (orphan && fork() > 0) _exit(0);  // the middle exits: the grandchild is an orphan
                _exit(0);
            }
            if (p > 0) {
                if (orphan) orphans++;
                while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {}
            }
            sleep_us(fork_every_us);
        } else {
            sleep_us(10000);
        }
    }
    write_status(1);
    if (exit_code >= 0) return exit_code;
    int sig = stop_sig ? stop_sig : SIGTERM;
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    return 127;
}

// ---- orphans ------------------------------------------------------------------------------

static int run_orphans(int argc, char **argv) {
    if (argc < 3) return 64;
    long n = atol(argv[2]), hold_ms = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--hold-ms") && i + 1 < argc) { hold_ms = atol(argv[++i]); }
        else { fprintf(stderr, "storm orphans: unknown option %s\n", argv[i]); return 64; }
    }
    long made = 0;
    long long exit_at = now_ns() + hold_ms * 1000000LL;
    for (long i = 0; i < n; i++) {
        pid_t middle = fork();
        if (middle == 0) {
            pid_t g = fork();
            if (g == 0) {
                if (hold_ms > 0) {
                    struct timespec at = { (time_t)(exit_at / 1000000000LL), (long)(exit_at % 1000000000LL) };
                    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR) {}
                }
                _exit(0);
            }
            _exit(g > 0 ? 0 : 1);
        }
        if (middle < 0) { sleep_us(1000); i--; continue; }
        int st;
        while (waitpid(middle, &st, 0) < 0 && errno == EINTR) {}
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) made++;
    }
    printf("orphans %ld\n", made);
    return made == n ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "send")) return run_send(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "main")) return run_main(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "orphans")) return run_orphans(argc, argv);
    fprintf(stderr, "usage: storm send PID ... | storm main --out FILE ... | storm orphans N\n");
    return 64;
}
