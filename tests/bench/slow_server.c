/*
 * An HTTP/1.1 server for the benchmark that answers every request with
 * 204 after DELAY seconds, keeping connections alive, so that the
 * benchmark can measure a client against a known ideal: with N requests
 * in flight, N / DELAY a second. One thread and epoll, light enough not
 * to be the bottleneck at several thousand requests a second on the
 * machine it shares with the client. The delay being the same for every
 * request, the answers due are a queue in the order they were asked for.
 * Listens on 127.0.0.1 on an ephemeral port, written to PORT_FILE.
 * usage: slow_server DELAY PORT_FILE
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_MAX 65536

struct conn {
	char buf[REQUEST_MAX];
	size_t len;
	unsigned gen;			/* which connection on this fd */
};

struct answer {
	int fd;
	unsigned gen;
	int64_t due;
};

static struct conn **conns;		/* by fd */
static size_t nconns;
static struct answer *queue;		/* a ring, due order */
static size_t qcap, qhead, qlen;
static int64_t delay_ns;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void enqueue(int fd, unsigned gen)
{
	if (qlen == qcap) {
		size_t cap = qcap ? 2 * qcap : 1024;
		struct answer *q = malloc(cap * sizeof *q);
		if (!q)
			err(1, "malloc");
		for (size_t i = 0; i < qlen; i++)
			q[i] = queue[(qhead + i) % qcap];
		free(queue);
		queue = q, qcap = cap, qhead = 0;
	}
	queue[(qhead + qlen++) % qcap] = (struct answer){ fd, gen, now_ns() + delay_ns };
}

/* The length of the complete request at the start of p, or 0. */
static size_t request_length(const char *p, size_t n)
{
	const char *end = memmem(p, n, "\r\n\r\n", 4);
	size_t body = 0;
	if (!end)
		return 0;
	for (const char *line = p; line < end; line = strstr(line, "\r\n") + 2)
		if (!strncasecmp(line, "content-length:", 15))
			body = strtoul(line + 15, NULL, 10);
	size_t head = (size_t)(end - p) + 4;
	return n >= head + body ? head + body : 0;
}

/* Reads what fd has; queues an answer for each request complete. */
static void serve(int fd)
{
	struct conn *c = conns[fd];
	ssize_t got;
	while ((got = read(fd, c->buf + c->len, sizeof c->buf - 1 - c->len)) > 0) {
		size_t used = 0, n;
		c->len += (size_t)got;
		c->buf[c->len] = '\0';
		while ((n = request_length(c->buf + used, c->len - used))) {
			enqueue(fd, c->gen);
			used += n;
		}
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		if (c->len == sizeof c->buf - 1)
			break;	/* a request too long: hang up */
	}
	if (got < 0 && errno == EAGAIN)
		return;
	c->gen++;
	c->len = 0;
	close(fd);
}

static void accept_all(int listener, int ep)
{
	int fd;
	while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if ((size_t)fd >= nconns) {
			size_t n = (size_t)fd * 2 + 16;
			conns = realloc(conns, n * sizeof *conns);
			if (!conns)
				err(1, "realloc");
			memset(conns + nconns, 0, (n - nconns) * sizeof *conns);
			nconns = n;
		}
		if (!conns[fd] && !(conns[fd] = calloc(1, sizeof *conns[fd])))
			err(1, "calloc");
		conns[fd]->len = 0;
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

/* Sends the answers due by now, to connections still open. */
static void answer_due(void)
{
	static const char answer[] = "HTTP/1.1 204 No Content\r\n\r\n";
	int64_t now = now_ns();
	while (qlen && queue[qhead].due <= now) {
		struct answer a = queue[qhead];
		qhead = (qhead + 1) % qcap, qlen--;
		if (conns[a.fd]->gen == a.gen && write(a.fd, answer, sizeof answer - 1) < 0)
			continue;	/* the client is gone; its read will say so */
	}
}

int main(int argc, char **argv)
{
	if (argc != 3)
		errx(2, "usage: slow_server DELAY PORT_FILE");
	delay_ns = (int64_t)(atof(argv[1]) * 1e9);
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof a) < 0 || listen(listener, 4096) < 0 ||
	    getsockname(listener, (struct sockaddr *)&a, &alen) < 0)
		err(1, "listen");
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) != 0 || rename(tmp, argv[2]) < 0)
		err(1, "%s", argv[2]);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = listener };
	epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
	for (;;) {
		struct epoll_event events[256];
		struct timespec wait = { 0 };
		if (qlen) {
			int64_t left = queue[qhead].due - now_ns();
			if (left > 0)
				wait = (struct timespec){ left / 1000000000, left % 1000000000 };
		}
		int n = epoll_pwait2(ep, events, 256, qlen ? &wait : NULL, NULL);
		if (n < 0 && errno != EINTR)
			err(1, "epoll_pwait2");
		for (int i = 0; i < n; i++) {
			if (events[i].data.fd == listener)
				accept_all(listener, ep);
			else
				serve(events[i].data.fd);
		}
		answer_due();
	}
}
