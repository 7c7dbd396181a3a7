/*
 * The one object that compiles jsmn's implementation (Debian's
 * libjsmn-dev ships it header-only). Every other file includes record.h,
 * which includes jsmn.h with JSMN_HEADER; the JSMN_* options themselves
 * (JSMN_STRICT, JSMN_PARENT_LINKS) come from the Makefile, so all objects
 * agree on the layout of jsmntok_t.
 */
#include <jsmn.h>
