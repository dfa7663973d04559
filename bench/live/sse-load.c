/*
 * Copyright (C) The ngx_grapevine authors
 */

/*
 * sse-load: holds N Server-Sent Events streams on one HTTP/1.1 server
 * (epoll, one process) and measures how long one published message takes
 * to reach each of them.
 *
 *   sse-load HOST PORT PATH N [SECONDS]
 *
 * Opens the N streams (at most 500 connecting at a time), prints "ready N"
 * once every one has its 200 and headers, then waits (SECONDS, 30 by
 * default) for a message whose text holds "bench <microseconds>", the
 * CLOCK_REALTIME of its publication, on every stream.  Prints the
 * delivery time of each stream in ms, one a line, after "delivered M",
 * then "done".  Exits 1 when a stream could not be opened.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


typedef struct {
    int     fd;
    int     state;      /* 0 connecting, 1 waiting for 200, 2 open, 3 got */
    size_t  len;
    char    buf[512];   /* the head, then the tail of what was read */
    double  ms;
} conn_t;


static double
now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


static int
cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


int
main(int argc, char **argv)
{
    int                  ep, i, n, nready, ngot, started, want, seconds;
    int                  fd, k, opened;
    char                 req[1024], tmp[65536], *p;
    ssize_t              r;
    double               deadline, *ms;
    conn_t              *c, *conns;
    struct rlimit        rl;
    struct sockaddr_in   sa;
    struct epoll_event   ev, evs[1024];

    if (argc < 5) {
        fprintf(stderr, "usage: sse-load HOST PORT PATH N [SECONDS]\n");
        return 2;
    }

    want = atoi(argv[4]);
    seconds = argc > 5 ? atoi(argv[5]) : 30;

    rl.rlim_cur = rl.rlim_max = want + 64;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        perror("setrlimit");
        return 1;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(atoi(argv[2]));
    inet_pton(AF_INET, argv[1], &sa.sin_addr);

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
             "Accept: text/event-stream\r\n\r\n", argv[3], argv[1]);

    conns = calloc(want, sizeof(conn_t));
    ms = calloc(want, sizeof(double));
    ep = epoll_create1(0);

    started = 0;
    opened = 0;
    nready = 0;
    ngot = 0;
    deadline = now_us() + 120e6;

    while (nready < want) {
        while (started < want && started - nready < 500) {
            c = &conns[started];
            fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (fd < 0) {
                perror("socket");
                return 1;
            }
            c->fd = fd;
            if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0
                && errno != EINPROGRESS)
            {
                perror("connect");
                return 1;
            }
            ev.events = EPOLLOUT | EPOLLIN;
            ev.data.ptr = c;
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
            started++;
        }

        n = epoll_wait(ep, evs, 1024, 1000);

        for (i = 0; i < n; i++) {
            c = evs[i].data.ptr;

            if (c->state == 0 && (evs[i].events & EPOLLOUT)) {
                if (write(c->fd, req, strlen(req)) != (ssize_t) strlen(req)) {
                    fprintf(stderr, "write failed\n");
                    return 1;
                }
                c->state = 1;
                ev.events = EPOLLIN;
                ev.data.ptr = c;
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                opened++;
                continue;
            }

            if (c->state == 1 && (evs[i].events & EPOLLIN)) {
                r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
                if (r <= 0) {
                    fprintf(stderr, "a stream closed while opening\n");
                    return 1;
                }
                c->len += r;
                c->buf[c->len] = '\0';
                if (strstr(c->buf, "\r\n\r\n")) {
                    if (strncmp(c->buf + 9, "200", 3) != 0) {
                        fprintf(stderr, "a stream was refused: %.40s\n",
                                c->buf);
                        return 1;
                    }
                    c->state = 2;
                    c->len = 0;
                    nready++;
                }
            }
        }

        if (now_us() > deadline) {
            fprintf(stderr, "only %d of %d streams opened\n", nready, want);
            return 1;
        }
    }

    printf("ready %d\n", nready);
    fflush(stdout);

    deadline = now_us() + seconds * 1e6;

    while (ngot < want && now_us() < deadline) {
        n = epoll_wait(ep, evs, 1024, 200);

        for (i = 0; i < n; i++) {
            c = evs[i].data.ptr;

            for ( ;; ) {
                r = read(c->fd, tmp, sizeof(tmp) - 1);
                if (r <= 0) {
                    break;
                }

                if (c->state != 2) {
                    continue;
                }

                /* the text, with what was kept of the last read before it */
                tmp[r] = '\0';
                k = r < 200 ? (int) r : 200;
                p = strstr(tmp, "bench ");
                if (p == NULL && c->len) {
                    char  joined[512];

                    snprintf(joined, sizeof(joined), "%.*s%.*s",
                             (int) c->len, c->buf, k, tmp);
                    p = strstr(joined, "bench ");
                    if (p) {
                        ms[ngot] = (now_us() - atof(p + 6)) / 1e3;
                        c->state = 3;
                        ngot++;
                        continue;
                    }
                }
                if (p && p[6] >= '0' && p[6] <= '9') {
                    ms[ngot] = (now_us() - atof(p + 6)) / 1e3;
                    c->state = 3;
                    ngot++;
                    continue;
                }
                memcpy(c->buf, tmp + r - k, k);
                c->len = k;
            }
        }
    }

    qsort(ms, ngot, sizeof(double), cmp);

    printf("delivered %d\n", ngot);
    for (i = 0; i < ngot; i++) {
        printf("%.3f\n", ms[i]);
    }
    printf("done\n");

    return 0;
}
