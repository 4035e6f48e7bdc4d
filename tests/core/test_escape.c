/* Tests for core/escape: the quoted-string byte escapes of the node protocol and the histories. */
#include "core/escape.h"

#include <criterion/criterion.h>
#include <string.h>

/* Invariant: every byte value encodes to a form that decodes back to it, the form holds no
 * control or non-ASCII byte and a quote only escaped, and printable bytes other than \ and " stand
 * for themselves (so the formats stay line-based, quotable text). */
Test(escape, every_byte_round_trips)
{
    for (int v = 0; v < 256; v++) {
        char form[ESCAPE_BYTES_MAX];
        size_t n = escape_byte((uint8_t)v, form);
        cr_assert(n >= 1 && n <= ESCAPE_BYTES_MAX, "byte %d", v);
        if (v >= 0x20 && v < 0x7f && v != '\\' && v != '"') {
            cr_assert_eq(n, 1, "byte %d stands for itself", v);
            cr_assert_eq((unsigned char)form[0], v);
            continue;
        }
        cr_assert_eq(form[0], '\\', "byte %d is escaped", v);
        for (size_t i = 1; i < n; i++) {
            cr_assert(form[i] >= 0x20 && form[i] < 0x7f, "byte %d", v);
            cr_assert(form[i] != '"' || v == '"', "byte %d: a quote only as \\\"", v);
        }
        size_t at = 1;
        cr_assert_eq(escape_decode(form, n, &at), v, "byte %d", v);
        cr_assert_eq(at, n, "byte %d: the whole form is consumed", v);
    }
}

/* Invariant: the documented short forms are the ones written, and \xHH takes either case. */
Test(escape, named_forms_and_hex_case)
{
    char form[ESCAPE_BYTES_MAX];
    cr_assert_eq(escape_byte('\n', form), 2);
    cr_assert(memcmp(form, "\\n", 2) == 0);
    cr_assert_eq(escape_byte(0x01, form), 4);
    cr_assert(memcmp(form, "\\x01", 4) == 0);
    cr_assert_eq(escape_byte(0xff, form), 4);
    cr_assert(memcmp(form, "\\xff", 4) == 0);
    size_t at = 0;
    cr_assert_eq(escape_decode("xAb", 3, &at), 0xab);
    cr_assert_eq(at, 3);
}

/* Invariant: an unknown, cut-short or malformed escape is refused (-1), never read past len. */
Test(escape, bad_escapes_are_refused)
{
    const char *bad[] = { "q", "x", "x4", "xg0", "x0g", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t at = 0;
        cr_assert_eq(escape_decode(bad[i], strlen(bad[i]), &at), -1, "\\%s", bad[i]);
        cr_assert_leq(at, strlen(bad[i]));
    }
    size_t at = 0;
    cr_assert_eq(escape_decode("x41", 2, &at), -1, "len bounds the read, not the terminator");
}
