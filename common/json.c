/*
 * Strict JSON validation (RFC 8259) of one line, and string unescaping.
 * jsmn tokenizes but does not validate: it accepts [1,,2], {"a":1,},
 * [tru], 01, raw control characters, bad UTF-8 and trailing values. So
 * every line passes json_validate() first, which checks the whole grammar,
 * requires the line to be exactly one object, rejects unpaired surrogate
 * escapes and invalid UTF-8, limits nesting to JSON_MAX_DEPTH, and counts
 * the tokens jsmn will produce so its token array is sized once. It can
 * also point out one top-level member on the way, for a tool that needs
 * a single field and no tokens.
 */
#include "json.h"

#include <stdint.h>
#include <string.h>

struct scan {
	const unsigned char *p, *end, *start;
	struct json_shape shape;
	int depth;
	struct json_error *e;
	struct json_member *want;	/* a top-level member to locate, or NULL */
};

static bool fail(struct scan *s, const char *msg)
{
	s->e->msg = msg;
	s->e->offset = (size_t)(s->p - s->start);
	return false;
}

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* Reads the 4 hex digits after \u at p; -1 if they are not hex. */
static long hex4(const unsigned char *p, const unsigned char *end)
{
	if (end - p < 4)
		return -1;
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* Length of the valid UTF-8 sequence at p, or 0 (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0) lo = 0xA0;
		if (c == 0xED) hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0) lo = 0x90;
		if (c == 0xF4) hi = 0x8F;
	} else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

static bool escape(struct scan *s)
{
	const unsigned char *at = s->p;
	s->shape.escapes = true;
	s->p++;	/* the backslash */
	if (s->p >= s->end)
		return fail(s, "unterminated string");
	if (*s->p && strchr("\"\\/bfnrt", *s->p)) {
		s->p++;
		return true;
	}
	if (*s->p != 'u')
		return fail(s, "invalid escape");
	long u = hex4(s->p + 1, s->end);
	long lo = s->end - s->p >= 7 && s->p[5] == '\\' && s->p[6] == 'u' ? hex4(s->p + 7, s->end) : -1;
	s->p = at;
	if (u < 0)
		return fail(s, "invalid \\u escape");
	bool high = u >= 0xD800 && u <= 0xDBFF, low = u >= 0xDC00 && u <= 0xDFFF;
	if (low || (high && (lo < 0xDC00 || lo > 0xDFFF)))
		return fail(s, "unpaired surrogate in \\u escape");
	s->p += high ? 12 : 6;
	return true;
}

/* plain[c]: byte c stands for itself in a string and is ASCII. */
static const bool plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Skips the plain ASCII bytes of a string, eight at a time while no byte
 * of the eight is a quote, a backslash, a control character or >= 0x80. */
static const unsigned char *skip_plain(const unsigned char *p, const unsigned char *end)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	while (end - p >= 8) {
		uint64_t x, q, b;
		memcpy(&x, p, 8);
		q = x ^ (ones * '"');
		b = x ^ (ones * '\\');
		if (((x - ones * 0x20) | (q - ones) | (b - ones) | x) & high)
			break;
		p += 8;
	}
	while (p < end && plain[*p])
		p++;
	return p;
}

static bool string(struct scan *s)
{
	s->p++;	/* the opening quote */
	s->shape.ntokens++;
	while ((s->p = skip_plain(s->p, s->end)) < s->end) {
		unsigned char c = *s->p;
		if (c == '"') {
			s->p++;
			return true;
		}
		if (c == '\\') {
			if (!escape(s))
				return false;
		} else if (c < 0x20) {
			return fail(s, "control character in string");
		} else {
			size_t k = utf8_len(s->p, s->end);
			if (!k)
				return fail(s, "invalid UTF-8");
			s->p += k;
		}
	}
	return fail(s, "unterminated string");
}

static bool digits(struct scan *s)
{
	const unsigned char *from = s->p;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > from || fail(s, "invalid number");
}

static bool number(struct scan *s)
{
	s->shape.ntokens++;
	if (*s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0') {
		s->p++;
		if (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			return fail(s, "invalid number: leading zero");
	} else if (!digits(s))
		return false;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (!digits(s))
			return false;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!digits(s))
			return false;
	}
	return true;
}

static bool literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return fail(s, "invalid literal");
	s->p += n;
	s->shape.ntokens++;
	return true;
}

static bool value(struct scan *s);

/* Whether the key quoted at key is the one wanted and not yet found. */
static bool wanted(const struct json_member *m, const unsigned char *key, const unsigned char *value)
{
	const unsigned char *close = memchr(key + 1, '"', (size_t)(value - key - 1));
	return !m->value.p && (size_t)(close - key - 1) == m->keylen &&
	       memcmp(key + 1, m->key, m->keylen) == 0;
}

/* Parses the members of an object or the elements of an array. */
static bool container(struct scan *s, bool object)
{
	unsigned char close = object ? '}' : ']';
	if (++s->depth > JSON_MAX_DEPTH)
		return fail(s, "nesting too deep");
	s->p++;
	s->shape.ntokens++;
	skip_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		s->depth--;
		return true;
	}
	for (;;) {
		const unsigned char *key = s->p, *at;
		if (object) {
			if (s->p >= s->end || *s->p != '"')
				return fail(s, "expected a string key");
			if (!string(s))
				return false;
			skip_ws(s);
			if (s->p >= s->end || *s->p != ':')
				return fail(s, "expected ':'");
			s->p++;
			skip_ws(s);
		}
		at = s->p;
		if (!value(s))
			return false;
		if (object && s->depth == 1 && s->want && wanted(s->want, key, at))
			s->want->value = (struct text){ (const char *)at, (size_t)(s->p - at) };
		skip_ws(s);
		if (s->p < s->end && *s->p == close) {
			s->p++;
			s->depth--;
			return true;
		}
		if (s->p >= s->end || *s->p != ',')
			return fail(s, object ? "expected ',' or '}'" : "expected ',' or ']'");
		s->p++;
		skip_ws(s);
	}
}

static bool value(struct scan *s)
{
	skip_ws(s);
	if (s->p >= s->end)
		return fail(s, "unexpected end of line");
	switch (*s->p) {
	case '{': return container(s, true);
	case '[': return container(s, false);
	case '"': return string(s);
	case 't': return literal(s, "true");
	case 'f': return literal(s, "false");
	case 'n': return literal(s, "null");
	default:
		if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
			return number(s);
		return fail(s, "unexpected character");
	}
}

/* Validates text and, when want is not NULL, sets want->value to the
 * source text of the top-level member want->key (first of its name,
 * matched byte for byte, escapes not decoded), or to {NULL, 0}. */
bool json_validate(const char *text, size_t n, struct json_shape *shape, struct json_member *want,
		   struct json_error *e)
{
	struct scan s = {
		.p = (const unsigned char *)text, .end = (const unsigned char *)text + n,
		.start = (const unsigned char *)text, .e = e, .want = want,
	};
	if (want)
		want->value = (struct text){ NULL, 0 };
	skip_ws(&s);
	if (s.p >= s.end || *s.p != '{')
		return fail(&s, "not a JSON object");
	if (!container(&s, true))
		return false;
	skip_ws(&s);
	if (s.p != s.end)
		return fail(&s, "unexpected data after the object");
	*shape = s.shape;
	return true;
}

static size_t put_utf8(char *out, uint32_t c)
{
	unsigned char *o = (unsigned char *)out;
	if (c < 0x80) {
		o[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (unsigned char)(0xC0 | c >> 6);
		o[1] = (unsigned char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (unsigned char)(0xE0 | c >> 12);
		o[1] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
		o[2] = (unsigned char)(0x80 | (c & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | c >> 18);
	o[1] = (unsigned char)(0x80 | (c >> 12 & 0x3F));
	o[2] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
	o[3] = (unsigned char)(0x80 | (c & 0x3F));
	return 4;
}

/* Unescapes the body of a validated JSON string into out, which must hold
 * n bytes (unescaping never grows a string); returns the length. */
size_t json_unescape(const char *s, size_t n, char *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t len = 0;
	while (p < end) {
		if (*p != '\\') {
			out[len++] = (char)*p++;
			continue;
		}
		char c = (char)p[1];
		p += 2;
		switch (c) {
		case 'b': out[len++] = '\b'; break;
		case 'f': out[len++] = '\f'; break;
		case 'n': out[len++] = '\n'; break;
		case 'r': out[len++] = '\r'; break;
		case 't': out[len++] = '\t'; break;
		case 'u': {
			uint32_t u = (uint32_t)hex4(p, end);
			p += 4;
			if (u >= 0xD800 && u <= 0xDBFF) {
				uint32_t lo = (uint32_t)hex4(p + 2, end);
				u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
				p += 6;
			}
			len += put_utf8(out + len, u);
			break;
		}
		default: out[len++] = c;
		}
	}
	return len;
}
