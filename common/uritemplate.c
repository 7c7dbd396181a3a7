/*
 * URI Templates, RFC 6570, all four levels: the operators + # . / ; ? &,
 * prefixes {var:3} and explode {list*}. Variables are members of a JSON
 * object: strings (unescaped, UTF-8), numbers in their source text,
 * true and false as text, null or missing as undefined, arrays as lists
 * and objects as associative arrays, in their order. Expansion parses the
 * template as it goes, so a template needs no compiled form; tmpl_check
 * is the same walk with no variables, for checking rule files. Text mode,
 * for headers and JSON bodies, is the same grammar without the encoding.
 * One expression is pb's, not RFC 6570's: a secret placeholder,
 * {secret:NAME} (common/secretref.c), is copied as it is, for pbfire to
 * fill; an expansion whose values would make one more is refused, so
 * that every placeholder in what is rendered is the template's own.
 */
#include "uritemplate.h"
#include "secretref.h"

#include <string.h>

/* One operator's behaviour, RFC 6570 appendix A. */
struct op {
	char first, sep;
	bool named, reserved;
	const char *ifemp;
};

static const struct op ops[] = {
	{ 0, ',', false, false, "" },	/* simple */
	{ 0, ',', false, true, "" },	/* + */
	{ '#', ',', false, true, "" },
	{ '.', '.', false, false, "" },
	{ '/', '/', false, false, "" },
	{ ';', ';', true, false, "" },
	{ '?', '&', true, false, "=" },
	{ '&', '&', true, false, "=" },
};

/* An expansion in progress. */
struct expansion {
	const char *t, *p, *end;
	const char *open;		/* the '{' of the expression being read */
	const struct tmpl_vars *v;	/* NULL when only checking */
	bool text;			/* TMPL_TEXT: nothing is encoded */
	size_t placed;			/* secret placeholders copied from the template */
	struct buf *out;
	struct tmpl_error *e;
};

/* A variable specification: name, prefix length (0: none), explode. */
struct varspec {
	const char *name;
	size_t len;
	unsigned prefix;
	bool explode;
};

static bool fail(struct expansion *x, const char *at, const char *msg)
{
	if (at >= x->end && x->open) {
		at = x->open;
		msg = "unclosed '{'";
	}
	x->e->msg = msg;
	x->e->offset = (size_t)(at - x->t);
	return false;
}

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static bool is_unreserved(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_reserved(unsigned char c)
{
	return c && strchr(":/?#[]@!$&'()*+,;=", c);
}

static bool pct_at(const char *p, const char *end)
{
	return end - p >= 3 && p[0] == '%' && is_hex((unsigned char)p[1]) && is_hex((unsigned char)p[2]);
}

static void add_pct(struct buf *out, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char b[3] = { '%', hex[c >> 4], hex[c & 15] };
	buf_add(out, b, 3);
}

/* What byte c is to URI templates, in kind[c]: KEEP_ANY when it stays as
 * it is in any expansion (unreserved), KEEP_RESERVED when only in
 * reserved ones (+ and #); LITERAL when a template's literal text may
 * hold it and it is copied as it is ('%' is not: it starts a triplet). */
enum { KEEP_ANY = 1, KEEP_RESERVED = 2, LITERAL = 4 };
static unsigned char kind[256];

static void init_kinds(void)
{
	if (kind['a'])
		return;
	for (int c = 0; c < 256; c++) {
		unsigned char u = (unsigned char)c;
		kind[c] = is_unreserved(u) ? KEEP_ANY : is_reserved(u) ? KEEP_RESERVED : 0;
		if (c > 0x20 && c < 0x7F && !strchr("\"<>\\^`|{}%", c))
			kind[c] |= LITERAL;
	}
}

/* Appends s encoded: unreserved kept, and with reserved also reserved
 * characters and existing %XX triplets; every other byte as %XX. */
static void encode(struct buf *out, const char *s, size_t n, bool reserved)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char kept = reserved ? KEEP_ANY | KEEP_RESERVED : KEEP_ANY;
	buf_reserve(out, 3 * n);
	char *o = out->data + out->len;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (kind[c] & kept) {
			*o++ = (char)c;
		} else if (reserved && pct_at(s + i, s + n)) {
			memcpy(o, s + i, 3);
			o += 3;
			i += 2;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
}

/* The byte length of the first max code points of UTF-8 text s. */
static size_t prefix_bytes(const char *s, size_t n, unsigned max)
{
	size_t i = 0;
	for (unsigned k = 0; i < n && k < max; k++)
		do
			i++;
		while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80);
	return i;
}

/* Parses name, then ":N" or "*", at x->p. */
static bool parse_varspec(struct expansion *x, struct varspec *vs)
{
	const char *p = x->p;
	vs->name = p;
	for (;;) {
		const char *from = p;
		while (p < x->end && (is_alnum((unsigned char)*p) || *p == '_' || pct_at(p, x->end)))
			p += *p == '%' ? 3 : 1;
		if (p == from)
			return fail(x, p, p < x->end && *p == '.' ? "misplaced '.' in a variable name"
					       : "expected a variable name");
		if (p < x->end && *p == '.') {
			p++;
			continue;
		}
		if (p < x->end && *p && strchr(":*,}", *p))
			break;
		return fail(x, p, "invalid character in a variable name");
	}
	vs->len = (size_t)(p - vs->name);
	vs->prefix = 0;
	vs->explode = *p == '*';
	if (vs->explode)
		p++;
	else if (*p == ':') {
		const char *digits = ++p;
		unsigned v = 0;
		while (p < x->end && *p >= '0' && *p <= '9' && p - digits < 4)
			v = v * 10 + (unsigned)(*p++ - '0');
		if (p == digits && vs->len == 6 && !memcmp(vs->name, "secret", 6) && p < x->end &&
		    ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
			return fail(x, digits, "a secret placeholder is {secret:NAME}, alone in its braces with no operator, "
					       "NAME a letter then letters, digits, '_', '.' or '-'");
		if (p == digits || *digits == '0' || (p < x->end && *p >= '0' && *p <= '9'))
			return fail(x, digits, "prefix length must be 1 to 9999");
		vs->prefix = v;
	}
	x->p = p;
	return true;
}

static void add_name(struct expansion *x, const struct varspec *vs)
{
	buf_add(x->out, vs->name, vs->len);
}

/* The value token of vs, or -1 when undefined: missing or null (both
 * told to v->undefined, which is told which), or an empty list or object. A dotted name that
 * is not a member is looked up as a path. */
static int lookup(struct expansion *x, const struct varspec *vs)
{
	const struct tmpl_vars *v = x->v;
	int i = record_getn(v->r, v->obj, vs->name, vs->len);
	if (i < 0 && memchr(vs->name, '.', vs->len))
		i = record_path(v->r, vs->name, vs->len);
	if (i < 0 || record_is_null(v->r, i)) {
		if (v->undefined)
			v->undefined(v->arg, vs->name, vs->len, i < 0);
		return -1;
	}
	bool composite = !record_is_scalar(v->r, i);
	return composite && v->r->tok[i].size == 0 ? -1 : i;
}

/* The text of scalar token i of variable vs, after the value map: the
 * value's own entry, else the map's default entry "*". */
static struct text scalar_text(struct expansion *x, const struct varspec *vs, int i)
{
	struct record *r = x->v->r;
	struct text t = record_text(r, i);
	if (x->v->map < 0)
		return t;
	int m = record_getn(r, x->v->map, vs->name, vs->len);
	int to = m >= 0 ? record_getn(r, m, t.p, t.n) : -1;
	if (m >= 0 && to < 0)
		to = record_getn(r, m, "*", 1);
	return to >= 0 && record_is_scalar(r, to) ? record_text(r, to) : t;
}

/* Percent-encodes s as a simple expansion would (form field names). */
void tmpl_encode(struct buf *out, const char *s, size_t n)
{
	init_kinds();
	encode(out, s, n, false);
}

static void add_value(struct expansion *x, const struct op *op, struct text t, unsigned prefix)
{
	size_t n = prefix ? prefix_bytes(t.p, t.n, prefix) : t.n;
	if (x->text)
		buf_add(x->out, t.p, n);
	else
		encode(x->out, t.p, n, op->reserved);
}

/* name, then "=" or, for an empty value, the operator's ifemp. */
static void add_named(struct expansion *x, const struct op *op, const char *name, size_t n,
		      size_t value_len)
{
	buf_add(x->out, name, n);
	if (value_len)
		buf_addc(x->out, '=');
	else
		buf_adds(x->out, op->ifemp);
}

static bool element(struct expansion *x, const struct varspec *vs, int i, struct text *t)
{
	if (!record_is_scalar(x->v->r, i))
		return fail(x, vs->name, "a list or object nested in a variable");
	*t = scalar_text(x, vs, i);
	return true;
}

/* A named operator writes "name=" once before an unexploded list or
 * object (exploded ones name each element instead). */
static void composite_name(struct expansion *x, const struct op *op, const struct varspec *vs)
{
	if (op->named && !vs->explode) {
		add_name(x, vs);
		buf_addc(x->out, '=');
	}
}

static bool expand_list(struct expansion *x, const struct op *op, const struct varspec *vs, int i)
{
	struct record *r = x->v->r;
	composite_name(x, op, vs);
	int j = i + 1;
	for (int k = 0; k < r->tok[i].size; k++, j = record_skip(r, j)) {
		struct text t;
		if (!element(x, vs, j, &t))
			return false;
		if (k)
			buf_addc(x->out, vs->explode ? op->sep : ',');
		if (op->named && vs->explode)
			add_named(x, op, vs->name, vs->len, t.n);
		add_value(x, op, t, 0);
	}
	return true;
}

static bool expand_assoc(struct expansion *x, const struct op *op, const struct varspec *vs, int i)
{
	struct record *r = x->v->r;
	composite_name(x, op, vs);
	int j = i + 1;
	for (int k = 0; k < r->tok[i].size; k++, j = record_skip(r, j + 1)) {
		struct text key = record_text(r, j), t;
		if (!element(x, vs, j + 1, &t))
			return false;
		if (k)
			buf_addc(x->out, vs->explode ? op->sep : ',');
		add_value(x, op, key, 0);
		buf_addc(x->out, vs->explode ? '=' : ',');
		add_value(x, op, t, 0);
	}
	return true;
}

/* Appends the expansion of defined variable vs, value token i. */
static bool expand_var(struct expansion *x, const struct op *op, const struct varspec *vs, int i)
{
	jsmntype_t type = x->v->r->tok[i].type;
	if (type == JSMN_STRING || type == JSMN_PRIMITIVE) {
		struct text t = scalar_text(x, vs, i);
		if (op->named)
			add_named(x, op, vs->name, vs->len, t.n);
		add_value(x, op, t, vs->prefix);
		return true;
	}
	if (vs->prefix)
		return fail(x, vs->name, "a prefix applies to strings, not to lists or objects");
	return type == JSMN_ARRAY ? expand_list(x, op, vs, i) : expand_assoc(x, op, vs, i);
}

static const struct op *parse_operator(struct expansion *x)
{
	static const char operators[] = "+#./;?&";
	const char *o = x->p < x->end && *x->p ? strchr(operators, *x->p) : NULL;
	if (!o)
		return &ops[0];
	x->p++;
	return &ops[1 + (o - operators)];
}

/* Expands the expression at x->p, which is at its '{'. */
static bool expression(struct expansion *x)
{
	x->open = x->p++;
	if (x->p < x->end && *x->p && strchr("=,!@|", *x->p))
		return fail(x, x->p, "reserved operator");
	const struct op *op = parse_operator(x);
	bool first = true;
	for (;;) {
		struct varspec vs;
		if (!parse_varspec(x, &vs))
			return false;
		int i = x->v ? lookup(x, &vs) : -1;
		if (i >= 0) {
			char lead = first ? op->first : op->sep;
			if (lead)
				buf_addc(x->out, lead);
			first = false;
			if (!expand_var(x, op, &vs, i))
				return false;
		}
		if (x->p >= x->end)
			return fail(x, x->p, "unclosed '{'");
		if (*x->p == '}') {
			x->p++;
			x->open = NULL;
			return true;
		}
		if (*x->p != ',')
			return fail(x, x->p, "expected ',' or '}'");
		x->p++;
	}
}

/* The literal character at x->p that plain_run stopped at: a '}' out of
 * place, a percent triplet, a character a URI does not allow, or a byte
 * of non-ASCII text, which is percent-encoded. */
static bool literal(struct expansion *x)
{
	unsigned char c = (unsigned char)*x->p;
	if (c == '}')
		return fail(x, x->p, "unmatched '}'");
	if (c == '%') {
		if (!pct_at(x->p, x->end))
			return fail(x, x->p, "'%' not followed by two hex digits");
		buf_add(x->out, x->p, 3);
		x->p += 3;
		return true;
	}
	if (c < 0x80)
		return fail(x, x->p, "character not allowed in a URI template");
	add_pct(x->out, c);
	x->p++;
	return true;
}

/* The end of the literal text at p that is copied as it is: up to a
 * brace, and in a URI template up to a character literal() must see. */
static const char *plain_run(const struct expansion *x, const char *p)
{
	if (x->text)
		while (p < x->end && *p != '{' && *p != '}')
			p++;
	else
		while (p < x->end && kind[(unsigned char)*p] & LITERAL)
			p++;
	return p;
}

/* Copies the secret placeholder at x->p, if one is there. */
static bool placeholder(struct expansion *x)
{
	size_t n = secretref_at(x->p, x->end, NULL);
	buf_add(x->out, x->p, n);
	x->p += n;
	x->placed += n > 0;
	return n > 0;
}

static bool walk(struct expansion *x)
{
	init_kinds();
	size_t start = x->out->len;
	for (;;) {
		const char *run = plain_run(x, x->p);
		buf_add(x->out, x->p, (size_t)(run - x->p));
		if ((x->p = run) >= x->end)
			break;
		if (!(*x->p == '{' ? placeholder(x) || expression(x) : literal(x)))
			return false;
	}
	if (x->out->len > start && secretref_count(x->out->data + start, x->out->len - start) != x->placed)
		return fail(x, x->t, "a value makes a {secret:NAME} placeholder, which pbfire would fill with a secret");
	return true;
}

/* Expands template t[0,n) with the variables of v into out (appending). */
bool tmpl_expand(const char *t, size_t n, enum tmpl_mode mode, const struct tmpl_vars *v,
		 struct buf *out, struct tmpl_error *e)
{
	struct expansion x = { t, t, t + n, NULL, v, mode == TMPL_TEXT, 0, out, e };
	return walk(&x);
}

/* Checks the syntax of template t[0,n). */
bool tmpl_check(const char *t, size_t n, enum tmpl_mode mode, struct tmpl_error *e)
{
	struct buf scratch = { 0 };
	struct expansion x = { t, t, t + n, NULL, NULL, mode == TMPL_TEXT, 0, &scratch, e };
	bool ok = walk(&x);
	buf_free(&scratch);
	return ok;
}
