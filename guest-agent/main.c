/*
 * main.c — hvbench-guest: parses options, opens the transport (virtio-serial port found by name,
 * TCP with a token, or stdio), installs signal handlers and hands the stream to hb_agent_serve
 * (guest-agent/agent.c) or the listening socket to hb_agent_serve_listen (guest-agent/listen.c).
 * With --poweroff (PID-1 child in the guest image) it syncs and powers the VM off when it is done.
 * Diagnostics go to stderr (the guest console).
 */
#include "agent.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;
static int g_quiet; /* --quiet: only errors on stderr */

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *f)
{
	fputs("usage: hvbench-guest (--stdio | --virtio-serial NAME [--wait S] |\n"
	      "                      --tcp ADDR:PORT [--token-file FILE]) [options]\n"
	      "Serves hvbench workload requests (newline-delimited JSON) over one byte stream.\n"
	      "  --stdio               serve on stdin/stdout (tests, pipes)\n"
	      "  --virtio-serial NAME  serve on the virtio-serial port named NAME\n"
	      "  --wait S              seconds to wait for the port to appear (default 60)\n"
	      "  --tcp ADDR:PORT       listen on ADDR:PORT, one session at a time ([::1]:5000 "
	      "for IPv6)\n"
	      "  --token-file FILE     shared token the host's hello must carry (required unless\n"
	      "                        ADDR is a loopback address)\n"
	      "  --disk PATH           scratch file or device for disk workloads (default: a file\n"
	      "                        in a private directory under --scratch-dir)\n"
	      "  --scratch-dir DIR     parent of the agent's private temp directory (default "
	      "/tmp)\n"
	      "  --fio PATH            fio binary (default: fio from PATH)\n"
	      "  --poweroff            sync and power the machine off on exit (guest init)\n"
	      "  --quiet               errors only on stderr\n"
	      "  --help, --version\n",
	      f);
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("hvbench-guest: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define info(...)                                                                                  \
	do {                                                                                       \
		if (!g_quiet)                                                                      \
			diag(__VA_ARGS__);                                                         \
	} while (0)

/* Finds /dev/<port> for the virtio-serial port called name, waiting up to wait seconds. */
static int open_virtio_port(const char *name, double wait, struct hb_err *e)
{
	double deadline = hb_now() + wait;

	for (;;) {
		DIR *d = opendir("/sys/class/virtio-ports");
		struct dirent *de;
		char path[512], dev[300], got[256];

		while (d && (de = readdir(d))) {
			FILE *f;
			if (de->d_name[0] == '.')
				continue;
			if (hb_snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name",
					de->d_name))
				continue;
			f = fopen(path, "r");
			if (!f)
				continue;
			got[0] = '\0';
			if (fgets(got, sizeof(got), f))
				got[strcspn(got, "\r\n")] = '\0';
			fclose(f);
			if (strcmp(got, name) ||
			    hb_snprintf(dev, sizeof(dev), "/dev/%s", de->d_name))
				continue;
			closedir(d);
			{
				int fd = open(dev, O_RDWR | O_CLOEXEC | O_NOCTTY);
				if (fd < 0)
					return hb_err_errno(e, HB_EIO, "cannot open %s (port %s)",
							    dev, name);
				return fd;
			}
		}
		if (d)
			closedir(d);
		if (hb_now() >= deadline)
			return hb_err_set(e, HB_ETIMEDOUT,
					  "no virtio-serial port named \"%s\" under "
					  "/sys/class/virtio-ports within %g s",
					  name, wait);
		if (g_stop)
			return hb_err_set(e, HB_EINTR, "interrupted");
		hb_sleep(0.1, NULL);
	}
}

static int is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		const unsigned char *b = s6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && b[12] == 127;
	}
	return 0;
}

/* Parses "A.B.C.D:PORT" or "[v6]:PORT" into ss. */
static int parse_endpoint(const char *spec, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	long port;
	size_t hl;

	if (!colon || hb_parse_long(colon + 1, 0, 65535, &port))
		return HB_EINVAL;
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return HB_EINVAL;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((unsigned short)port);
			*sl = sizeof(*s4);
			return 0;
		}
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((unsigned short)port);
			*sl = sizeof(*s6);
			return 0;
		}
	}
	return HB_EINVAL;
}

static int read_token(const char *path, char **out, struct hb_err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int rc = hb_read_file(path, 4096, &buf, &len, e);

	if (rc)
		return rc;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
		       buf[len - 1] == '\t'))
		buf[--len] = '\0';
	if (!len || strlen(buf) != len) {
		free(buf);
		return hb_err_set(e, HB_EINVAL, "token file %s is empty or holds a NUL byte", path);
	}
	/* refused, not warned about: the host refuses the same, and the agent runs workloads
	 * for whoever knows the token */
	if (len < 16) {
		free(buf);
		return hb_err_set(e, HB_EINVAL,
				  "the token in %s is short (%zu characters): refused; use 16 or "
				  "more",
				  path, len);
	}
	if (stat(path, &st) == 0 && (st.st_mode & 077)) {
		free(buf);
		return hb_err_set(e, HB_EINVAL,
				  "token file %s is readable by group or others (mode %03o): "
				  "refused (chmod 600 it)",
				  path, (unsigned)(st.st_mode & 0777));
	}
	*out = buf;
	return 0;
}

static int serve_tcp(struct hb_agent *a, const char *spec, struct hb_err *e)
{
	struct sockaddr_storage ss, bound;
	socklen_t sl, bl = sizeof(bound);
	char where[96];
	int one = 1, lfd, rc = 0;

	if (parse_endpoint(spec, &ss, &sl))
		return hb_err_set(e, HB_EINVAL,
				  "--tcp %s: expected ADDR:PORT with a numeric "
				  "IPv4 address or [IPv6]",
				  spec);
	if (!a->cfg.token && !is_loopback(&ss))
		return hb_err_set(e, HB_EINVAL,
				  "--tcp %s: refusing to listen on a non-loopback "
				  "address without --token-file",
				  spec);
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return hb_err_errno(e, HB_EIO, "socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, sl) || listen(lfd, HB_AGENT_MAX_PENDING)) {
		rc = hb_err_errno(e, HB_EIO, "cannot listen on %s", spec);
		close(lfd);
		return rc;
	}
	getsockname(lfd, (struct sockaddr *)&bound, &bl);
	hb_agent_addr_name(&bound, where, sizeof(where));
	info("listening on %s (%s)", where, a->cfg.token ? "token required" : "loopback, no token");
	rc = hb_agent_serve_listen(a, lfd, e);
	close(lfd);
	return rc;
}

static int serve_virtio(struct hb_agent *a, const char *name, double wait, struct hb_err *e)
{
	int fd = open_virtio_port(name, wait, e), rc = 0;

	if (fd < 0)
		return fd;
	info("serving on virtio-serial port %s", name);
	while (!a->shutdown) {
		struct hb_err se = {0};
		rc = hb_agent_serve(a, fd, fd, &se);
		if (rc == 0 || rc == HB_EINTR) {
			if (rc)
				hb_err_set(e, rc, "%s", se.msg);
			break;
		}
		/* EOF: the host side is not connected (yet, or any more); a host may come back */
		hb_sleep(0.2, NULL);
		if (g_stop) {
			rc = hb_err_set(e, HB_EINTR, "stopped by a signal");
			break;
		}
	}
	close(fd);
	return a->shutdown ? 0 : rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"stdio", no_argument, NULL, 's'},
		{"virtio-serial", required_argument, NULL, 'v'},
		{"wait", required_argument, NULL, 'w'},
		{"tcp", required_argument, NULL, 't'},
		{"token-file", required_argument, NULL, 'k'},
		{"disk", required_argument, NULL, 'd'},
		{"scratch-dir", required_argument, NULL, 'S'},
		{"fio", required_argument, NULL, 'f'},
		{"poweroff", no_argument, NULL, 'p'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct hb_agent_cfg cfg = {0};
	struct hb_agent agent;
	struct hb_err e = {0};
	struct sigaction sa;
	const char *virtio = NULL, *tcp = NULL, *token_file = NULL;
	char *token = NULL;
	double wait = 60;
	int stdio = 0, poweroff = 0, modes, c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': stdio = 1; break;
		case 'v': virtio = optarg; break;
		case 'w':
			if (hb_parse_double(optarg, 0, 86400, &wait)) {
				diag("--wait: expected seconds in 0..86400, got \"%s\"", optarg);
				return 2;
			}
			break;
		case 't': tcp = optarg; break;
		case 'k': token_file = optarg; break;
		case 'd': cfg.disk_path = optarg; break;
		case 'S': cfg.scratch_dir = optarg; break;
		case 'f': cfg.fio_path = optarg; break;
		case 'p': poweroff = 1; break;
		case 'q':
			cfg.quiet = 1;
			g_quiet = 1;
			break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("hvbench-guest %s (protocol %d)\n", HB_VERSION, HB_PROTO_VERSION);
			return 0;
		default: usage(stderr); return 2;
		}
	}
	modes = stdio + !!virtio + !!tcp;
	if (optind < argc || modes != 1) {
		diag("choose exactly one of --stdio, --virtio-serial NAME, --tcp ADDR:PORT");
		usage(stderr);
		return 2;
	}
	if (token_file && !tcp) {
		diag("--token-file is only used with --tcp");
		return 2;
	}
	if (cfg.disk_path) {
		struct stat st;
		if (stat(cfg.disk_path, &st) || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
			diag("--disk %s: not an existing regular file or block device",
			     cfg.disk_path);
			return 2;
		}
	}
	if (token_file) {
		if (read_token(token_file, &token, &e)) {
			diag("%s", e.msg);
			return 2;
		}
		cfg.token = token;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: waits return EINTR and see g_stop */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	cfg.stop = &g_stop;

	if (hb_agent_init(&agent, &cfg, &e)) {
		diag("%s", e.msg);
		free(token);
		return 1;
	}
	if (stdio) {
		rc = hb_agent_serve(&agent, 0, 1, &e);
		if (rc == HB_EIO && !agent.shutdown) {
			info("host closed the connection: %s", e.msg);
			rc = 0;
		}
	} else if (virtio) {
		rc = serve_virtio(&agent, virtio, wait, &e);
	} else {
		agent.cfg.hello_timeout = HB_AGENT_HELLO_TIMEOUT;
		/* longer than any one run may take (the host waits that long for a result, and
		 * other targets' runs come between ours): a silent client frees the agent then */
		agent.cfg.idle_timeout = HB_AGENT_MAX_TIMEOUT;
		rc = serve_tcp(&agent, tcp, &e);
	}
	if (rc)
		diag("%s", e.msg);
	else
		info("done");
	hb_agent_free(&agent);
	free(token);
	if (poweroff) {
		sync();
		reboot(RB_POWER_OFF);
		diag("poweroff failed: %s", strerror(errno));
		return 1;
	}
	return rc ? 1 : 0;
}
