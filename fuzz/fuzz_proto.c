/*
 * fuzz_proto.c — libFuzzer harness for the agent's input path: the bytes go through the real
 * line framing (hb_conn_recv on a memory source, split into reads of a fuzzer-chosen size) and
 * every message through hb_agent_handle, the decoder/validator the agent uses, without running
 * workloads. Checks invariants: every message gets exactly one well-formed reply or a validated
 * run request within the documented bounds, and every reply fits the message limit.
 * First input byte: bits 0-5 read chunk size (0 = as much as fits), bit 6 start after hello,
 * bit 7 require a token.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "agent.h"

#define FUZZ_TOKEN "fuzz-token-0123456789"

static struct hb_agent g_agent;
static int g_ready;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_proto: invariant violated: %s\n", what);
		abort();
	}
}

/* The secret may appear in a reply only when the peer sent it itself (echoing a key). */
static int g_input_has_token;

static void check_reply(const json_t *reply)
{
	const char *op = json_string_value(json_object_get(reply, "op"));
	char *txt;

	check(json_is_object(reply), "reply is an object");
	check(op && (!strcmp(op, "error") || !strcmp(op, "hello") || !strcmp(op, "result")),
	      "reply op is error/hello/result");
	if (!strcmp(op, "error")) {
		const char *msg = json_string_value(json_object_get(reply, "message"));
		check(json_is_string(json_object_get(reply, "code")), "error has a code");
		check(msg != NULL, "error has a message");
		check(g_input_has_token || !strstr(msg, FUZZ_TOKEN), "secret never echoed");
	}
	if (!strcmp(op, "hello")) {
		/* the hello reply is the same every time: encode it once, it is large */
		static int hello_checked;
		if (hello_checked)
			return;
		hello_checked = 1;
	}
	txt = json_dumps(reply, JSON_COMPACT);
	check(txt != NULL, "reply encodes");
	check(strlen(txt) <= HB_PROTO_MAX, "reply fits the limit");
	check(!strchr(txt, '\n'), "reply has no newline");
	free(txt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hb_conn c;
	unsigned char mode = 0;
	int i;

	if (!g_ready) {
		struct hb_agent_cfg cfg = {.quiet = 1, .scratch_dir = "/tmp"};
		struct hb_err e = {0};
		if (hb_agent_init(&g_agent, &cfg, &e))
			abort();
		g_ready = 1;
	}
	if (size) {
		mode = data[0];
		data++;
		size--;
	}
	g_input_has_token = memmem(data, size, FUZZ_TOKEN, strlen(FUZZ_TOKEN)) != NULL;
	hb_agent_session_reset(&g_agent);
	g_agent.cfg.token = (mode & 0x80) ? FUZZ_TOKEN : NULL;
	if (mode & 0x40)
		g_agent.hello_done = 1;
	hb_conn_init(&c, -1, -1);
	hb_conn_set_source(&c, data, size);
	c.rchunk = mode & 0x3f;
	for (i = 0; i < 100000; i++) {
		struct hb_err e = {0};
		struct hb_agent_req req;
		json_t *msg = NULL, *reply = NULL;
		enum hb_agent_action act;
		int rc = hb_conn_recv(&c, 0, &msg, &e);

		check(rc == 0 || rc == HB_EPROTO || rc == HB_EIO, "recv code");
		check(rc != 0 || (msg && json_is_string(json_object_get(msg, "op"))),
		      "message has a string op");
		if (rc == HB_EIO) {
			check(msg == NULL, "no message at EOF");
			break;
		}
		act = hb_agent_handle(&g_agent, rc, msg, e.msg, &reply, &req);
		json_decref(msg);
		if (act == HB_ACT_RUN) {
			check(reply == NULL, "run has no reply yet");
			check(req.wl && json_is_object(req.params), "run is validated");
			check(req.t.duration > 0 && req.t.duration <= HB_AGENT_MAX_DURATION,
			      "duration");
			check(req.t.ramp >= 0 && req.t.ramp <= HB_AGENT_MAX_RAMP, "ramp");
			check(req.t.timeout >= req.t.duration + req.t.ramp &&
				      req.t.timeout <= HB_AGENT_MAX_TIMEOUT,
			      "timeout");
			check(req.id >= 0 && req.id <= HB_AGENT_MAX_ID, "id");
			check(!req.server_addr[0] ||
				      (hb_agent_check_addr(req.server_addr) == 0 &&
				       req.server_port >= 1 && req.server_port <= 65535),
			      "server");
			hb_agent_req_free(&req);
			continue;
		}
		check(reply != NULL, "every message gets a reply");
		check_reply(reply);
		json_decref(reply);
		if (act == HB_ACT_SHUTDOWN || act == HB_ACT_CLOSE)
			break;
	}
	hb_conn_free(&c);
	return 0;
}
