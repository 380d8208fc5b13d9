/*
 * A small load generator for echo servers (bench/echo.py compiles it with
 * `gcc -O2` into /tmp at run time).
 *
 *   echo_client HOST PORT CONNECTIONS SECONDS [MESSAGE_SIZE]
 *
 * Opens CONNECTIONS TCP connections; each one sends a MESSAGE_SIZE-byte
 * message (default 64), waits until the same bytes came back, and sends the
 * next, for SECONDS seconds after a short warm-up. Every echoed byte is
 * checked. One epoll loop drives all connections. Prints one line:
 *
 *   messages=N seconds=S msgs_per_s=R errors=E
 *
 * and exits 0 if no byte was wrong and no connection failed, 1 otherwise.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG 65536
#define WARMUP_S 0.5

struct conn {
    int fd;
    unsigned seq;          /* which message is in flight: makes each one's bytes differ */
    size_t received;       /* bytes of the current echo received so far */
    unsigned char *expect; /* the message in flight */
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(unsigned char *buf, size_t n, int conn, unsigned seq) {
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(conn * 31 + seq * 7 + i);
}

static int send_all(int fd, const unsigned char *buf, size_t n) {
    size_t sent = 0;
    while (sent < n) {
        ssize_t r = send(fd, buf + sent, n - sent, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) { /* tiny messages: the socket buffer is never full for long */
                continue;
            }
            return -1;
        }
        sent += (size_t)r;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s HOST PORT CONNECTIONS SECONDS [MESSAGE_SIZE]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    int nconns = atoi(argv[3]);
    double seconds = atof(argv[4]);
    size_t size = argc > 5 ? (size_t)atol(argv[5]) : 64;
    if (nconns <= 0 || seconds <= 0 || size == 0 || size > MAX_MSG) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "HOST must be a numeric IPv4 address\n");
        return 2;
    }

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct conn *conns = calloc((size_t)nconns, sizeof *conns);
    unsigned char *bufs = malloc((size_t)nconns * size);
    unsigned char *rbuf = malloc(MAX_MSG);
    if (ep < 0 || !conns || !bufs || !rbuf) {
        perror("setup");
        return 1;
    }
    for (int i = 0; i < nconns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
            perror("connect");
            return 1;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns[i].fd = fd;
        conns[i].expect = bufs + (size_t)i * size;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            perror("epoll_ctl");
            return 1;
        }
    }
    for (int i = 0; i < nconns; i++) {
        fill(conns[i].expect, size, i, 0);
        if (send_all(conns[i].fd, conns[i].expect, size) < 0) {
            perror("send");
            return 1;
        }
    }

    long long messages = 0, errors = 0;
    double start = now(), measure_from = start + WARMUP_S, deadline = measure_from + seconds;
    int measuring = 0;
    struct epoll_event events[256];
    for (;;) {
        double t = now();
        if (!measuring && t >= measure_from) {
            measuring = 1;
            messages = 0;
        }
        if (t >= deadline) break;
        int n = epoll_wait(ep, events, 256, 100);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            return 1;
        }
        for (int k = 0; k < n; k++) {
            struct conn *c = &conns[events[k].data.u32];
            ssize_t r = recv(c->fd, rbuf, size - c->received, 0);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                fprintf(stderr, "connection %u: %s\n", events[k].data.u32, r == 0 ? "closed by the server" : strerror(errno));
                return 1;
            }
            if (memcmp(rbuf, c->expect + c->received, (size_t)r) != 0) errors++;
            c->received += (size_t)r;
            if (c->received == size) {
                messages++;
                c->received = 0;
                c->seq++;
                fill(c->expect, size, (int)events[k].data.u32, c->seq);
                if (send_all(c->fd, c->expect, size) < 0) {
                    perror("send");
                    return 1;
                }
            }
        }
    }
    double elapsed = now() - measure_from;
    printf("messages=%lld seconds=%.3f msgs_per_s=%.0f errors=%lld\n", messages, elapsed, messages / elapsed, errors);
    for (int i = 0; i < nconns; i++) close(conns[i].fd);
    close(ep);
    free(conns);
    free(bufs);
    free(rbuf);
    return errors ? 1 : 0;
}
