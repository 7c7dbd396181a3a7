/*
 * Matching actions to postbacks. Every postback is filed in a hash index
 * under each (type, offer, publisher) combination of its scope, "*"
 * standing for any; an action then looks up at most four keys (its type
 * with its offer or *, its publisher or *; only the kinds of key some
 * postback of its type is filed under) and checks only the postbacks
 * found there for event name, firing status and rejection reason.
 * Results come back in rule-file order. The same lookup tells whether an
 * action that fires nothing may still supersede a held line of its
 * transaction (a postback of its scope holds lines). This file also
 * writes what pbmatch adds to a matched action: the postback object, its
 * dedupe key and fire_at.
 */
#include "match.h"

#include <stdlib.h>
#include <string.h>

struct match_entry {
	size_t pb, next;
};

/* Appends one id of an index key: "*" for any, or "=" and the id. */
static char *put_id(char *p, const char *id, size_t n)
{
	*p++ = '\x1f';
	*p++ = id ? '=' : '*';
	if (id)
		memcpy(p, id, n);
	return p + (id ? n : 0);
}

/* Builds the index key: type, then offer and publisher, each "*" for any
 * or "=" and the id (so an id that is literally "*" cannot collide). */
static void scope_key(struct buf *k, enum action_type type, const char *offer, size_t on,
		      const char *publisher, size_t pn)
{
	buf_clear(k);
	buf_reserve(k, 5 + on + pn);
	char *p = k->data;
	*p++ = (char)('0' + type);
	p = put_id(p, offer, on);
	p = put_id(p, publisher, pn);
	*p = '\0';
	k->len = (size_t)(p - k->data);
}

/* The bit of scopes[type] telling that some postback is filed under a key
 * with an offer (or any) and a publisher (or any). */
static unsigned scope_bit(bool offer, bool publisher)
{
	return 1u << (2 * offer + publisher);
}

/* Files postback pb under the key in m->key, after those filed there
 * before. A scope list that names one id twice (9 and "9") gives pb one
 * key twice: it is filed there once, so it fires once. */
static void file_entry(struct matcher *m, size_t pb)
{
	size_t e = m->nentries;
	size_t head = *strmap_put(&m->index, m->key.data, m->key.len, e);
	if (head != e && m->entries[m->tails[head]].pb == pb)
		return;
	if (++m->nentries > m->entries_cap) {
		m->entries_cap = m->entries_cap ? 2 * m->entries_cap : 64;
		m->entries = xreallocarray(m->entries, m->entries_cap, sizeof *m->entries);
		m->tails = xreallocarray(m->tails, m->entries_cap, sizeof *m->tails);
	}
	m->entries[e] = (struct match_entry){ pb, STRMAP_NONE };
	if (head != e)
		m->entries[m->tails[head]].next = e;
	m->tails[head] = e;
}

/* Files postback i under each key of its scope for action type t. */
static void index_postback(struct matcher *m, size_t i, enum action_type t)
{
	const struct postback *pb = &m->rules->pb[i];
	size_t no = pb->offers.n ? pb->offers.n : 1, np = pb->publishers.n ? pb->publishers.n : 1;
	m->scopes[t] |= (unsigned char)scope_bit(pb->offers.n, pb->publishers.n);
	m->holds[t] |= pb->delay && !pb->keep_when_superseded;
	for (size_t o = 0; o < no; o++) {
		for (size_t p = 0; p < np; p++) {
			const char *offer = pb->offers.n ? pb->offers.v[o] : NULL;
			const char *pub = pb->publishers.n ? pb->publishers.v[p] : NULL;
			scope_key(&m->key, t, offer, offer ? strlen(offer) : 0, pub, pub ? strlen(pub) : 0);
			file_entry(m, i);
		}
	}
}

/* The postback's type as the rule file gives it: a name, or a list of
 * them when it has several. */
static void add_types(struct buf *b, unsigned types)
{
	bool list = types & (types - 1);
	const char *sep = "";
	buf_adds(b, list ? "[" : "");
	for (int t = 0; t < TYPE_COUNT; t++)
		if (types & 1u << t) {
			buf_addf(b, "%s\"%s\"", sep, action_type_names[t]);
			sep = ",";
		}
	buf_adds(b, list ? "]" : "");
}

static char *postback_members(const struct postback *pb, size_t *len)
{
	struct buf b = { 0 };
	buf_adds(&b, "\"postback\":{\"name\":");
	buf_add_json_string(&b, pb->name, strlen(pb->name));
	buf_adds(&b, ",\"type\":");
	add_types(&b, pb->types);
	buf_adds(&b, ",\"url\":");
	buf_add_json_string(&b, pb->url, strlen(pb->url));
	buf_addf(&b, ",\"method\":\"%s\",\"delay\":%ld,", pb->post ? "POST" : "GET", pb->delay);
	if (pb->map_json)
		buf_addf(&b, "\"map\":%s,", pb->map_json);
	if (pb->body_json)
		buf_addf(&b, "\"content_type\":\"%s\",\"body\":%s,",
			 pb->json_body ? "application/json" : "application/x-www-form-urlencoded", pb->body_json);
	if (pb->headers_json)
		buf_addf(&b, "\"headers\":%s,", pb->headers_json);
	if (pb->sign_json)
		buf_addf(&b, "\"sign\":%s,", pb->sign_json);
	if (pb->timeout_ms)
		buf_addf(&b, "\"timeout\":%ld.%03ld,", pb->timeout_ms / 1000, pb->timeout_ms % 1000);
	if (pb->attempts)
		buf_addf(&b, "\"attempts\":%d,", pb->attempts);
	if (pb->final_json)
		buf_addf(&b, "\"final\":%s,", pb->final_json);
	if (pb->expect_json)
		buf_addf(&b, "\"expect\":%s,", pb->expect_json);
	if (pb->rate)
		buf_addf(&b, "\"rate\":\"%s\",", pb->rate);
	if (pb->keep_when_superseded)
		buf_adds(&b, "\"supersede\":false,");
	buf_adds(&b, "\"key\":");
	*len = b.len;
	return b.data;
}

void matcher_build(struct matcher *m, const struct rules *r)
{
	memset(m, 0, sizeof *m);
	m->rules = r;
	m->members = xcalloc(r->n, sizeof *m->members);
	m->members_len = xcalloc(r->n, sizeof *m->members_len);
	m->found = xcalloc(r->n, sizeof *m->found);
	for (size_t i = 0; i < r->n; i++) {
		for (int t = 0; t < TYPE_COUNT; t++)
			if (r->pb[i].types & 1u << t)
				index_postback(m, i, (enum action_type)t);
		m->members[i] = postback_members(&r->pb[i], &m->members_len[i]);
	}
}

/* Whether a's status is one pb fires on: one it names, or with none
 * named, any for a click and approved for the rest. */
static bool status_fires(const struct postback *pb, const struct action *a)
{
	if (!pb->statuses)
		return a->type == TYPE_CLICK || text_is(a->status, "approved");
	for (int s = 0; s < STATUS_COUNT; s++)
		if (pb->statuses & 1u << s && text_is(a->status, action_status_names[s]))
			return true;
	return false;
}

/* Whether pb's event names, which only event actions have, cover a's. */
static bool event_fires(const struct postback *pb, const struct action *a)
{
	return !pb->events.n || a->type != TYPE_EVENT ||
	       (a->event.p && strlist_has(&pb->events, a->event.p, a->event.n));
}

static bool fires(const struct postback *pb, const struct action *a)
{
	if (!event_fires(pb, a) || !status_fires(pb, a))
		return false;
	if (pb->reasons.n && text_is(a->status, "rejected"))
		return a->reason.p && strlist_has(&pb->reasons, a->reason.p, a->reason.n);
	return true;
}

/* Whether pb holds its lines for a later action to supersede, and
 * covers a's event: a line of a's transaction may be waiting in it. */
static bool may_hold(const struct postback *pb, const struct action *a)
{
	return pb->delay && !pb->keep_when_superseded && (!a->event.p || event_fires(pb, a));
}

/* Adds the postbacks filed under m->key that pass test to m->found. */
static void collect(struct matcher *m, const struct action *a,
		    bool (*test)(const struct postback *, const struct action *))
{
	size_t e = strmap_get(&m->index, m->key.data, m->key.len);
	for (; e != STRMAP_NONE; e = m->entries[e].next) {
		size_t pb = m->entries[e].pb;
		if (!test(&m->rules->pb[pb], a))
			continue;
		size_t j = m->nfound++;	/* insert in file order; lists are short */
		for (; j > 0 && m->found[j - 1] > pb; j--)
			m->found[j] = m->found[j - 1];
		m->found[j] = pb;
	}
}

/* Finds the postbacks of a's scope that pass test; they are
 * m->found[0..n). */
static size_t find(struct matcher *m, const struct action *a,
		   bool (*test)(const struct postback *, const struct action *))
{
	m->nfound = 0;
	if (a->type == TYPE_COUNT)
		return 0;
	for (int o = 0; o < 2; o++) {
		for (int p = 0; p < 2; p++) {
			const struct text *offer = o ? &a->offer : NULL, *pub = p ? &a->publisher : NULL;
			if ((offer && !offer->p) || (pub && !pub->p) || !(m->scopes[a->type] & scope_bit(o, p)))
				continue;
			scope_key(&m->key, a->type, offer ? offer->p : NULL, offer ? offer->n : 0,
				  pub ? pub->p : NULL, pub ? pub->n : 0);
			collect(m, a, test);
		}
	}
	return m->nfound;
}

/* Finds the postbacks that fire for a; they are m->found[0..n). */
size_t matcher_find(struct matcher *m, const struct action *a)
{
	return find(m, a, fires);
}

/* Whether a line of a's transaction may be held for a later action to
 * supersede: some postback that holds them (a delay, supersede not
 * false) covers a's type and event, and its scope, an offer or
 * publisher a lacks counting as any (a verdict may carry the
 * transaction alone). */
bool matcher_may_hold(struct matcher *m, const struct action *a)
{
	if (a->type == TYPE_COUNT || !m->holds[a->type])
		return false;
	if (!a->offer.p || !a->publisher.p)
		return true;
	return find(m, a, may_hold) > 0;
}

/* Appends the members pbmatch adds for postback pb: the postback object
 * with its key (transaction_id:name:status, event name or "click") and
 * fire_at, the action's time (or now) plus the delay. */
void matcher_members(struct matcher *m, size_t pb, const struct action *a,
		     struct stamp now, struct buf *out)
{
	const struct postback *p = &m->rules->pb[pb];
	struct buf *k = &m->key;
	buf_add(out, m->members[pb], m->members_len[pb]);
	struct text which = a->type == TYPE_EVENT ? a->event : a->status;
	buf_clear(k);
	buf_add(k, a->transaction_id.p, a->transaction_id.n);
	buf_addc(k, ':');
	buf_adds(k, p->name);
	buf_addc(k, ':');
	if (which.p)
		buf_add(k, which.p, which.n);
	else
		buf_adds(k, action_type_names[a->type]);
	buf_add_json_string(out, k->data, k->len);
	struct stamp at = a->has_time ? a->time : now;
	at.sec += p->delay;
	char when[STAMP_TEXT_MAX];
	size_t n = stamp_format(at, when);
	buf_adds(out, "},\"fire_at\":\"");
	buf_add(out, when, n);
	buf_addc(out, '"');
}

void matcher_free(struct matcher *m)
{
	for (size_t i = 0; i < m->rules->n; i++)
		free(m->members[i]);
	free(m->members);
	free(m->members_len);
	free(m->found);
	free(m->entries);
	free(m->tails);
	strmap_free(&m->index);
	buf_free(&m->key);
}
