#ifndef PB_SIPHASH_H
#define PB_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

void siphash128(const uint64_t key[2], const void *p, size_t n, uint64_t out[2]);

#endif
