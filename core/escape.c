/* The quoted-string byte escapes shared by the node protocol and the history formats. */
#include "core/escape.h"

#include <assert.h>

static const char escape_hex_digits[] = "0123456789abcdef";

size_t escape_byte(uint8_t c, char out[ESCAPE_BYTES_MAX])
{
    assert(out != NULL);
    const char *named = c == '\\'   ? "\\\\"
                        : c == '"'  ? "\\\""
                        : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t"
                                    : NULL;
    if (named != NULL) {
        out[0] = named[0];
        out[1] = named[1];
        return 2;
    }
    if (c < 0x20 || c >= 0x7f) {
        out[0] = '\\';
        out[1] = 'x';
        out[2] = escape_hex_digits[c >> 4];
        out[3] = escape_hex_digits[c & 0xf];
        return 4;
    }
    out[0] = (char)c;
    return 1;
}

static int escape_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int escape_decode(const char *text, size_t len, size_t *at)
{
    assert(text != NULL || len == 0);
    assert(at != NULL && *at <= len);
    if (*at >= len) {
        return -1;
    }
    char c = text[(*at)++];
    switch (c) {
    case '\\':
    case '"':
        return (unsigned char)c;
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'x': {
        if (len - *at < 2) {
            return -1;
        }
        int hi = escape_hex(text[*at]);
        int lo = escape_hex(text[*at + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        *at += 2;
        return hi * 16 + lo;
    }
    default:
        return -1;
    }
}
