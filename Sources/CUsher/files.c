// Files opened on a container's behalf (the policy is System/ContainerFiles.swift): openat, the
// link-free openat2 and its fallback walk, fstat's facts, the file-system ids; and mkdir. See
// "Files" in cusher.h.
#define _GNU_SOURCE 1
#include "cusher.h"
#include <sys/stat.h>
#include <sys/fsuid.h>

int cusher_openat(int dir, const char *path, int flags, int mode) {
    return openat(dir, path, flags | O_CLOEXEC | O_NOCTTY, mode);
}

int cusher_open_directory(const char *path) { return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC); }

// openat2's request (linux/openat2.h, which musl's headers do not carry), written out.
struct cusher_open_how {
    uint64_t flags, mode, resolve;
};
#ifndef SYS_openat2
#define SYS_openat2 437  // the same number on every architecture (the unified syscall table)
#endif

// Without openat2: each directory below `dir` opened with O_NOFOLLOW (a symbolic link there
// fails O_DIRECTORY), the file itself too; ".." is refused (EXDEV, as RESOLVE_BENEATH says it).
static int open_without_links(int dir, const char *path) {
    char part[256];
    int current = dir;
    while (*path) {
        const char *end = strchr(path, '/');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        int fd = -2;  // nothing to open for an empty or "." component
        if (n >= sizeof part) {
            errno = ENAMETOOLONG;
            fd = -1;
        } else if (n == 2 && path[0] == '.' && path[1] == '.') {
            errno = EXDEV;
            fd = -1;
        } else if (n > 0 && !(n == 1 && path[0] == '.')) {
            memcpy(part, path, n);
            part[n] = 0;
            fd = end ? openat(current, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                     : openat(current, part, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        }
        if (fd != -2) {
            int saved = errno;
            if (current != dir) close(current);
            errno = saved;
            if (fd < 0) return -1;
            current = fd;
        }
        path += n + (end ? 1 : 0);
    }
    if (current == dir) {  // nothing named below dir
        errno = EISDIR;
        return -1;
    }
    return current;
}

int cusher_open_beneath(const char *root, const char *path) {
    int dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -1;
    size_t n = strlen(root);
    if (strncmp(path, root, n) == 0) path += n;
    while (*path == '/') path++;
    // RESOLVE_BENEATH (0x08): no step of the walk may leave `dir`, through "..", an absolute
    // path or a symbolic link; RESOLVE_NO_MAGICLINKS (0x02): no /proc/PID/fd-style link at all.
    struct cusher_open_how how = {(uint64_t)(O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), 0, 0x08 | 0x02};
    int fd = (int)syscall(SYS_openat2, dir, path, &how, sizeof how);
    // A seccomp profile that does not know openat2 answers ENOSYS or EPERM (Docker's before
    // 20.10): the walk decides then.
    if (fd < 0 && (errno == ENOSYS || errno == EPERM)) fd = open_without_links(dir, path);
    int saved = errno;
    close(dir);
    errno = saved;
    return fd;
}

int cusher_file_facts(int fd, struct cusher_file_facts *facts) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    facts->regular = S_ISREG(st.st_mode);
    facts->directory = S_ISDIR(st.st_mode);
    facts->size = (int64_t)st.st_size;
    facts->links = (int64_t)st.st_nlink;
    facts->owner = (uint32_t)st.st_uid;
    facts->others_may_write = (st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX);
    return 0;
}

// usher is single-threaded, so the file-system ids are the whole process's while switched.
static gid_t saved_groups[256];
static int saved_group_count = -1;

int cusher_fs_become(uint32_t uid, uint32_t gid) {
    // The raw system calls: musl's setgroups runs __synccall to reach every thread (usher has
    // one), which links its semaphores and signal machinery into the binary (1.3 kB).
    int n = (int)syscall(SYS_getgroups, 256, saved_groups);
    if (n < 0 || syscall(SYS_setgroups, 0, NULL) != 0) return -1;
    saved_group_count = n;
    setfsgid(gid);
    setfsuid(uid);
    // setfsuid and setfsgid say nothing of failure: asking again (with an id they refuse, -1)
    // returns the one in force.
    if ((uint32_t)setfsuid((uid_t)-1) != uid || (uint32_t)setfsgid((gid_t)-1) != gid) {
        cusher_fs_restore();
        return -1;
    }
    return 0;
}

void cusher_fs_restore(void) {
    setfsuid(geteuid());
    setfsgid(getegid());
    if (saved_group_count >= 0) syscall(SYS_setgroups, saved_group_count, saved_groups);
    saved_group_count = -1;
}

int cusher_make_directory(const char *path) {
    if (mkdir(path, 0755) == 0 || errno == EEXIST) return 0;
    return -1;
}
