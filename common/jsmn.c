/*
 * The one object that compiles jsmn's implementation (Debian's
 * libjsmn-dev ships it header-only). Every other file includes record.h,
 * which includes jsmn.h with JSMN_HEADER; its one option, JSMN_STRICT,
 * comes from the Makefile, so all objects agree on the layout of jsmntok_t.
 */
#include <jsmn.h>
