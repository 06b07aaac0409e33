/*
 * fuzz_handshake.c — libFuzzer harness for the agent's TCP handshake as served: the bytes reach
 * hb_agent_serve through a real stream socket (the fd read path, framing, the 1 MiB limit,
 * hello deadline), with a token required that the input cannot know (random per process).
 * Invariants: serving ends (peer EOF or the hello deadline), no session is ever authenticated,
 * and every byte the agent writes back is newline-framed JSON without the secret.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "agent.h"

static struct hb_agent g_agent;
static int g_ready;
static char g_token[65];

struct feed {
	int fd;
	const uint8_t *data;
	size_t size;
	char *back; /* what the agent wrote, collected */
	size_t blen, bcap;
};

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_handshake: invariant violated: %s\n", what);
		abort();
	}
}

static void *writer(void *arg)
{
	struct feed *f = arg;
	size_t off = 0;

	while (off < f->size) {
		ssize_t w = write(f->fd, f->data + off, f->size - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	shutdown(f->fd, SHUT_WR);
	return NULL;
}

static void *reader(void *arg)
{
	struct feed *f = arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(f->fd, buf, sizeof(buf))) > 0) {
		if (f->blen + (size_t)n + 1 > f->bcap) {
			size_t nc = (f->blen + (size_t)n + 1) * 2;
			char *nb = realloc(f->back, nc);
			if (!nb)
				abort();
			f->back = nb;
			f->bcap = nc;
		}
		memcpy(f->back + f->blen, buf, (size_t)n);
		f->blen += (size_t)n;
		f->back[f->blen] = '\0';
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed f = {0};
	struct hb_err e = {0};
	pthread_t tw, tr;
	int sv[2];

	if (!g_ready) {
		static const char hex[] = "0123456789abcdef";
		struct hb_agent_cfg cfg = {.quiet = 1, .scratch_dir = "/tmp", .hello_timeout = 2};
		unsigned char rnd[32];
		int fd = open("/dev/urandom", O_RDONLY);
		if (fd < 0 || read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd))
			abort();
		close(fd);
		for (size_t i = 0; i < sizeof(rnd); i++) {
			g_token[2 * i] = hex[rnd[i] >> 4];
			g_token[2 * i + 1] = hex[rnd[i] & 15];
		}
		cfg.token = g_token;
		if (hb_agent_init(&g_agent, &cfg, &e))
			abort();
		g_ready = 1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	f.fd = sv[1];
	f.data = data;
	f.size = size;
	hb_agent_session_reset(&g_agent);
	if (pthread_create(&tw, NULL, writer, &f) || pthread_create(&tr, NULL, reader, &f))
		abort();
	hb_agent_serve(&g_agent, sv[0], sv[0], &e);
	check(!g_agent.hello_done, "no session authenticated without the token");
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	close(sv[0]);
	close(sv[1]);
	check(!f.back || !strstr(f.back, g_token), "secret never echoed");
	check(!f.blen || f.back[f.blen - 1] == '\n', "replies are newline-framed");
	for (char *line = f.back; line && *line;) {
		char *nl = strchr(line, '\n');
		json_t *j;
		*nl = '\0';
		j = json_loads(line, 0, NULL);
		check(json_is_object(j), "every reply line is a JSON object");
		check(strlen(line) <= HB_PROTO_MAX, "reply fits the limit");
		json_decref(j);
		line = nl + 1;
	}
	free(f.back);
	return 0;
}
