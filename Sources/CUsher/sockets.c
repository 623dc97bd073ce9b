// Sockets: the TCP connect of tcpSocket and httpGet checks, the pod IP, and sd_notify's
// datagram. See "Sockets" in cusher.h.
#define _GNU_SOURCE 1
#include "cusher.h"
#include <sys/socket.h>
#include <netinet/in.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/un.h>
#include <stddef.h>

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

int cusher_first_ipv4(uint32_t *address) {
    struct ifaddrs *list;
    if (getifaddrs(&list) != 0) return -1;
    int found = -1;
    for (struct ifaddrs *a = list; a && found != 0; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
        if ((a->ifa_flags & IFF_LOOPBACK) || !(a->ifa_flags & IFF_UP)) continue;
        *address = ((struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr;
        found = 0;
    }
    freeifaddrs(list);
    return found;
}

int cusher_notify_socket(void) { return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0); }

long cusher_notify_send(int fd, const char *path, const void *message, unsigned long length) {
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof sa.sun_path) { errno = EINVAL; return -1; }
    memcpy(sa.sun_path, path, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (path[0] == '@') sa.sun_path[0] = 0;  // the abstract namespace: no NUL at the end
    else len += 1;
    return sendto(fd, message, length, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
}
