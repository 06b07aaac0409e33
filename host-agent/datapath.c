/*
 * datapath.c — the search path for profiles and the guest image (datapath.h). The installed
 * binary finds its data relative to its own location (/proc/self/exe: PREFIX/bin/hvbench ->
 * PREFIX/share/hvbench), so a tree installed under any PREFIX or DESTDIR, or unpacked from a
 * tarball anywhere, works without configuration; environment variables come first so a user
 * can always point elsewhere.
 */
#include "datapath.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Directory of the running executable ("" when unknown). */
static void exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n <= 0) {
		buf[0] = '\0';
		return;
	}
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	else
		buf[0] = '\0';
}

static int add(char dirs[][HB_DATA_PATH_MAX], int n, int max, const char *a, const char *b)
{
	char real[PATH_MAX];

	if (n >= max || !a || !*a)
		return n;
	if (hb_snprintf(dirs[n], HB_DATA_PATH_MAX, "%s%s", a, b ? b : ""))
		return n;
	/* one place, one entry: ./configs and EXE/../configs are the same in a source tree */
	if (realpath(dirs[n], real))
		hb_strlcpy(dirs[n], real, HB_DATA_PATH_MAX);
	for (int i = 0; i < n; i++)
		if (!strcmp(dirs[i], dirs[n]))
			return n;
	return n + 1;
}

/* $var/sub when $var is an absolute path (XDG base directories), else $HOME/def/sub. */
static int add_xdg(char dirs[][HB_DATA_PATH_MAX], int n, int max, const char *var, const char *def,
		   const char *sub)
{
	const char *xdg = getenv(var), *home = getenv("HOME");
	char base[HB_DATA_PATH_MAX];

	if (xdg && xdg[0] == '/')
		return add(dirs, n, max, xdg, sub);
	if (!home || !*home || hb_snprintf(base, sizeof(base), "%s%s", home, def))
		return n;
	return add(dirs, n, max, base, sub);
}

int hb_data_dirs(enum hb_data_kind kind, char dirs[][HB_DATA_PATH_MAX], int max)
{
	char exe[HB_DATA_PATH_MAX], list[HB_DATA_PATH_MAX];
	int n = 0;

	exe_dir(exe, sizeof(exe));
	if (kind == HB_DATA_PROFILE) {
		const char *env = getenv("HVBENCH_PROFILES");

		if (env && !hb_strlcpy(list, env, sizeof(list))) {
			char *save = NULL;

			for (char *t = strtok_r(list, ":", &save); t;
			     t = strtok_r(NULL, ":", &save))
				n = add(dirs, n, max, t, NULL);
		}
		n = add(dirs, n, max, "configs", NULL);
		n = add_xdg(dirs, n, max, "XDG_CONFIG_HOME", "/.config", "/hvbench/profiles");
		n = add(dirs, n, max, "/etc/hvbench/profiles", NULL);
		n = add(dirs, n, max, exe, "/../share/hvbench/profiles");
		n = add(dirs, n, max, exe, "/../configs");
		return n;
	}
	/* $HVBENCH_BUILD, when set, is the one place: a user who points there must not get
	 * another build's image behind their back (the message then names it) */
	if (getenv("HVBENCH_BUILD") && *getenv("HVBENCH_BUILD"))
		return add(dirs, n, max, getenv("HVBENCH_BUILD"), NULL);
	n = add(dirs, n, max, "build", NULL);
	n = add(dirs, n, max, exe, NULL);
	n = add_xdg(dirs, n, max, "XDG_CACHE_HOME", "/.cache", "/hvbench");
	n = add(dirs, n, max, "/var/lib/hvbench", NULL);
	return n;
}

static int readable(const char *dir, const char *a, const char *b)
{
	char p[HB_DATA_PATH_MAX];

	if (hb_snprintf(p, sizeof(p), "%s%s%s", dir, a, b ? b : ""))
		return 0;
	return access(p, R_OK) == 0;
}

static void searched(char dirs[][HB_DATA_PATH_MAX], int n, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < n && o + 1 < len; i++) {
		int w = snprintf(out + o, len - o, "%s%s", i ? ", " : "", dirs[i]);

		if (w < 0)
			break;
		o += (size_t)w;
	}
}

int hb_data_path(enum hb_data_kind kind, const char *name, char *buf, size_t len, struct hb_err *e)
{
	char dirs[HB_DATA_MAX_DIRS][HB_DATA_PATH_MAX], where[2048];
	int n = hb_data_dirs(kind, dirs, HB_DATA_MAX_DIRS);

	buf[0] = '\0';
	if (kind == HB_DATA_PROFILE) {
		if (!name || !*name)
			return hb_err_set(e, HB_EINVAL, "empty profile name");
		if (strchr(name, '/') || access(name, F_OK) == 0) {
			if (hb_strlcpy(buf, name, len))
				return hb_err_set(e, HB_EINVAL, "profile path too long");
			return 0;
		}
		for (int i = 0; i < n; i++) {
			size_t l = strlen(name);
			int json = l > 5 && !strcmp(name + l - 5, ".json");

			if (readable(dirs[i], "/", name))
				return hb_snprintf(buf, len, "%s/%s", dirs[i], name) ? HB_EINVAL
										     : 0;
			if (!json) {
				char file[300];

				if (!hb_snprintf(file, sizeof(file), "%s.json", name) &&
				    readable(dirs[i], "/", file))
					return hb_snprintf(buf, len, "%s/%s", dirs[i], file)
						       ? HB_EINVAL
						       : 0;
			}
		}
		searched(dirs, n, where, sizeof(where));
		return hb_err_set(e, HB_EUNSUPP,
				  "no profile \"%s\": not a file, and not in the profile search "
				  "path (%s)",
				  name, where);
	}
	for (int i = 0; i < n; i++) {
		if (!readable(dirs[i], "/guest/", HB_GUEST_KERNEL) ||
		    !readable(dirs[i], "/guest/", HB_GUEST_INITRD) ||
		    !readable(dirs[i], "/guest/", HB_GUEST_TOOLS))
			continue;
		if (name ? hb_snprintf(buf, len, "%s/guest/%s", dirs[i], name)
			 : hb_strlcpy(buf, dirs[i], len))
			return hb_err_set(e, HB_EINVAL, "guest image path too long");
		return 0;
	}
	if (n > 0)
		hb_snprintf(buf, len, name ? "%s/guest/%s" : "%s", dirs[0], name ? name : "");
	searched(dirs, n, where, sizeof(where));
	return hb_err_set(e, HB_EUNSUPP,
			  "guest image not built: no guest/" HB_GUEST_KERNEL
			  " + guest/" HB_GUEST_INITRD " + guest/" HB_GUEST_TOOLS
			  " in %s (build one with `make guest` in a "
			  "source tree or `hvbench-mkguest`)",
			  where);
}
