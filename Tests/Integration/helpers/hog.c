// hog: a process that runs out of memory, for the OOM attribution tests.
//
// hog NAME --log FILE [--mib N] [--after MS]
//   Logs "start" in the actor's event format (NAME EVENT DETAIL MONOTONIC_NS PID), waits
//   --after ms (default 0), then allocates N MiB (default 4096) one MiB at a time, writing to
//   every page so that each is charged to its memory cgroup, and logs "allocated K" every 8 MiB.
//   Under a memory limit below N the kernel's OOM killer ends it with SIGKILL; if it gets all of
//   it, it logs "survived N" and sleeps for up to 120 s (never outliving a broken test).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *name = "hog";
static const char *log_path;

static void log_event(const char *event, long detail) {
    if (!log_path) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char line[512];
    int n = snprintf(line, sizeof line, "%s %s %ld %lld %d\n", name, event, detail,
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, (int)getpid());
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    if (write(fd, line, (size_t)n) != n) { /* nothing to do */ }
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: hog NAME --log FILE [--mib N] [--after MS]\n"); return 64; }
    name = argv[1];
    long mib = 4096, after_ms = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--log")) { log_path = v; i++; }
        else if (!strcmp(a, "--mib")) { mib = atol(v); i++; }
        else if (!strcmp(a, "--after")) { after_ms = atol(v); i++; }
        else { fprintf(stderr, "hog: unknown option %s\n", a); return 64; }
    }
    // The start line has "-" as its detail, as the actor's does.
    if (log_path) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        char line[512];
        int n = snprintf(line, sizeof line, "%s start - %lld %d\n", name,
                         (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, (int)getpid());
        int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) { if (write(fd, line, (size_t)n) != n) { /* ignored */ } close(fd); }
    }
    if (after_ms > 0) usleep((useconds_t)after_ms * 1000);
    long page = sysconf(_SC_PAGESIZE);
    for (long i = 1; i <= mib; i++) {
        char *p = malloc(1 << 20);
        if (!p) { log_event("malloc-failed", i); break; }
        for (long k = 0; k < (1 << 20); k += page) p[k] = (char)(i | 1);
        if (i % 8 == 0) log_event("allocated", i);
    }
    log_event("survived", mib);
    sleep(120);
    return 0;
}
