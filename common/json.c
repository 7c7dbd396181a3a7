/*
 * Strict JSON validation (RFC 8259) of one line, and string unescaping.
 * jsmn tokenizes but does not validate: it accepts [1,,2], {"a":1,},
 * [tru], 01, raw control characters, bad UTF-8 and trailing values. So
 * every line passes json_validate() first, which checks the whole grammar,
 * requires the line to be exactly one object, rejects unpaired surrogate
 * escapes and invalid UTF-8, limits nesting to JSON_MAX_DEPTH, and counts
 * the tokens jsmn would produce. In the same pass it indexes the object's
 * top-level members (where each key and value lies, and its token's
 * index), so the record layer finds a field without a second scan and
 * tokenizes only the members it has to look into. The bytes of a string
 * that stand for themselves are skipped sixteen at a time with SSE2 on
 * x86-64, eight at a time elsewhere (and when built with JSON_PORTABLE,
 * which the unit tests use to check that path too).
 */
#include "json.h"
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && !defined(JSON_PORTABLE)
#include <emmintrin.h>
#define JSON_SSE2 1
#endif

struct scan {
	const unsigned char *start, *end;
	struct json_shape shape;
	int depth;
	unsigned closed_size;		/* the members or elements of the container last closed */
	struct json_error *e;
	struct json_index *index;	/* where the top-level members go, or NULL */
};

/* Each parser below takes the position of what it reads and returns the
 * position after it, or NULL when the text is not valid there, with the
 * reason and the position of the fault in s->e. */
static const unsigned char *fail(struct scan *s, const unsigned char *at, const char *msg)
{
	s->e->msg = msg;
	s->e->offset = (size_t)(at - s->start);
	return NULL;
}

static inline const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end)
{
	while (p < end && *p <= ' ' && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
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

/* Length of the valid UTF-8 sequence at p, before end, or 0 (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF). */
static inline size_t utf8_len(const unsigned char *p, const unsigned char *end)
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

/* utf8_len, for the writer of JSON strings that checks UTF-8 (buf.c). */
size_t json_utf8_len(const unsigned char *p, const unsigned char *end)
{
	return utf8_len(p, end);
}

/* The escape whose backslash is at p. */
static const unsigned char *escape(struct scan *s, const unsigned char *p)
{
	const unsigned char *c = p + 1;
	s->shape.escapes = true;
	if (c >= s->end)
		return fail(s, c, "unterminated string");
	if (*c && strchr("\"\\/bfnrt", *c))
		return c + 1;
	if (*c != 'u')
		return fail(s, c, "invalid escape");
	long u = hex4(c + 1, s->end);
	long lo = s->end - c >= 7 && c[5] == '\\' && c[6] == 'u' ? hex4(c + 7, s->end) : -1;
	if (u < 0)
		return fail(s, p, "invalid \\u escape");
	bool high = u >= 0xD800 && u <= 0xDBFF, low = u >= 0xDC00 && u <= 0xDFFF;
	if (low || (high && (lo < 0xDC00 || lo > 0xDFFF)))
		return fail(s, p, "unpaired surrogate in \\u escape");
	return p + (high ? 12 : 6);
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
static inline const unsigned char *skip_plain8(const unsigned char *p, const unsigned char *end)
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

#ifdef JSON_SSE2
/* The bytes of the sixteen at p that end a plain run, as a bit mask, and
 * the quotes among them in *quotes: as signed bytes, those >= 0x80 are
 * negative, so one comparison finds them with the control characters. */
static inline unsigned stops16(const unsigned char *p, unsigned *quotes)
{
	const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(' ');
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i q = _mm_cmpeq_epi8(x, quote);
	__m128i stop = _mm_or_si128(_mm_or_si128(q, _mm_cmpeq_epi8(x, backslash)), _mm_cmplt_epi8(x, space));
	*quotes = (unsigned)_mm_movemask_epi8(q);
	return (unsigned)_mm_movemask_epi8(stop);
}

/* The same as skip_plain8, sixteen bytes at a time. */
static inline const unsigned char *skip_plain(const unsigned char *p, const unsigned char *end)
{
	for (; end - p >= 16; p += 16) {
		unsigned quotes, mask = stops16(p, &quotes);
		if (mask)
			return p + __builtin_ctz(mask);
	}
	return skip_plain8(p, end);
}
#else
#define skip_plain skip_plain8
#endif

/* The rest of the string at p, which skip_plain stopped at: an escape,
 * UTF-8, a control character, the end of the line or the closing quote.
 * Kept apart so that the common case, a plain string, stays small. */
static __attribute__((noinline)) const unsigned char *string_rest(struct scan *s, const unsigned char *p)
{
	for (;; p = skip_plain(p, s->end)) {
		if (p >= s->end)
			return fail(s, p, "unterminated string");
		if (*p == '"')
			return p + 1;
		if (*p == '\\') {
			p = escape(s, p);
		} else if (*p < 0x20) {
			return fail(s, p, "control character in string");
		} else {
			size_t k = utf8_len(p, s->end);
			p = k ? p + k : fail(s, p, "invalid UTF-8");
		}
		if (!p)
			return NULL;
	}
}

/* The string whose opening quote is at p. */
static inline const unsigned char *string(struct scan *s, const unsigned char *p)
{
	p = skip_plain(p + 1, s->end);
	return p < s->end && *p == '"' ? p + 1 : string_rest(s, p);
}

static const unsigned char *digits(struct scan *s, const unsigned char *p)
{
	const unsigned char *from = p;
	while (p < s->end && *p >= '0' && *p <= '9')
		p++;
	return p > from ? p : fail(s, p, "invalid number");
}

static const unsigned char *number(struct scan *s, const unsigned char *p)
{
	const unsigned char *end = s->end;
	if (*p == '-')
		p++;
	if (p < end && *p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			return fail(s, p, "invalid number: leading zero");
	} else if (!(p = digits(s, p))) {
		return NULL;
	}
	if (p < end && *p == '.' && !(p = digits(s, p + 1)))
		return NULL;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		return digits(s, p);
	}
	return p;
}

static const unsigned char *literal(struct scan *s, const unsigned char *p, const char *word, size_t n)
{
	if ((size_t)(s->end - p) < n || memcmp(p, word, n) != 0)
		return fail(s, p, "invalid literal");
	return p + n;
}

static const unsigned char *value(struct scan *s, const unsigned char *p);

/* Indexes a top-level member: key is at its opening quote, key_end at its
 * closing one, [value, value_end) the value's source text. */
static void index_member(struct scan *s, const unsigned char *key, const unsigned char *key_end,
			 const unsigned char *value, const unsigned char *value_end, unsigned token)
{
	struct json_index *ix = s->index;
	if (ix->n == ix->cap) {
		ix->cap = ix->cap ? 2 * ix->cap : 32;
		ix->member = xreallocarray(ix->member, ix->cap, sizeof *ix->member);
	}
	struct json_span *m = &ix->member[ix->n++];
	m->key = (unsigned)(key + 1 - s->start);
	m->key_end = (unsigned)(key_end - s->start);
	m->value = (unsigned)(value - s->start);
	m->value_end = (unsigned)(value_end - s->start);
	m->token = token;
	m->size = *value == '{' || *value == '[' ? s->closed_size : 0;
}

/* Ends the container whose closing bracket is at p, of count members or
 * elements. */
static const unsigned char *closed(struct scan *s, const unsigned char *p, unsigned count)
{
	s->depth--;
	s->closed_size = count;
	return p + 1;
}

/* Reads "key" : at p, the key's closing quote in *key_end. */
static const unsigned char *key(struct scan *s, const unsigned char *p, const unsigned char **key_end)
{
	if (p >= s->end || *p != '"')
		return fail(s, p, "expected a string key");
	if (!(p = string(s, p)))
		return NULL;
	*key_end = p - 1;
	if (p >= s->end || *p != ':')	/* the colon is usually right there */
		p = skip_ws(p, s->end);
	if (p >= s->end || *p != ':')
		return fail(s, p, "expected ':'");
	return skip_ws(p + 1, s->end);
}

/* Reads the member "key":value at p: the key's closing quote in *key_end,
 * the value's first byte in *val; returns the position after the value.
 * A key of plain ASCII that closes in the 30 bytes after its opening quote,
 * right before its colon, is found in one pass over the 32 bytes after
 * that quote, and so is a value after it that is a plain string closing
 * in them too; anything else takes the general path, key() then value(). */
static inline const unsigned char *member(struct scan *s, const unsigned char *p,
					  const unsigned char **key_end, const unsigned char **val)
{
#ifdef JSON_SSE2
	if (s->end - p >= 33 && *p == '"') {
		unsigned q0, q1;
		uint64_t stops = stops16(p + 1, &q0) | (uint64_t)stops16(p + 17, &q1) << 16;
		uint64_t quotes = q0 | (uint64_t)q1 << 16;
		unsigned k = stops ? (unsigned)__builtin_ctzll(stops) : 32;
		if (k <= 29 && quotes >> k & 1 && p[k + 2] == ':') {
			*key_end = p + 1 + k;
			*val = p + 3 + k;
			if (**val != '"')
				return value(s, *val = skip_ws(*val, s->end));
			uint64_t rest = stops >> (k + 3);	/* from the byte after the value's opening quote */
			unsigned v = rest ? (unsigned)__builtin_ctzll(rest) + k + 3 : 32;
			return v < 32 && quotes >> v & 1 ? p + 2 + v : string(s, *val);
		}
	}
#endif
	if (!(p = key(s, p, key_end)))
		return NULL;
	return value(s, *val = p);
}

/* Parses the object or array whose opening bracket is at p; the members
 * of the top-level object go to the index when there is one. */
static const unsigned char *container(struct scan *s, const unsigned char *p, bool object)
{
	unsigned char close = object ? '}' : ']';
	if (++s->depth > JSON_MAX_DEPTH)
		return fail(s, p, "nesting too deep");
	p = skip_ws(p + 1, s->end);
	if (p < s->end && *p == close)
		return closed(s, p, 0);
	bool indexed = s->depth == 1 && s->index;
	for (unsigned count = 1;; count++) {
		const unsigned char *at = p, *key_end = NULL, *v;
		unsigned token = s->shape.ntokens;
		s->shape.ntokens += object ? 2 : 1;	/* the key, the value; what is in it comes next */
		if (!(p = object ? member(s, at, &key_end, &v) : value(s, v = at)))
			return NULL;
		if (indexed)
			index_member(s, at, key_end, v, p, token);
		if (p >= s->end || *p != ',') {	/* a comma usually follows right away */
			p = skip_ws(p, s->end);
			if (p < s->end && *p == close)
				return closed(s, p, count);
			if (p >= s->end || *p != ',')
				return fail(s, p, object ? "expected ',' or '}'" : "expected ',' or ']'");
		}
		p = skip_ws(p + 1, s->end);
	}
}

/* The value at p, where the white space before it has been skipped. */
static const unsigned char *value(struct scan *s, const unsigned char *p)
{
	if (p >= s->end)
		return fail(s, p, "unexpected end of line");
	if (*p == '"')	/* the most common value, ahead of the others */
		return string(s, p);
	switch (*p) {
	case '{': return container(s, p, true);
	case '[': return container(s, p, false);
	case 't': return literal(s, p, "true", 4);
	case 'f': return literal(s, p, "false", 5);
	case 'n': return literal(s, p, "null", 4);
	default:
		if (*p == '-' || (*p >= '0' && *p <= '9'))
			return number(s, p);
		return fail(s, p, "unexpected character");
	}
}

/* Validates text and, when index is not NULL, indexes its top-level
 * members there (on success; on failure its content is unspecified). */
bool json_validate(const char *text, size_t n, struct json_shape *shape, struct json_index *index,
		   struct json_error *e)
{
	struct scan s = {
		.start = (const unsigned char *)text, .end = (const unsigned char *)text + n,
		.e = e, .index = index,
	};
	if (index)
		index->n = 0;
	const unsigned char *open = skip_ws(s.start, s.end), *p;
	if (open >= s.end || *open != '{')
		return fail(&s, open, "not a JSON object");
	s.shape.ntokens = 1;	/* the object's own */
	if (!(p = container(&s, open, true)))
		return false;
	if (index) {
		index->start = (unsigned)(open - s.start);
		index->end = (unsigned)(p - s.start);
	}
	p = skip_ws(p, s.end);
	if (p != s.end)
		return fail(&s, p, "unexpected data after the object");
	*shape = s.shape;
	return true;
}

/* The first member in index, of the line text, whose raw key is key[0,n)
 * byte for byte (escapes are not decoded), or NULL. */
const struct json_span *json_index_find(const struct json_index *index, const char *text, const char *key,
					size_t n)
{
	for (unsigned m = 0; m < index->n; m++) {
		const struct json_span *s = &index->member[m];
		if (s->key_end - s->key == n && memcmp(text + s->key, key, n) == 0)
			return s;
	}
	return NULL;
}

void json_index_free(struct json_index *index)
{
	free(index->member);
	*index = (struct json_index){ 0 };
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
