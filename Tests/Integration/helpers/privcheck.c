// privcheck: run by usher as a container's process, it reports what it runs as and tries to
// regain root, one line per fact, to OUTFILE (written whole, then renamed into place):
//   resuid R E S / resgid R E S   getresuid(), getresgid()
//   groups N G...                 the supplementary groups
//   CapInh/CapPrm/CapEff/CapBnd/CapAmb HEX, NoNewPrivs N   from /proc/self/status
//   try NAME OK|ERRNO             setuid(0), setgid(0), setgroups({0}), setresuid(0,0,0),
//                                 setresgid(0,0,0), kill(1, 0) (PID 1 is usher, root's)
//   euid-after-setuid-exec E      with --exec PATH: the euid of PATH (a setuid-root copy of
//                                 this program, run with --euid-only) as it runs
//
// privcheck OUTFILE [--exec PATH]
// privcheck --euid-only          prints its effective uid and exits
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void try(FILE *f, const char *name, int rc) {
    if (rc == 0) fprintf(f, "try %s OK\n", name);
    else fprintf(f, "try %s %s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "--euid-only")) {
        printf("%d\n", (int)geteuid());
        return 0;
    }
    if (argc < 2) { fprintf(stderr, "usage: privcheck OUTFILE [--exec PATH]\n"); return 64; }
    const char *out = argv[1], *exec_path = NULL;
    if (argc >= 4 && !strcmp(argv[2], "--exec")) exec_path = argv[3];
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    if (!f) return 70;

    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    fprintf(f, "resuid %d %d %d\nresgid %d %d %d\n", (int)r, (int)e, (int)s, (int)gr, (int)ge, (int)gs);
    gid_t groups[256];
    int n = getgroups(256, groups);
    fprintf(f, "groups %d", n);
    for (int i = 0; i < n; i++) fprintf(f, " %d", (int)groups[i]);
    fprintf(f, "\n");
    FILE *st = fopen("/proc/self/status", "r");
    char line[512];
    while (st && fgets(line, sizeof line, st)) {
        if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10)) {
            char *colon = strchr(line, ':');
            if (!colon) continue;
            *colon = 0;
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t') v++;
            fprintf(f, "%s %s", line, v);
        }
    }
    if (st) fclose(st);

    try(f, "setuid0", setuid(0));
    try(f, "setgid0", setgid(0));
    gid_t zero = 0;
    try(f, "setgroups0", setgroups(1, &zero));
    try(f, "setresuid0", setresuid(0, 0, 0));
    try(f, "setresgid0", setresgid(0, 0, 0));
    try(f, "kill1", kill(1, 0));

    if (exec_path) {
        int fds[2];
        if (pipe(fds) == 0) {
            pid_t pid = fork();
            if (pid == 0) {
                dup2(fds[1], 1);
                execl(exec_path, exec_path, "--euid-only", (char *)NULL);
                _exit(127);
            }
            close(fds[1]);
            char buf[64] = {0};
            ssize_t got = read(fds[0], buf, sizeof buf - 1);
            waitpid(pid, NULL, 0);
            buf[got > 0 ? got : 0] = 0;
            buf[strcspn(buf, "\n")] = 0;
            fprintf(f, "euid-after-setuid-exec %s\n", buf[0] ? buf : "-");
        }
    }
    fclose(f);
    return rename(tmp, out) == 0 ? 0 : 71;
}
