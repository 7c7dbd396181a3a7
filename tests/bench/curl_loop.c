/*
 * The least a client built on libcurl's multi interface does per request,
 * for the benchmark to measure pbfire against: one thread, PARALLEL easy
 * handles in one multi handle, each reused for the next URL read from
 * standard input as soon as its request ends, and the slots refilled
 * before waiting again. No records, no queue, no options but the URL.
 * usage: curl_loop PARALLEL < urls
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/* Sets e up for the next URL; false when there is none. */
static int next(CURLM *m, CURL *e)
{
	char url[4096];
	if (!fgets(url, sizeof url, stdin))
		return 0;
	url[strcspn(url, "\n")] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_multi_add_handle(m, e);
	return 1;
}

int main(int argc, char **argv)
{
	int parallel = argc > 1 ? atoi(argv[1]) : 64, running = 0, failed = 0;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURLM *m = curl_multi_init();
	for (int i = 0; i < parallel; i++) {
		CURL *e = curl_easy_init();
		if (next(m, e))
			running++;
		else
			curl_easy_cleanup(e);
	}
	while (running) {
		int still, left, ended = 0;
		CURLMsg *msg;
		curl_multi_perform(m, &still);
		while ((msg = curl_multi_info_read(m, &left))) {
			CURL *e = msg->easy_handle;
			ended++;
			failed += msg->data.result != CURLE_OK;
			curl_multi_remove_handle(m, e);
			if (!next(m, e)) {
				curl_easy_cleanup(e);
				running--;
			}
		}
		if (!ended)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	curl_multi_cleanup(m);
	curl_global_cleanup();
	return failed != 0;
}
