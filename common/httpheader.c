/*
 * The headers a postback may set. This is the one definition of them,
 * applied by the rule loader to a rule's header names and value
 * templates, by pbexpand to the headers it renders and by pbfire to the
 * headers of the record it sends, so that what one accepts the others
 * accept. A name is an HTTP token (RFC 9110) and none of those that say
 * where the request goes, how long it is, how it is framed or what
 * becomes of the connection, which pbfire and libcurl set themselves:
 * Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Upgrade and Expect. A value holds no
 * control character (CR, LF, NUL, tab, DEL and the others), so it can
 * neither end its header early nor start another.
 */
#include "httpheader.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const char *const set_by_pbfire[] = {
	"Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
	"Proxy-Connection", "TE", "Trailer", "Upgrade", "Expect", NULL,
};

static bool is_token_char(char c)
{
	return c && (isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c));
}

/* Why a postback may not set a header named name (n bytes), or NULL when
 * it may. */
const char *httpheader_bad_name(const char *name, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_token_char(name[i]))
			return "not a header name (letters, digits and !#$%&'*+-.^_`|~ only)";
	if (!n)
		return "an empty header name";
	for (const char *const *s = set_by_pbfire; *s; s++)
		if (strlen(*s) == n && !strncasecmp(*s, name, n))
			return "a header pbfire sets itself";
	return NULL;
}

/* Why a header may not have value (n bytes), or NULL when it may. */
const char *httpheader_bad_value(const char *value, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return "a control character (CR, LF, ...) in the value";
	return NULL;
}
