/*
 * The ledger: the keys of settled postbacks, each with its fate
 * (delivered, failed for good, superseded) and when it was settled, so
 * that a postback replayed from a log, by a cron run or by a restarted
 * pipeline, is not fired twice, whichever way it ended. The file is text:
 * a header line "pbfire-ledger 3", then a line "SECONDS KEY" per
 * delivered key, "SECONDSf KEY" per failed one and "SECONDSs KEY" per
 * superseded one, SECONDS the Unix time it was settled, with "\" and
 * newline in KEY written "\\" and "\n"; of the lines of one key, the
 * latest date wins, and of equal dates the last line. A line of the third
 * format that is not one of these (a marker of a newer format, or a line
 * torn and glued) is skipped with a warning and kept as it is when the
 * file is compacted. The second format, "pbfire-ledger 2", has delivered
 * keys only, "SECONDS KEY", a line that is not taken whole as a key. A
 * file without the header is of the first format, bare keys, and its keys
 * date from the file's modification time. Older formats are rewritten as
 * the third when opened for writing. A header of a later version stops it.
 *
 * Memory keeps a 128-bit SipHash-2-4 digest of each key (siphash.c),
 * under a hash key drawn at random at each open (so keys cannot be chosen
 * to collide), whose last 2 bits give way to the key's fate, and its
 * date, in a table of 20-byte slots with linear probing, at most 80%
 * full. Two keys collide by chance, sharing 126 bits, with odds of about
 * n^2 / 2^127 (6 * 10^-27 for a million keys). Loading and compacting
 * hash each key some lines before they need its slot, which is fetched
 * meanwhile. The table also marks keys in
 * flight, so that two lines with one key in the same run do not both fire.
 *
 * Keys settled longer than keep seconds ago are forgotten at once, and
 * their lines dropped when the file is compacted: at open, and at a
 * review every keep/4 (at most an hour), once they make a quarter of the
 * lines. The kept keys are written to PATH.new, which is synced and
 * renamed over PATH before the directory is synced (durable.c), so that
 * a crash at any moment leaves the old ledger or the new one, each whole.
 * Keys settled meanwhile are appended and synced in batches (ledger_sync);
 * a torn last line, from a crash mid-append, is cut off at open. One
 * pbfire at a time may use a ledger for writing: it is locked, and any
 * error writing it is fatal (exit 2), leaving what was written readable.
 */
#include "ledger.h"
#include "siphash.h"
#include "durable.h"
#include "duration.h"
#include "tool.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char header[] = "pbfire-ledger 3\n";
#define HEADER_LEN (sizeof header - 1)
#define VERSION 3
#define FATE_BITS 3u			/* of digest[3]: the fate of a settled key */
#define READ_CHUNK (1 << 20)
#define WHEN_IN_FLIGHT 1u
#define WHEN_MIN 2u			/* the earliest date a slot holds */
#define REVIEW_MAX 3600			/* seconds between reviews, at most */
#define AHEAD 16			/* keys hashed ahead of their insertion at load */

static int64_t system_clock(void)
{
	return (int64_t)time(NULL);
}

int64_t (*ledger_clock)(void) = system_clock;

/* ---- digests ---- */

/* The digest of a key, in host byte order: digests never leave the
 * process. */
static void digest(const struct ledger *l, const char *key, size_t n, uint32_t d[4])
{
	uint64_t h[2];
	siphash128(l->hash_key, key, n, h);
	memcpy(d, h, sizeof h);
	d[3] &= ~FATE_BITS;
}

/* The fates a slot keeps in its digest's last 2 bits, and the markers
 * glued to SECONDS in a line of the file, in the order of enum
 * ledger_state from KEY_DELIVERED. */
static const char fate_markers[] = { ' ', 'f', 's' };

static enum ledger_state fate_of(const struct ledger_slot *s)
{
	return KEY_DELIVERED + (enum ledger_state)(s->digest[3] & FATE_BITS);
}

static void set_fate(struct ledger_slot *s, enum ledger_state fate)
{
	s->digest[3] = (s->digest[3] & ~FATE_BITS) | (uint32_t)(fate - KEY_DELIVERED);
}

/* Whether slot s holds digest d, whatever the fate of either. */
static bool holds(const struct ledger_slot *s, const uint32_t d[4])
{
	return s->digest[0] == d[0] && s->digest[1] == d[1] && s->digest[2] == d[2] &&
	       ((s->digest[3] ^ d[3]) & ~FATE_BITS) == 0;
}

/* Whether s is a fate a key ends with. */
bool ledger_settled(enum ledger_state s)
{
	return s >= KEY_DELIVERED;
}

/* ---- the table ---- */

static uint32_t clamp_when(int64_t t)
{
	return t < WHEN_MIN ? WHEN_MIN : t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

/* Whether a slot's date is of a key delivered and since forgotten. */
static bool forgotten(const struct ledger *l, uint32_t when)
{
	return when >= WHEN_MIN && (int64_t)when < l->cutoff;
}

static void set_clock(struct ledger *l, int64_t now)
{
	l->cutoff = l->keep ? now - l->keep : 0;
}

/* A table for keys with room to spare: 70% full. */
static size_t room_for(size_t keys)
{
	return keys + keys * 3 / 7 + 16;
}

static size_t home(const struct ledger *l, const uint32_t d[4])
{
	return (size_t)(((uint64_t)d[0] * l->cap) >> 32);
}

/* The slot holding digest d, or the empty slot where it would go. */
static size_t find(const struct ledger *l, const uint32_t d[4])
{
	size_t i = home(l, d);
	while (l->slots[i].when && !holds(&l->slots[i], d))
		i = i + 1 < l->cap ? i + 1 : 0;
	return i;
}

/* An empty table of cap slots. A large one is asked for in huge pages
 * and zeroed by writing, page by page: calloc's pages would be mapped
 * to the zero page by the first probe that reads them, then copied at
 * the first key written, a second fault and a TLB flush a page. */
static struct ledger_slot *new_table(size_t cap)
{
	return memset(xmalloc_huge(cap, sizeof(struct ledger_slot)), 0, cap * sizeof(struct ledger_slot));
}

/* Moves the slots into a table of cap slots, leaving forgotten keys out
 * when drop is set. */
static void rehash(struct ledger *l, size_t cap, bool drop)
{
	struct ledger_slot *old = l->slots;
	size_t old_cap = l->cap;
	if (cap > UINT32_MAX)
		errx(EXIT_FATAL, "%s: too many keys", l->path);
	l->slots = new_table(cap);
	l->cap = cap;
	l->count = 0;
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].when || (drop && forgotten(l, old[i].when)))
			continue;
		l->slots[find(l, old[i].digest)] = old[i];
		l->count++;
	}
	free(old);
}

/* Empties slot hole, moving later slots of its run back over it so that
 * every key stays reachable from its home (Knuth's algorithm R). */
static void remove_slot(struct ledger *l, size_t hole)
{
	for (size_t j = hole;;) {
		j = j + 1 < l->cap ? j + 1 : 0;
		if (!l->slots[j].when)
			break;
		size_t h = home(l, l->slots[j].digest);
		bool stays = hole < j ? hole < h && h <= j : hole < h || h <= j;
		if (!stays) {
			l->slots[hole] = l->slots[j];
			hole = j;
		}
	}
	l->slots[hole].when = 0;
	l->count--;
}

/* The slot for digest d, claimed if it was empty. */
static size_t claim(struct ledger *l, const uint32_t d[4])
{
	size_t i = find(l, d);
	if (l->slots[i].when)
		return i;
	if ((l->count + 1) * 5 > l->cap * 4) {
		rehash(l, l->cap + l->cap / 2, false);
		i = find(l, d);
	}
	memcpy(l->slots[i].digest, d, sizeof l->slots[i].digest);
	l->count++;
	return i;
}

/* ---- lines ---- */

/* A line of the file: when its key was settled, how, and the key,
 * escaped; key NULL when the line is not one this pbfire reads. */
struct line {
	int64_t when;
	enum ledger_state fate;
	const char *key;
	size_t n;
};

/* Reads a line of a file of the given version: of the third, SECONDS,
 * a fate's marker (none when delivered) and a space, then the key; of
 * the second, "SECONDS KEY", or any other line whole as a key of the date
 * undated, as in the first. */
static struct line parse_line(const char *p, size_t n, int version, int64_t undated)
{
	size_t i = 0;
	int64_t t = 0;
	while (version >= 2 && i < n && i < 18 && p[i] >= '0' && p[i] <= '9')
		t = 10 * t + (p[i++] - '0');
	const char *marker = i > 0 && i + 1 < n && version == VERSION ? memchr(fate_markers, p[i], sizeof fate_markers) : NULL;
	if (marker && marker != fate_markers && p[i + 1] == ' ')
		return (struct line){ t, KEY_DELIVERED + (enum ledger_state)(marker - fate_markers), p + i + 2, n - i - 2 };
	if (i > 0 && i < n && p[i] == ' ')
		return (struct line){ t, KEY_DELIVERED, p + i + 1, n - i - 1 };
	return (struct line){ undated, KEY_DELIVERED, version == VERSION ? NULL : p, n };
}

/* The key of line k, decoded into scratch when it has escapes. */
static struct line decode(struct ledger *l, struct line k)
{
	if (!memchr(k.key, '\\', k.n))
		return k;
	buf_clear(&l->scratch);
	for (size_t i = 0; i < k.n; i++) {
		char c = k.key[i];
		if (c == '\\' && i + 1 < k.n)
			c = k.key[++i] == 'n' ? '\n' : k.key[i];
		buf_addc(&l->scratch, c);
	}
	return (struct line){ k.when, k.fate, l->scratch.data, l->scratch.len };
}

/* Appends a line of the file for key, dated when, with its fate; by
 * hand, not printf, as compacting writes a line per key. */
static void add_line(struct buf *b, uint32_t when, enum ledger_state fate, const char *key, size_t n)
{
	char digits[10], *d = digits + sizeof digits;
	do
		*--d = (char)('0' + when % 10);
	while (when /= 10);
	size_t nd = (size_t)(digits + sizeof digits - d);
	buf_reserve(b, nd + 2 + 2 * n + 1);
	char *o = b->data + b->len;
	memcpy(o, d, nd);
	o += nd;
	if (fate != KEY_DELIVERED)
		*o++ = fate_markers[fate - KEY_DELIVERED];
	*o++ = ' ';
	for (size_t i = 0; i < n; i++) {
		if (key[i] == '\\' || key[i] == '\n')
			*o++ = '\\';
		*o++ = key[i] == '\n' ? 'n' : key[i];
	}
	*o++ = '\n';
	*o = '\0';
	b->len = (size_t)(o - b->data);
}

static void write_all(const char *path, int fd, const char *p, size_t n)
{
	if (!durable_write(fd, p, n, DURABLE_AT_OFFSET))
		err(EXIT_FATAL, "%s: writing the ledger", path);
}

/* What a pass over the file's lines works with. */
struct pass {
	struct ledger *l;
	int version;
	int64_t undated;		/* the date of undated keys */
	size_t lines, live;		/* key lines, and those not forgotten */
	size_t undated_lines;
	size_t foreign;			/* lines not read, but kept */
	int out;			/* compaction: the new file */
	struct buf text;		/* compaction: lines not yet written */
	unsigned char *written;		/* compaction: a bit per slot */
	struct ahead {				/* a line whose key's slot is being fetched */
		struct ledger_slot slot;
		struct buf text;		/* compaction: the line */
	} ahead[AHEAD];
	size_t nahead;
};

typedef void each_line_fn(struct pass *p, const char *line, size_t n);

/* Calls fn for each complete line of fd from offset from; returns where
 * the last complete line ends. */
static off_t each_line(struct pass *p, int fd, off_t from, each_line_fn *fn)
{
	struct buf data = { 0 };
	off_t at = from, whole = from;
	for (;;) {
		buf_reserve(&data, READ_CHUNK);
		ssize_t r = pread(fd, data.data + data.len, READ_CHUNK, at);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err(EXIT_FATAL, "%s: reading the ledger", p->l->path);
		if (r == 0)
			break;
		at += r;
		data.len += (size_t)r;
		size_t start = 0;
		char *nl;
		while ((nl = memchr(data.data + start, '\n', data.len - start))) {
			size_t n = (size_t)(nl - (data.data + start));
			if (n)
				fn(p, data.data + start, n);
			start += n + 1;
		}
		whole += (off_t)start;
		memmove(data.data, data.data + start, data.len - start);
		data.len -= start;
	}
	buf_free(&data);
	return whole;
}

static void count_line(struct pass *p, const char *text, size_t n)
{
	struct line k = parse_line(text, n, p->version, p->undated);
	p->lines++;
	if (!k.key) {
		warnx("%s: skipping a line this pbfire does not read (a newer format, or torn): %.*s",
		      p->l->path, (int)(n < 60 ? n : 60), text);
		p->foreign++;
		p->live++;
		return;
	}
	p->live += !forgotten(p->l, clamp_when(k.when));
	p->undated_lines += k.key == text;
}

/* Enters a key loaded, keeping its latest line: the latest date, and of
 * equal dates the last read. */
static void load_slot(struct ledger *l, const struct ledger_slot *s)
{
	size_t i = claim(l, s->digest);
	if (l->slots[i].when <= s->when)
		l->slots[i] = *s;
}

/* Loads a line's key, AHEAD keys later: its slot is fetched meanwhile,
 * as the table is far larger than the caches. */
static void load_line(struct pass *p, const char *text, size_t n)
{
	struct ledger *l = p->l;
	struct line k = parse_line(text, n, p->version, p->undated);
	if (!k.key || forgotten(l, clamp_when(k.when)))
		return;
	struct ledger_slot *s = &p->ahead[p->nahead++ % AHEAD].slot;
	if (p->nahead > AHEAD)
		load_slot(l, s);
	s->when = clamp_when(k.when);
	k = decode(l, k);
	digest(l, k.key, k.n, s->digest);
	set_fate(s, k.fate);
	__builtin_prefetch(&l->slots[home(l, s->digest)], 1);
}

static void load_rest(struct pass *p)
{
	for (size_t i = p->nahead > AHEAD ? p->nahead - AHEAD : 0; i < p->nahead; i++)
		load_slot(p->l, &p->ahead[i % AHEAD].slot);
}

/* Writes a line, read AHEAD lines ago, to the new file: its key once,
 * with its slot's date and fate, unless it is forgotten; a line not read
 * as it is. */
static void keep_ahead(struct pass *p, const struct ahead *a)
{
	struct ledger *l = p->l;
	const char *text = a->text.data;
	size_t n = a->text.len;
	struct line k = parse_line(text, n, p->version, 0);
	if (!k.key) {
		buf_add(&p->text, text, n);
		buf_addc(&p->text, '\n');
		p->lines++;
		p->foreign++;
	} else {
		size_t i = find(l, a->slot.digest);
		uint32_t when = l->slots[i].when;
		if (when < WHEN_MIN || forgotten(l, when) || p->written[i / 8] & (1u << i % 8))
			return;
		p->written[i / 8] |= (unsigned char)(1u << i % 8);
		k = decode(l, k);
		add_line(&p->text, when, fate_of(&l->slots[i]), k.key, k.n);
		p->lines++;
	}
	if (p->text.len >= READ_CHUNK) {
		write_all(l->path, p->out, p->text.data, p->text.len);
		buf_clear(&p->text);
	}
}

/* Keeps a line, AHEAD lines later: its key's slot is fetched meanwhile,
 * as in load_line. */
static void keep_line(struct pass *p, const char *text, size_t n)
{
	struct ledger *l = p->l;
	struct ahead *a = &p->ahead[p->nahead++ % AHEAD];
	if (p->nahead > AHEAD)
		keep_ahead(p, a);
	buf_clear(&a->text);
	buf_add(&a->text, text, n);
	struct line k = parse_line(text, n, p->version, 0);
	if (!k.key)
		return;
	k = decode(l, k);
	digest(l, k.key, k.n, a->slot.digest);
	__builtin_prefetch(&l->slots[home(l, a->slot.digest)]);
}

static void keep_rest(struct pass *p)
{
	for (size_t i = p->nahead > AHEAD ? p->nahead - AHEAD : 0; i < p->nahead; i++)
		keep_ahead(p, &p->ahead[i % AHEAD]);
	for (size_t i = 0; i < AHEAD; i++)
		buf_free(&p->ahead[i].text);
}

/* ---- the file ---- */

/* The format of the file open on fd, from its first line; a header of a
 * later version than this pbfire knows stops it. */
static int version_of(const struct ledger *l, int fd)
{
	char head[32];
	ssize_t r = pread(fd, head, sizeof head - 1, 0);
	if (r < 0)
		err(EXIT_FATAL, "%s: reading the ledger", l->path);
	head[r] = '\0';
	if (!strncmp(head, header, HEADER_LEN))
		return VERSION;
	size_t digits = strspn(head + HEADER_LEN - 2, "0123456789");
	int version = 0;
	if (!strncmp(head, header, HEADER_LEN - 2) && digits && digits < 10 &&
	    head[HEADER_LEN - 2 + digits] == '\n')
		version = atoi(head + HEADER_LEN - 2);
	if (version > VERSION)
		errx(EXIT_FATAL, "%s: a ledger of version %d, newer than this pbfire reads", l->path, version);
	return version == 2 ? 2 : 1;
}

/* Opens and locks the ledger at path for writing (durable.c). */
static int open_for_writing(const char *path)
{
	int fd = durable_open_locked(path, O_RDWR | O_APPEND);
	if (fd < 0 && errno == EWOULDBLOCK)
		err(EXIT_FATAL, "%s: in use by another pbfire", path);
	if (fd < 0)
		err(EXIT_FATAL, "%s: cannot open the ledger for writing", path);
	return fd;
}

/* Makes sure a compaction can write PATH.new beside the ledger, removing
 * what one cut short left there. */
static void check_directory(const struct ledger *l)
{
	struct buf tmp = { 0 };
	buf_addf(&tmp, "%s" DURABLE_NEW_SUFFIX, l->path);
	int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		err(EXIT_FATAL, "%s: cannot create the file that compacting the ledger needs", tmp.data);
	close(fd);
	unlink(tmp.data);
	buf_free(&tmp);
}

/* Rewrites the file with one line per key kept, through PATH.new. */
static void compact(struct ledger *l, int version)
{
	struct stat st;
	struct durable_new fresh;
	struct pass p = { .l = l, .version = version, .written = xcalloc(l->cap / 8 + 1, 1) };
	if (!durable_new_open(&fresh, l->path, O_APPEND, 0600))
		err(EXIT_FATAL, "%s: compacting the ledger: %s", l->path, fresh.failed);
	if (fstat(l->fd, &st) == 0)
		fchmod(fresh.fd, st.st_mode & 07777);
	p.out = fresh.fd;
	buf_add(&p.text, header, HEADER_LEN);
	each_line(&p, l->fd, version >= 2 ? (off_t)HEADER_LEN : 0, keep_line);
	keep_rest(&p);
	write_all(fresh.tmp, p.out, p.text.data, p.text.len);
	if (!durable_new_commit(&fresh))
		err(EXIT_FATAL, "%s: compacting the ledger: %s", l->path, fresh.failed);
	close(l->fd);
	l->fd = fresh.fd;
	l->lines = p.lines;
	l->foreign = p.foreign;
	free(p.written);
	buf_free(&p.text);
}

/* When the review after one at now is due: keep/4 later, at most an hour. */
static int64_t next_review(const struct ledger *l, int64_t now)
{
	return now + (l->keep / 4 < 1 ? 1 : l->keep / 4 > REVIEW_MAX ? REVIEW_MAX : l->keep / 4);
}

/* Forgets what is to be forgotten: compacts the file once forgotten or
 * repeated lines are a quarter of it, and the table with it. */
static void review(struct ledger *l, int64_t now)
{
	size_t live = 0, flying = 0;
	l->next_review = next_review(l, now);
	for (size_t i = 0; i < l->cap; i++) {
		flying += l->slots[i].when == WHEN_IN_FLIGHT;
		live += l->slots[i].when >= WHEN_MIN && !forgotten(l, l->slots[i].when);
	}
	live += l->foreign;
	if (l->lines <= live || (l->lines - live) * 4 < l->lines)
		return;
	compact(l, VERSION);
	rehash(l, room_for(live + flying), true);
}

/* Reads a --ledger-keep duration of pb-rules(5) (seconds without a
 * unit), from 1 second to 100 years, kept to the second; 0 keeps keys
 * forever. */
bool ledger_parse_keep(const char *s, int64_t *seconds)
{
	int64_t ns;
	if (!duration_parse(s, strlen(s), DURATION_S, &ns) || (ns > 0 && ns < DURATION_S) ||
	    ns > 100 * 366 * DURATION_D)
		return false;
	*seconds = duration_round(ns, DURATION_S);
	return true;
}

static void draw_hash_key(struct ledger *l)
{
	if (getrandom(l->hash_key, sizeof l->hash_key, 0) == (ssize_t)sizeof l->hash_key)
		return;
	struct timespec ts;	/* no entropy to be had: still unknown to whoever chose the keys */
	clock_gettime(CLOCK_REALTIME, &ts);
	l->hash_key[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	l->hash_key[1] = (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4fULL ^ (uintptr_t)l;
}

/* Opens and loads the ledger at path, forgetting keys delivered more than
 * keep seconds ago (0: none); read_only (a dry run) neither creates,
 * locks nor writes it. */
void ledger_open(struct ledger *l, const char *path, bool read_only, int64_t keep)
{
	struct stat st;
	int64_t now = ledger_clock();
	memset(l, 0, sizeof *l);
	l->path = path;
	l->keep = keep;
	set_clock(l, now);
	l->next_review = next_review(l, now);
	draw_hash_key(l);
	l->fd = read_only ? open(path, O_RDONLY | O_CLOEXEC) : open_for_writing(path);
	if (l->fd < 0 && errno != ENOENT)
		err(EXIT_FATAL, "%s", path);
	if (l->fd >= 0 && fstat(l->fd, &st) < 0)
		err(EXIT_FATAL, "%s", path);
	if (l->fd < 0) {
		l->cap = room_for(0);
		l->slots = new_table(l->cap);
		return;
	}
	if (!read_only)
		check_directory(l);
	struct pass p = { .l = l, .version = version_of(l, l->fd), .undated = st.st_mtim.tv_sec };
	off_t from = p.version >= 2 ? (off_t)HEADER_LEN : 0;
	off_t whole = each_line(&p, l->fd, from, count_line);
	l->cap = room_for(p.live);
	l->slots = new_table(l->cap);
	each_line(&p, l->fd, from, load_line);
	load_rest(&p);
	l->lines = p.lines;
	l->foreign = p.foreign;
	if (read_only) {
		close(l->fd);
		l->fd = -1;
		return;
	}
	if (st.st_size > whole) {	/* a torn last key: appends must not extend it */
		warnx("%s: dropping an incomplete last key", path);
		if (ftruncate(l->fd, whole) < 0)
			err(EXIT_FATAL, "%s: cutting off the torn last key", path);
	}
	if (whole == 0)		/* empty: a new ledger */
		write_all(path, l->fd, header, HEADER_LEN);
	else if (p.version != VERSION || p.undated_lines ||
		 (l->lines > l->count + l->foreign && (l->lines - l->count - l->foreign) * 4 >= l->lines))
		compact(l, p.version);
}

enum ledger_state ledger_state(const struct ledger *l, const char *key, size_t n)
{
	uint32_t d[4];
	digest(l, key, n, d);
	uint32_t when = l->slots[find(l, d)].when;
	if (when == WHEN_IN_FLIGHT)
		return KEY_IN_FLIGHT;
	return when && !forgotten(l, when) ? fate_of(&l->slots[find(l, d)]) : KEY_UNKNOWN;
}

/* Records what is known of key; a settled key is dated now (a date to
 * come stays) and also appended to the file, with its fate, at the next
 * ledger_sync(). */
void ledger_set(struct ledger *l, const char *key, size_t n, enum ledger_state s)
{
	uint32_t d[4];
	digest(l, key, n, d);
	if (s == KEY_UNKNOWN) {
		size_t i = find(l, d);
		if (l->slots[i].when)
			remove_slot(l, i);
		return;
	}
	int64_t now = ledger_clock();
	size_t i = claim(l, d);
	if (s == KEY_IN_FLIGHT)
		l->slots[i].when = WHEN_IN_FLIGHT;
	else if (l->slots[i].when < clamp_when(now))	/* a date to come stays */
		l->slots[i].when = clamp_when(now);
	if (ledger_settled(s))
		set_fate(&l->slots[i], s);
	if (ledger_settled(s) && l->fd >= 0) {	/* dated as the slot, so that this line wins */
		add_line(&l->pending, l->slots[i].when, s, key, n);
		l->lines++;
	}
}

/* Appends the keys delivered since the last call and syncs the file;
 * reviews what to forget when the time comes. */
void ledger_sync(struct ledger *l)
{
	if (l->fd < 0)
		return;
	int64_t now = ledger_clock();
	set_clock(l, now);
	if (l->pending.len) {
		write_all(l->path, l->fd, l->pending.data, l->pending.len);
		if (fdatasync(l->fd) < 0)
			err(EXIT_FATAL, "%s: syncing the ledger", l->path);
		buf_clear(&l->pending);
	}
	if (l->keep && now >= l->next_review)
		review(l, now);
}

void ledger_close(struct ledger *l)
{
	if (l->fd >= 0) {
		ledger_sync(l);
		close(l->fd);
	}
	free(l->slots);
	buf_free(&l->pending);
	buf_free(&l->scratch);
}
