/*
 * vmmem.c — VM memory overhead accounting from /proc/PID/smaps (see vmmem.h). The parser walks
 * the mapping headers ("start-end perms offset dev inode [path]") and sums the "Pss:" and
 * "Rss:" lines of every mapping, and separately of the mappings whose path is the guest-RAM
 * memfd ("/memfd:NAME" possibly followed by " (deleted)").
 */
#include "vmmem.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A mapping header begins with hex digits followed by '-'. */
static int is_header(const char *line)
{
	const char *p = line;

	while (isxdigit((unsigned char)*p))
		p++;
	return p > line && *p == '-';
}

/* Path field of a header line (6th field), or "" when anonymous. */
static const char *header_path(const char *line, const char *end)
{
	const char *p = line;
	int field;

	for (field = 0; field < 5; field++) {
		while (p < end && !isspace((unsigned char)*p))
			p++;
		while (p < end && isspace((unsigned char)*p))
			p++;
	}
	return p;
}

/* "Key:   123 kB" -> 123; -1 if the line is not that key. */
static long long kb_value(const char *line, const char *key)
{
	size_t kl = strlen(key);
	char *endp;
	long long v;

	if (strncmp(line, key, kl) || line[kl] != ':')
		return -1;
	v = strtoll(line + kl + 1, &endp, 10);
	if (endp == line + kl + 1 || v < 0)
		return -1;
	return v;
}

static int path_is_memfd(const char *path, const char *end, const char *name)
{
	char want[128];
	size_t wl;

	if (hb_snprintf(want, sizeof(want), "/memfd:%s", name))
		return 0;
	wl = strlen(want);
	if ((size_t)(end - path) < wl || strncmp(path, want, wl))
		return 0;
	/* exact name, optionally followed by " (deleted)" */
	return path + wl == end || path[wl] == ' ';
}

int hb_vmmem_parse(const char *smaps, const char *memfd_name, struct hb_vmmem *out,
		   struct hb_err *e)
{
	const char *line = smaps;
	long long pss = 0, rss = 0, gpss = 0, gsize = 0;
	int in_guest = 0, npss = 0;

	memset(out, 0, sizeof(*out));
	while (line && *line) {
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (is_header(line)) {
			const char *path = header_path(line, end);
			in_guest = path_is_memfd(path, end, memfd_name);
			if (in_guest)
				out->guest_mappings++;
		} else {
			long long v;
			if ((v = kb_value(line, "Pss")) >= 0) {
				pss += v;
				npss++;
				if (in_guest)
					gpss += v;
			} else if ((v = kb_value(line, "Rss")) >= 0) {
				rss += v;
			} else if (in_guest && (v = kb_value(line, "Size")) >= 0) {
				gsize += v;
			}
		}
		line = *end ? end + 1 : NULL;
	}
	if (!npss)
		return hb_err_set(e, HB_EPROTO, "smaps: no mapping with a Pss line");
	out->vmm_pss_mib = pss / 1024.0;
	out->vmm_rss_mib = rss / 1024.0;
	out->guest_pss_mib = gpss / 1024.0;
	out->guest_size_mib = gsize / 1024.0;
	return 0;
}

int hb_vmmem_read(pid_t pid, const char *memfd_name, struct hb_vmmem *out, struct hb_err *e)
{
	char path[64];
	char *text = NULL;
	size_t len;
	int rc;

	hb_snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	rc = hb_read_file(path, 64u << 20, &text, &len, e);
	if (rc)
		return rc;
	rc = hb_vmmem_parse(text, memfd_name, out, e);
	if (rc)
		hb_err_prefix(e, "%s", path);
	free(text);
	return rc;
}

static json_t *num_or_null(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

json_t *hb_vmmem_overhead_json(const struct hb_vmmem *m, double memavail_before_mib,
			       double memavail_after_mib, double configured_mib,
			       double guest_memtotal_mib)
{
	json_t *o = json_object();
	double drop = -1, loss = -1;

	if (!o)
		return NULL;
	if (memavail_before_mib >= 0 && memavail_after_mib >= 0)
		drop = memavail_before_mib - memavail_after_mib;
	if (guest_memtotal_mib >= 0 && configured_mib >= 0)
		loss = configured_mib - guest_memtotal_mib;
	json_object_set_new(o, "vmm_pss_mib", json_real(m->vmm_pss_mib));
	json_object_set_new(o, "vmm_rss_mib", json_real(m->vmm_rss_mib));
	json_object_set_new(o, "guest_ram_pss_mib", json_real(m->guest_pss_mib));
	json_object_set_new(o, "vmm_overhead_mib",
			    m->guest_mappings ? json_real(m->vmm_pss_mib - m->guest_pss_mib)
					      : json_null());
	/* the drop can be negative when the host freed cache meanwhile: keep the real figure */
	json_object_set_new(o, "memavailable_drop_mib",
			    memavail_before_mib >= 0 && memavail_after_mib >= 0 ? json_real(drop)
										: json_null());
	json_object_set_new(o, "guest_visible_loss_mib",
			    guest_memtotal_mib >= 0 ? json_real(loss) : json_null());
	json_object_set_new(o, "configured_mib", num_or_null(configured_mib));
	json_object_set_new(o, "guest_memtotal_mib", num_or_null(guest_memtotal_mib));
	json_object_set_new(
		o, "method",
		json_string(m->guest_mappings
				    ? "VMM PSS minus guest-RAM memfd PSS (/proc/PID/smaps)"
				    : "guest-RAM memfd mapping not found in smaps"));
	return o;
}
