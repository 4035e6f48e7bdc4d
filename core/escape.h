/* The quoted-string byte escapes shared by the node protocol and the history formats. */
#ifndef FLOWRAFT_CORE_ESCAPE_H
#define FLOWRAFT_CORE_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

/* The escapes, between double quotes: \\ \" \n \r \t and \xHH for any other byte below 0x20
 * or above 0x7e; every other byte stands for itself. */
#define ESCAPE_BYTES_MAX 4 /* the longest form of one byte: \xHH */

/* Writes the quoted-string form of byte c into out (not terminated); returns its length, 1 to
 * ESCAPE_BYTES_MAX. */
size_t escape_byte(uint8_t c, char out[ESCAPE_BYTES_MAX]);

/* Decodes the escape that follows a backslash, at text[*at] with text[len] the end; advances
 * *at past it. Returns the byte (0..255), or -1 for an unknown or cut-short escape. */
int escape_decode(const char *text, size_t len, size_t *at);

#endif
