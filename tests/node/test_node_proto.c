/* Tests for node/proto: request tokenising, quoting, and clear errors on malformed lines. */
#include "node/proto.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct node_proto_request *request_new(void)
{
    struct node_proto_request *r = malloc(sizeof(*r));
    cr_assert_not_null(r);
    return r;
}

static int parse(struct node_proto_request *r, const char *line, char *error)
{
    return node_proto_parse(line, strlen(line), r, error, 256);
}

/* Invariant: bare and quoted tokens decode to exactly their bytes, command upper-cased. */
Test(node_proto, tokens_decode_exactly)
{
    struct node_proto_request *r = request_new();
    char error[256];
    cr_assert_eq(parse(r, "cas k \"a b\\\"c\" \"\\x00\\n\\t\\\\\"", error), 0, "%s", error);
    cr_assert_str_eq(r->command, "CAS");
    cr_assert_eq(r->token_count, 3);
    cr_assert_eq(r->token_lens[0], 1);
    cr_assert_eq(memcmp(r->tokens[0], "k", 1), 0);
    cr_assert_eq(r->token_lens[1], 5);
    cr_assert_eq(memcmp(r->tokens[1], "a b\"c", 5), 0);
    cr_assert_eq(r->token_lens[2], 4);
    cr_assert_eq(memcmp(r->tokens[2], "\0\n\t\\", 4), 0);
    free(r);
}

/* Invariant: SUBMIT's raw rest of line is kept byte for byte (a JSON document with spaces). */
Test(node_proto, rest_of_line_is_raw)
{
    struct node_proto_request *r = request_new();
    char error[256];
    cr_assert_eq(parse(r, "SUBMIT {\"id\": \"w\", \"tasks\": []}\r", error), 0, "%s", error);
    cr_assert_eq(r->rest_len, strlen("{\"id\": \"w\", \"tasks\": []}"));
    cr_assert_eq(memcmp(r->rest, "{\"id\": \"w\", \"tasks\": []}", r->rest_len), 0);
    free(r);
}

/* Invariant: a malformed line is rejected with a message naming the argument and the problem. */
Test(node_proto, malformed_lines_name_the_problem)
{
    struct node_proto_request *r = request_new();
    char error[256];
    cr_assert_eq(parse(r, "PUT k \"unterminated", error), -1);
    cr_assert(strstr(error, "argument 2") != NULL, "%s", error);
    cr_assert(strstr(error, "unterminated") != NULL, "%s", error);
    cr_assert_eq(parse(r, "PUT k \"\\q\"", error), -1);
    cr_assert(strstr(error, "bad escape") != NULL, "%s", error);
    cr_assert_eq(parse(r, "PUT k \"a\"b", error), -1);
    cr_assert_eq(parse(r, "", error), -1);
    cr_assert_eq(parse(r, "9UT k", error), -1);
    cr_assert_eq(parse(r, "GET a b c d e f g h i", error), -1);
    cr_assert(strstr(error, "more than") != NULL, "%s", error);
    free(r);
}

/* Invariant: quoting then parsing gives back every byte value unchanged. */
Test(node_proto, quote_round_trips_every_byte)
{
    uint8_t bytes[256];
    for (int i = 0; i < 256; i++) {
        bytes[i] = (uint8_t)i;
    }
    struct node_buf out;
    node_buf_init(&out, 1 << 16);
    cr_assert_eq(node_buf_append(&out, "PUT k ", 6), 0);
    cr_assert_eq(node_proto_quote(&out, bytes, sizeof(bytes)), 0);
    struct node_proto_request *r = request_new();
    char error[256];
    cr_assert_eq(node_proto_parse((const char *)node_buf_bytes(&out), out.len, r, error, 256), 0,
                 "%s", error);
    cr_assert_eq(r->token_count, 2);
    cr_assert_eq(r->token_lens[1], 256);
    cr_assert_eq(memcmp(r->tokens[1], bytes, 256), 0);
    node_buf_free(&out);
    free(r);
}

/* Invariant: a bounded buffer refuses an append past its maximum and keeps what it had. */
Test(node_buf, bounded_append_and_consume)
{
    struct node_buf b;
    node_buf_init(&b, 10);
    cr_assert_eq(node_buf_append(&b, "12345678", 8), 0);
    cr_assert_eq(node_buf_append(&b, "abc", 3), -1);
    cr_assert_eq(b.len, 8);
    node_buf_consume(&b, 5);
    cr_assert_eq(node_buf_append(&b, "abcdefg", 7), 0); /* room reclaimed from the front */
    cr_assert_eq(b.len, 10);
    cr_assert_eq(memcmp(node_buf_bytes(&b), "678abcdefg", 10), 0);
    node_buf_free(&b);
}
