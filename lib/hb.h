/*
 * hb.h — the core every hvbench module shares: status codes, the per-context error buffer
 * (first error wins, curl-style), a monotonic clock, bounded string helpers, checked number
 * parsing and atomic file writes. No function here prints or exits.
 */
#ifndef HB_H
#define HB_H

#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>

#define HB_VERSION "0.1.0"

/* Status codes: every fallible function returns 0 or one of these (negative). */
enum {
	HB_OK = 0,
	HB_EINVAL = -1, /* bad argument, bad profile, bad parameter */
	HB_ENOMEM = -2,
	HB_EIO = -3,	   /* a system call or file operation failed */
	HB_ETIMEDOUT = -4, /* a wait ran out of time */
	HB_EUNSUPP = -5,   /* not possible on this host (a skip, not a failure) */
	HB_EPROTO = -6,	   /* a peer (agent, fio, iperf, QMP) said something we cannot accept */
	HB_EINTR = -7,	   /* interrupted by SIGINT/SIGTERM/SIGHUP */
	HB_ECHILD = -8,	   /* a child process failed (exit status or signal) */
	HB_EAGAIN = -9,	   /* not done yet: started again in the background, ask later */
};

/* Returns a static, human name for a status code. */
const char *hb_strerror(int code);

/*
 * Error buffer: the first message set wins, so the root cause survives the unwinding.
 * Owned by whoever runs the operation; zero-initialise or hb_err_clear() it.
 */
struct hb_err {
	int code;
	char msg[1024];
};

void hb_err_clear(struct hb_err *e);
/* Sets the message if none is set yet; returns code so callers can `return hb_err_set(...)`. */
int hb_err_set(struct hb_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like hb_err_set, with ": strerror(errno)" appended. */
int hb_err_errno(struct hb_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes an already-set message with "prefix: " (used to add the target/workload name). */
void hb_err_prefix(struct hb_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Monotonic seconds. */
double hb_now(void);
/* Wall-clock time as an RFC 3339 UTC string into buf (at least 32 bytes). */
void hb_utc_now(char *buf, size_t len);
/* A duration for people: "45s", "12m05s", "2h03m". */
void hb_fmt_duration(double s, char *buf, size_t len);
/* Sleeps for s seconds (restarts on EINTR unless *stop becomes non-zero; stop may be NULL). */
void hb_sleep(double s, volatile int *stop);

/* snprintf that reports truncation: returns 0, or HB_EINVAL when the output did not fit. */
int hb_snprintf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Replaces every byte that is not part of a valid UTF-8 sequence with '?', in place. */
void hb_utf8_sanitize(char *s);
/* Bounded copy, always NUL-terminates (a cut character becomes '?'); HB_EINVAL on truncation. */
int hb_strlcpy(char *dst, const char *src, size_t len);

/* Checked parsing: whole string must be a number within [min, max]. */
int hb_parse_long(const char *s, long min, long max, long *out);
int hb_parse_double(const char *s, double min, double max, double *out);
/* Parses a size like "4k", "1M", "2g", "512" (binary multiples) into bytes. */
int hb_parse_size(const char *s, unsigned long long *out);

/*
 * Writes len bytes to path atomically: a temp file in the same directory, fsync, rename.
 * A crash leaves the old file or the new one, never half. mode e.g. 0644.
 */
int hb_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct hb_err *e);
/*
 * Reads a whole regular file (at most max bytes) into a malloc'd NUL-terminated buffer the
 * caller frees. Anything else (FIFO, device, directory, socket) is refused with HB_EINVAL
 * without blocking: a FIFO is opened non-blocking and never read.
 */
int hb_read_file(const char *path, size_t max, char **out, size_t *outlen, struct hb_err *e);
/* mkdir -p with the given mode. */
int hb_mkdirs(const char *path, mode_t mode, struct hb_err *e);
/* Removes a directory tree (only regular files, symlinks and dirs; never follows links). */
int hb_rmtree(const char *path);

/* Reads one "Key:  value kB" line from /proc/meminfo, in bytes; -1 on failure. */
long long hb_meminfo(const char *key);

/*
 * The one PATH lookup: name with a '/' is taken as is; otherwise each PATH directory is tried
 * (PATH unset or empty: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin). 0 with
 * the executable's path in buf, or -1 when there is none.
 */
int hb_find_exe(const char *name, char *buf, size_t len);
/* 1 when hb_find_exe finds name. */
int hb_in_path(const char *name);

/* The one wording of a waitpid status: "exit status 1", "killed by signal 9". */
void hb_status_str(int status, char *buf, size_t len);

/* Levenshtein-nearest of candidates[] (NULL-terminated or n entries) to s; NULL if none close. */
const char *hb_nearest(const char *s, const char *const *candidates, size_t n);
/*
 * The "did you mean" tail of a message about an unknown name: " (did you mean \"NEAR\"?)" in
 * buf when a candidate is close, else "". Returns buf.
 */
const char *hb_suggest(char *buf, size_t len, const char *s, const char *const *candidates,
		       size_t n);

/*
 * CSV (RFC 4180) fields. hb_csv_field writes s, between double quotes (inner ones doubled)
 * when always_quote is set or s holds a comma, quote or line break. hb_csv_num writes a
 * comma, then v (%.10g) unless it is not finite (an empty field).
 */
void hb_csv_field(FILE *f, const char *s, int always_quote);
void hb_csv_num(FILE *f, double v);

/*
 * Room for more elements of size bytes in the growable array p of *cap: doubles *cap (first
 * when 0) and returns the reallocated array, or NULL (p and *cap untouched) when out of memory.
 */
void *hb_grow(void *p, size_t *cap, size_t first, size_t size);

#define HB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
