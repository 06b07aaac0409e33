/*
 * hb.c — status codes, the first-error-wins error buffer, clocks, bounded strings, checked
 * number parsing and the atomic file writer every output of hvbench goes through.
 */
#include "hb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *hb_strerror(int code)
{
	switch (code) {
	case HB_OK: return "ok";
	case HB_EINVAL: return "invalid input";
	case HB_ENOMEM: return "out of memory";
	case HB_EIO: return "I/O error";
	case HB_ETIMEDOUT: return "timed out";
	case HB_EUNSUPP: return "not supported here";
	case HB_EPROTO: return "protocol error";
	case HB_EINTR: return "interrupted";
	case HB_ECHILD: return "child process failed";
	case HB_EAGAIN: return "not done yet";
	default: return "unknown error";
	}
}

void hb_err_clear(struct hb_err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}

void hb_utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		size_t need, k;
		if (*p < 0x80) {
			p++;
			continue;
		}
		need = (*p & 0xe0) == 0xc0   ? 2
		       : (*p & 0xf0) == 0xe0 ? 3
		       : (*p & 0xf8) == 0xf0 ? 4
					     : 0;
		for (k = 1; need && k < need; k++)
			if ((p[k] & 0xc0) != 0x80)
				need = 0;
		if (need == 2 && *p < 0xc2)
			need = 0; /* overlong */
		if (!need) {
			*p++ = '?';
			continue;
		}
		p += need;
	}
}

static int err_vset(struct hb_err *e, int code, int with_errno, const char *fmt, va_list ap)
{
	int saved = errno;

	if (!e || e->msg[0])
		return code;
	e->code = code;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (with_errno) {
		size_t l = strlen(e->msg);
		snprintf(e->msg + l, sizeof(e->msg) - l, ": %s", strerror(saved));
	}
	/* messages end up in JSON: a cut multi-byte character or a child's stray bytes must
	 * not make the whole failure record unencodable */
	hb_utf8_sanitize(e->msg);
	errno = saved;
	return code;
}

int hb_err_set(struct hb_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, code, 0, fmt, ap);
	va_end(ap);
	return code;
}

int hb_err_errno(struct hb_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, code, 1, fmt, ap);
	va_end(ap);
	return code;
}

void hb_err_prefix(struct hb_err *e, const char *fmt, ...)
{
	char pre[256], tmp[sizeof(e->msg)];
	va_list ap;

	if (!e || !e->msg[0])
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	snprintf(tmp, sizeof(tmp), "%s: %s", pre, e->msg);
	hb_utf8_sanitize(tmp);
	memcpy(e->msg, tmp, sizeof(tmp));
}

double hb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void hb_utc_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

void hb_sleep(double s, volatile int *stop)
{
	struct timespec ts, rem;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &rem) != 0 && errno == EINTR) {
		if (stop && *stop)
			return;
		ts = rem;
	}
}

int hb_snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= len) ? HB_EINVAL : 0;
}

int hb_strlcpy(char *dst, const char *src, size_t len)
{
	size_t l = strlen(src);

	if (len == 0)
		return HB_EINVAL;
	if (l >= len) {
		memcpy(dst, src, len - 1);
		dst[len - 1] = '\0';
		hb_utf8_sanitize(dst); /* a character cut in half becomes '?' */
		return HB_EINVAL;
	}
	memcpy(dst, src, l + 1);
	return 0;
}

int hb_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return HB_EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return HB_EINVAL;
	*out = v;
	return 0;
}

int hb_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return HB_EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return HB_EINVAL;
	*out = v;
	return 0;
}

int hb_parse_size(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v, mul = 1;

	if (!s || *s < '0' || *s > '9')
		return HB_EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return HB_EINVAL;
	switch (*end) {
	case '\0': break;
	case 'k':
	case 'K':
		mul = 1ULL << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1ULL << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1ULL << 30;
		end++;
		break;
	case 't':
	case 'T':
		mul = 1ULL << 40;
		end++;
		break;
	default: return HB_EINVAL;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || (v && mul > ULLONG_MAX / v))
		return HB_EINVAL;
	*out = v * mul;
	return 0;
}

int hb_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct hb_err *e)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd, rc = 0;

	if (hb_snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path))
		return hb_err_set(e, HB_EINVAL, "%s: path too long", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return hb_err_errno(e, HB_EIO, "cannot create temporary file for %s", path);
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = hb_err_errno(e, HB_EIO, "cannot write %s", tmp);
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, mode) || fsync(fd)) {
		rc = hb_err_errno(e, HB_EIO, "cannot sync %s", tmp);
		goto fail;
	}
	if (close(fd)) {
		fd = -1;
		rc = hb_err_errno(e, HB_EIO, "cannot close %s", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path)) {
		rc = hb_err_errno(e, HB_EIO, "cannot rename %s to %s", tmp, path);
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int hb_read_file(const char *path, size_t max, char **out, size_t *outlen, struct hb_err *e)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; only regular files are read */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return hb_err_errno(e, HB_EIO, "cannot open %s", path);
	if (fstat(fd, &st)) {
		close(fd);
		return hb_err_errno(e, HB_EIO, "cannot stat %s", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return hb_err_set(e, HB_EINVAL, "%s is not a regular file (%s): refused", path,
				  S_ISDIR(st.st_mode)	 ? "a directory"
				  : S_ISFIFO(st.st_mode) ? "a FIFO"
				  : S_ISSOCK(st.st_mode) ? "a socket"
							 : "a device");
	}
	if (fcntl(fd, F_SETFL, 0) || !(f = fdopen(fd, "rb"))) {
		close(fd);
		return hb_err_errno(e, HB_EIO, "cannot read %s", path);
	}
	for (;;) {
		size_t n;
		if (cap - len < 4096 + 1) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				fclose(f);
				return hb_err_set(e, HB_ENOMEM, "%s: out of memory", path);
			}
			buf = nb;
			cap = ncap;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (len > max) {
			free(buf);
			fclose(f);
			return hb_err_set(e, HB_EINVAL, "%s: larger than %zu bytes", path, max);
		}
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return hb_err_errno(e, HB_EIO, "cannot read %s", path);
	}
	fclose(f);
	buf[len] = '\0';
	*out = buf;
	if (outlen)
		*outlen = len;
	return 0;
}

int hb_mkdirs(const char *path, mode_t mode, struct hb_err *e)
{
	char buf[PATH_MAX];
	char *p;

	if (!*path)
		return hb_err_set(e, HB_EINVAL, "empty directory name");
	if (hb_strlcpy(buf, path, sizeof(buf)))
		return hb_err_set(e, HB_EINVAL, "%s: path too long", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return hb_err_errno(e, HB_EIO, "cannot create directory %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return hb_err_errno(e, HB_EIO, "cannot create directory %s", buf);
	return 0;
}

/* Removes everything below the directory dfd (never following symlinks); 0 or HB_EIO. */
static int rmtree_at(int dfd, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		close(dfd);
		return HB_EIO;
	}
	while ((de = readdir(d))) {
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			rc = HB_EIO;
			continue;
		}
		if (S_ISDIR(st.st_mode) && depth < 64) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 || rmtree_at(sub, depth + 1) ||
			    unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR))
				rc = HB_EIO;
		} else if (unlinkat(dirfd(d), de->d_name, 0)) {
			rc = HB_EIO;
		}
	}
	closedir(d);
	return rc;
}

int hb_rmtree(const char *path)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : HB_EIO;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) ? HB_EIO : 0;
	/* descend through file descriptors opened with O_NOFOLLOW, so a directory swapped for a
	 * symlink while we work cannot redirect the removal elsewhere */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return HB_EIO;
	rc = rmtree_at(fd, 0);
	if (rmdir(path))
		rc = HB_EIO;
	return rc;
}

long long hb_meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t kl = strlen(key);
	long long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			char *end;
			long long kb = strtoll(line + kl + 1, &end, 10);
			if (end != line + kl + 1)
				v = kb * 1024;
			break;
		}
	}
	fclose(f);
	return v;
}

int hb_find_exe(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	const char *p;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 && !hb_strlcpy(buf, name, len) ? 0 : -1;
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (p = path; *p;) {
		const char *end = strchr(p, ':');
		size_t l = end ? (size_t)(end - p) : strlen(p);
		if (l > 0 && !hb_snprintf(buf, len, "%.*s/%s", (int)l, p, name) &&
		    access(buf, X_OK) == 0)
			return 0;
		p += l;
		if (*p == ':')
			p++;
	}
	return -1;
}

int hb_in_path(const char *name)
{
	char buf[4096];

	return hb_find_exe(name, buf, sizeof(buf)) == 0;
}

void hb_status_str(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "status 0x%x", status);
}

static size_t lev(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[65];

	if (la > 64 || lb > 64)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = row[0], tmp;
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t best = prev + (a[i - 1] != b[j - 1]);
			tmp = row[j];
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			prev = tmp;
			row[j] = best;
		}
	}
	return row[lb];
}

const char *hb_nearest(const char *s, const char *const *cand, size_t n)
{
	const char *best = NULL;
	size_t bestd = 99, i, limit = strlen(s) / 2 + 1;

	for (i = 0; i < n && cand[i]; i++) {
		size_t d = lev(s, cand[i]);
		if (d < bestd) {
			bestd = d;
			best = cand[i];
		}
	}
	if (limit > 3)
		limit = 3;
	return bestd <= limit ? best : NULL;
}

const char *hb_suggest(char *buf, size_t len, const char *s, const char *const *cand, size_t n)
{
	const char *near = hb_nearest(s, cand, n);

	if (!near || hb_snprintf(buf, len, " (did you mean \"%s\"?)", near))
		buf[0] = '\0';
	return buf;
}

void hb_fmt_duration(double s, char *buf, size_t len)
{
	long t = (long)(s + 0.5);

	if (t >= 3600)
		snprintf(buf, len, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
	else if (t >= 60)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, len, "%lds", t);
}

void hb_csv_field(FILE *f, const char *s, int always_quote)
{
	if (!always_quote && !strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void hb_csv_num(FILE *f, double v)
{
	fputc(',', f);
	if (isfinite(v))
		fprintf(f, "%.10g", v);
}

void *hb_grow(void *p, size_t *cap, size_t first, size_t size)
{
	size_t nc = *cap ? *cap * 2 : first;
	void *np;

	if (nc < *cap || nc > SIZE_MAX / size || !(np = realloc(p, nc * size)))
		return NULL;
	*cap = nc;
	return np;
}
