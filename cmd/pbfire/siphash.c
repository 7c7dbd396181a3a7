/*
 * SipHash-2-4 with 128-bit output (Aumasson and Bernstein, "SipHash: a
 * fast short-input PRF", and the reference implementation at
 * github.com/veorq/SipHash), the ledger's digest of a key. The key is two
 * 64-bit words, each the little-endian reading of 8 of the reference's 16
 * key bytes; the output is two words, whose little-endian bytes are the
 * reference's 16 output bytes. The message is read little-endian on any
 * host, so tests/unit/test_siphash.c checks the reference's known-answer
 * vectors everywhere. The ledger's collision odds (pbfire(1)) rest on
 * this being SipHash: keep it so.
 */
#include "siphash.h"

#include <string.h>

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static inline void sip_round(uint64_t v[4])
{
	v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
	v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
}

/* The 8 bytes at p as a little-endian word. */
static inline uint64_t read_le64(const unsigned char *p)
{
	uint64_t m;
	memcpy(&m, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	m = __builtin_bswap64(m);
#endif
	return m;
}

/* The digest of p[0,n) under key. */
void siphash128(const uint64_t key[2], const void *p, size_t n, uint64_t out[2])
{
	const unsigned char *in = p;
	uint64_t v[4] = { 0x736f6d6570736575ULL ^ key[0], 0x646f72616e646f6dULL ^ key[1] ^ 0xee,
			  0x6c7967656e657261ULL ^ key[0], 0x7465646279746573ULL ^ key[1] };
	uint64_t m, last = (uint64_t)n << 56;
	size_t whole = n & ~(size_t)7;
	for (size_t i = 0; i < whole; i += 8) {
		m = read_le64(in + i);
		v[3] ^= m;
		sip_round(v);
		sip_round(v);
		v[0] ^= m;
	}
	for (size_t i = whole; i < n; i++)
		last |= (uint64_t)in[i] << (8 * (i - whole));
	v[3] ^= last;
	sip_round(v);
	sip_round(v);
	v[0] ^= last;
	v[2] ^= 0xee;
	for (int half = 0; half < 2; half++) {
		for (int r = 0; r < 4; r++)
			sip_round(v);
		out[half] = v[0] ^ v[1] ^ v[2] ^ v[3];
		v[1] ^= 0xdd;
	}
}
