/*
 * The requests in flight: one libcurl easy handle per attempt, all in one
 * multi handle, with the options every request gets (http and https only,
 * no proxy, redirects only when asked, the timeouts, the response body
 * read up to a cap), the address policy checked on the socket libcurl is
 * about to connect, and the reading of a finished attempt's outcome into
 * its job. The easy handles of ended attempts are reset and kept for
 * the next ones, as many as have been in flight at once, which spares
 * making a handle for every request. The wait for the next event is here
 * too, since libcurl's sockets are among what it waits on.
 */
#include "transfer.h"
#include "retry.h"
#include "tool.h"
#include "wake.h"

#include <arpa/inet.h>
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BODY_CAP (64 * 1024)		/* response bytes read before hanging up */

void transfers_open(struct transfers *t, struct transfer_options opt)
{
	*t = (struct transfers){ .opt = opt, .multi = curl_multi_init() };
	if (!t->multi)
		errx(EXIT_USAGE, "cannot set up libcurl");
}

/* Opens a socket only to an address the policy permits: checked here, on
 * the address libcurl is about to connect to, after DNS and redirects. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct job *j = arg;
	const char *why;
	char ip[64] = "?";
	(void)purpose;
	if (netpolicy_permits(j->net, &a->addr, &why))
		return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (a->family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&a->addr)->sin_addr, ip, sizeof ip);
	else if (a->family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr, ip, sizeof ip);
	j->blocked = true;
	snprintf(j->ip, sizeof j->ip, "%s", ip);
	buf_clear(&j->message);
	buf_addf(&j->message, "refused to connect to %s, %s (see --allow-private)", ip, why);
	return CURL_SOCKET_BAD;
}

static size_t read_body(char *data, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	(void)data;
	j->received += size * n;
	return j->received > BODY_CAP ? 0 : size * n;
}

static void set_options(const struct transfer_options *o, struct job *j, CURL *e)
{
	curl_easy_setopt(e, CURLOPT_URL, j->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->error_text);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, o->follow > 0 ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, o->follow);
	curl_easy_setopt(e, CURLOPT_PROXY, "");	/* the address check must see the real server */
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, j->policy.timeout_ms ? j->policy.timeout_ms : o->timeout_ms);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);	/* an HTTP/2 host's requests share one connection */
	if (o->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "pbfire/" PB_VERSION);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, j);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, read_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, j->method);
	if (j->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
	} else if (!strcmp(j->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	}
}

static void link_running(struct transfers *t, struct job *j)
{
	j->prev = NULL;
	j->next = t->running;
	if (t->running)
		t->running->prev = j;
	t->running = j;
	t->nrunning++;
}

static void unlink_running(struct transfers *t, struct job *j)
{
	*(j->prev ? &j->prev->next : &t->running) = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
	t->nrunning--;
}

/* Starts the next attempt of j. */
void transfer_start(struct transfers *t, struct job *j, int64_t now)
{
	j->easy = t->nidle ? t->idle[--t->nidle] : curl_easy_init();
	if (!j->easy)
		errx(EXIT_USAGE, "curl_easy_init failed");
	j->net = t->opt.net;
	j->blocked = false;
	j->received = 0;
	j->error_text[0] = j->ip[0] = '\0';
	set_options(&t->opt, j, j->easy);
	j->attempts++;
	j->fired_at = now;
	link_running(t, j);
	curl_multi_add_handle(t->multi, j->easy);
}

void transfers_perform(struct transfers *t)
{
	int still;
	curl_multi_perform(t->multi, &still);
}

/* Reads what the attempt of j that ended with rc came to into j. */
static void read_outcome(struct job *j, CURLcode rc, double *retry_after)
{
	char *ip = NULL;
	curl_off_t us = 0, after = 0;
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->status);
	curl_easy_getinfo(j->easy, CURLINFO_TOTAL_TIME_T, &us);
	curl_easy_getinfo(j->easy, CURLINFO_RETRY_AFTER, &after);
	if (!j->blocked && curl_easy_getinfo(j->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip)
		snprintf(j->ip, sizeof j->ip, "%s", ip);
	j->ms = (double)us / 1000;
	*retry_after = (double)after;
	j->error = attempt_class(rc, j->status, j->blocked);
	if (j->blocked)	/* open_socket() wrote why it refused */
		return;
	buf_clear(&j->message);
	if (j->error == ERR_HTTP && j->status > 0)
		buf_addf(&j->message, "HTTP %ld", j->status);
	else if (j->error != ERR_NONE)
		buf_adds(&j->message, j->error_text[0] ? j->error_text : curl_easy_strerror(rc));
}

/* Ends j's transfer, finished or not, and keeps its handle, reset, for
 * another attempt. */
void transfer_cancel(struct transfers *t, struct job *j)
{
	curl_multi_remove_handle(t->multi, j->easy);
	curl_easy_reset(j->easy);
	if (t->nidle == t->idle_cap) {
		t->idle_cap = t->idle_cap ? 2 * t->idle_cap : 16;
		t->idle = xreallocarray(t->idle, t->idle_cap, sizeof *t->idle);
	}
	t->idle[t->nidle++] = j->easy;
	j->easy = NULL;
	unlink_running(t, j);
}

/* The next finished attempt's job, its outcome read into it and its
 * transfer ended, with the server's Retry-After in seconds (0: none); or
 * NULL when no other attempt has finished. */
struct job *transfer_reap(struct transfers *t, double *retry_after)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(t->multi, &left))) {
		char *private;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &private);
		struct job *j = (struct job *)(void *)private;
		read_outcome(j, m->data.result, retry_after);
		transfer_cancel(t, j);
		return j;
	}
	return NULL;
}

/* Waits up to timeout_ms, or less when libcurl has a timer due sooner,
 * for a socket, a signal or, when input_fd >= 0, input. */
void transfers_wait(struct transfers *t, int input_fd, int timeout_ms)
{
	struct curl_waitfd fds[2] = { { .fd = wake_fd(), .events = CURL_WAIT_POLLIN } };
	unsigned n = 1;
	if (input_fd >= 0)
		fds[n++] = (struct curl_waitfd){ .fd = input_fd, .events = CURL_WAIT_POLLIN };
	if (curl_multi_poll(t->multi, fds, n, timeout_ms, NULL) != CURLM_OK)
		errx(EXIT_USAGE, "curl_multi_poll failed");
}

void transfers_close(struct transfers *t)
{
	while (t->running)
		transfer_cancel(t, t->running);
	while (t->nidle)
		curl_easy_cleanup(t->idle[--t->nidle]);
	free(t->idle);
	curl_multi_cleanup(t->multi);
}
