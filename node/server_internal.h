/* What the node server's parts share: replies, proposals awaiting apply, the two request planes. */
#ifndef FLOWRAFT_NODE_SERVER_INTERNAL_H
#define FLOWRAFT_NODE_SERVER_INTERNAL_H

#include "node/server.h"

#include <stdint.h>

/* Reply lines to client `ref` (dropped silently if it has gone away). */
void server_reply(struct node_server *s, struct node_client_ref ref, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* "<word> <quoted value>", or "<word>" when !has_value. */
void server_reply_value(struct node_server *s, struct node_client_ref ref, const char *word,
                        const uint8_t *value, size_t len, int has_value);
/* A multi-line reply: "BEGIN", the text's lines, "END". */
void server_reply_lines(struct node_server *s, struct node_client_ref ref, const char *text,
                        size_t len);
/* REDIRECT to the known leader, or an ERR saying none is known. */
void server_redirect(struct node_server *s, struct node_client_ref ref);

int server_is_leader(const struct node_server *s);
/* Milliseconds of real time (CLOCK_REALTIME), the leader's timestamp for workflow commands. */
uint64_t server_wall_ms(void);

/* Proposes `payload` for client `ref`: its reply comes when the entry is applied (by kind). On
 * refusal the client is answered at once. 0 if proposed, -1 if answered. */
int server_propose(struct node_server *s, struct node_client_ref ref, enum node_pending_kind kind,
                   const uint8_t *payload, size_t len);
/* The proposal for client requests at `index` with `term`, removed; NULL if none. */
struct node_pending *server_pending_take(struct node_server *s, uint64_t index, uint64_t term);

/* The KV plane (node/kv_requests.c). Returns 1 if `r` was a KV request (and answered). */
int node_kv_request(struct node_server *s, struct node_client_ref ref,
                    struct node_proto_request *r);
void node_kv_reply(struct node_server *s, struct node_client_ref ref, const struct kv_result *r);

/* The workflow plane (node/wf_plane.c). */
int node_wf_init(struct node_wf *wf);
void node_wf_free(struct node_wf *wf);
/* Returns 1 if `r` was a workflow or worker request (and was answered or proposed). */
int node_wf_request(struct node_server *s, struct node_client_ref ref,
                    struct node_proto_request *r);
void node_wf_on_update(struct node_server *s, const struct raft_update *update);
void node_wf_on_applied(struct node_server *s, const struct raft_entry *entry);
void node_wf_on_workflow_applied(struct node_server *s, const struct raft_entry *entry,
                                 const struct wf_result *result);
/* The leader's coordinator, once per tick. */
void node_wf_tick(struct node_server *s);
void node_wf_on_close(struct node_server *s, struct node_client_ref ref);
/* Replicas reopened or restored from a snapshot: forget derived leader state. */
void node_wf_reset(struct node_wf *wf);

#endif
