/*
 * One attempt of a line's request with libcurl: the options every request
 * gets (http and https only, no proxy, redirects only when asked, the
 * timeouts, the response body read up to a cap, waiting to share an
 * HTTP/2 connection), the address policy checked on the socket libcurl
 * is about to connect, and the reading of the attempt's outcome into its
 * job: with the answer's status, the headers its record keeps and the
 * body's first bytes, as many as --keep-response says or, for a postback
 * whose expect checks the body, all that is read. Which thread sends the
 * attempt is lanes.c's business; nothing here touches more than the job
 * and its easy handle, and nothing the lane runs allocates: the room is
 * made before (transfer_make_room()).
 */
#include "transfer.h"
#include "retry.h"
#include "tool.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

const char *const answer_header_names[ANSWER_HEADERS] = { "Content-Type", "Retry-After", "Location" };

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

/* Keeps what room there is of the body's bytes, and hangs up once more
 * than TRANSFER_BODY_MAX came. */
static size_t read_body(char *data, size_t size, size_t n, void *arg)
{
	struct answer *a = &((struct job *)arg)->answer;
	size_t len = size * n, room = a->body_room - a->body_len, take = len < room ? len : room;
	if (take) {
		memcpy(a->body + a->body_len, data, take);
		a->body_len += take;
		a->body[a->body_len] = '\0';
	}
	a->received += len;
	return a->received > TRANSFER_BODY_MAX ? 0 : len;
}

/* Makes the room j's next attempt needs, before it goes to a lane: for
 * its message (TRANSFER_MESSAGE_MAX) and for the body it keeps. */
void transfer_make_room(const struct transfer_options *o, struct job *j)
{
	struct answer *a = &j->answer;
	size_t room = j->expect.body ? TRANSFER_BODY_MAX : o->keep_response;
	buf_reserve(&j->message, TRANSFER_MESSAGE_MAX);
	if (room > a->body_room) {
		a->body = xreallocarray(a->body, room + 1, 1);
		a->body_room = room;
	}
}

/* Sets easy handle e, new or reset, up for j's next attempt. */
void transfer_prepare(const struct transfer_options *o, struct job *j, CURL *e)
{
	j->net = o->net;
	j->follows = o->follow > 0;
	j->blocked = false;
	j->answer.came = false;
	j->answer.body_len = j->answer.received = 0;
	for (int i = 0; i < ANSWER_HEADERS; i++)
		j->answer.header[i][0] = '\0';
	j->error_text[0] = j->ip[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, j->sent.url ? j->sent.url : j->url);
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
	/* An HTTP/2 host's requests share one connection: libcurl waits for
	 * a connection that may take another stream rather than open one,
	 * unless the host is known to answer over HTTP/1. */
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, j->host_http1 ? 0L : 1L);
	if (o->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "pbfire/" PB_VERSION);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, j);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, read_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->sent.fills_headers ? j->sent.headers : j->headers);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, j->method);
	if (j->sent.body) {	/* the body with its secrets filled */
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->sent.body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->sent.body);
	} else if (j->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
	} else if (!strcmp(j->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	}
}

/* Keeps the headers of the last answer to e that the record shows. */
static void read_headers(struct answer *a, CURL *e)
{
	struct curl_header *h;
	for (int i = 0; i < ANSWER_HEADERS; i++)
		if (curl_easy_header(e, answer_header_names[i], 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
			snprintf(a->header[i], sizeof a->header[i], "%s", h->value);
}

/* Reads what the attempt of j that ended with rc came to into j. */
void transfer_read_outcome(struct job *j, CURLcode rc)
{
	char *ip = NULL;
	curl_off_t us = 0, after = 0;
	long version = 0;
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->status);
	curl_easy_getinfo(j->easy, CURLINFO_TOTAL_TIME_T, &us);
	curl_easy_getinfo(j->easy, CURLINFO_RETRY_AFTER, &after);
	if (!j->blocked && curl_easy_getinfo(j->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip)
		snprintf(j->ip, sizeof j->ip, "%s", ip);
	j->ms = (double)us / 1000;
	j->retry_after = (double)after;
	curl_easy_getinfo(j->easy, CURLINFO_HTTP_VERSION, &version);
	j->http1 = version == CURL_HTTP_VERSION_1_0 || version == CURL_HTTP_VERSION_1_1;
	j->error = attempt_class(rc, j->status, j->blocked, j->follows);
	if (j->blocked)	/* open_socket() wrote why it refused */
		return;
	j->answer.came = attempt_answered(rc, j->status, j->follows);
	if (j->answer.came)
		read_headers(&j->answer, j->easy);
	buf_clear(&j->message);
	if (j->error == ERR_HTTP && j->status > 0)
		buf_addf(&j->message, "HTTP %ld", j->status);
	else if (j->error != ERR_NONE)
		buf_adds(&j->message, j->error_text[0] ? j->error_text : curl_easy_strerror(rc));
}
