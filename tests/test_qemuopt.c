/*
 * test_qemuopt.c — QEMU option values built from paths and names: commas are doubled so a
 * path cannot end a value early or inject an option. The helper is tested alone, then on the
 * real argv the qemu backend builds: a stand-in "QEMU" (a shell script: a mock, inside this
 * unit test only) records its arguments, writes to the console log through the path it was
 * given, and exits, with scratch and output directories and a target name all holding commas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "hb.h"
#include "qemuopt.h"

static void escape_helper(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(hb_qemu_opt_escape("/a,b,,c", out, sizeof(out)), 0);
	assert_string_equal(out, "/a,,b,,,,c");
	assert_int_equal(hb_qemu_opt_escape("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* "a,b" needs 5 bytes with the NUL: 4 is too small, and nothing half-escaped is left */
	assert_int_equal(hb_qemu_opt_escape("a,b", out, 4), HB_EINVAL);
	assert_string_equal(out, "");
	assert_int_equal(hb_qemu_opt_escape("a,b", out, 5), 0);
	assert_string_equal(out, "a,,b");
}

static void elog(void *arg, const char *fmt, ...)
{
	(void)arg;
	(void)fmt;
}

/* The argument following opt whose value starts with prefix (NULL: none). */
static const char *find_arg(char **av, int n, const char *opt, const char *prefix)
{
	for (int i = 0; i + 1 < n; i++)
		if (!strcmp(av[i], opt) && !strncmp(av[i + 1], prefix, strlen(prefix)))
			return av[i + 1];
	return NULL;
}

static void argv_escaped(void **state)
{
	char base[] = "/tmp/hb-qemu,opt.XXXXXX", scratch[PATH_MAX], out[PATH_MAX], fake[PATH_MAX],
	     record[PATH_MAX], kernel[PATH_MAX], initrd[PATH_MAX], want[2 * PATH_MAX],
	     console[PATH_MAX], ebase[PATH_MAX];
	char *text = NULL, *av[200];
	size_t len = 0;
	int n = 0;
	volatile sig_atomic_t stop = 0;
	struct hb_env env = {0};
	struct hb_target t = {0};
	struct hb_err e = {0};
	json_t *in, *info = json_object();
	const struct hb_backend_ops *be = hb_backend_find("qemu");
	void *priv;
	FILE *f;

	(void)state;
	assert_non_null(be);
	assert_non_null(mkdtemp(base));
	snprintf(scratch, sizeof(scratch), "%s/scr,atch", base);
	snprintf(out, sizeof(out), "%s/out,x=y", base);
	snprintf(fake, sizeof(fake), "%s/fake-qemu", base);
	snprintf(record, sizeof(record), "%s/argv", base);
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", base);
	snprintf(initrd, sizeof(initrd), "%s/initrd", base);
	assert_int_equal(mkdir(scratch, 0700), 0);
	assert_int_equal(mkdir(out, 0755), 0);
	f = fopen(kernel, "w");
	assert_non_null(f);
	fclose(f);
	f = fopen(initrd, "w");
	assert_non_null(f);
	fclose(f);
	f = fopen(fake, "w");
	assert_non_null(f);
	fprintf(f,
		"#!/bin/sh\n"
		"for a in \"$@\"; do printf '%%s\\n' \"$a\"; done > '%s'\n"
		"for a in \"$@\"; do case $a in file,id=hbcon,path=*) p=${a#*path=}; "
		"p=${p%%%%,*}; echo console-ok >> \"$p\";; esac; done\n"
		"exit 1\n",
		record);
	fclose(f);
	assert_int_equal(chmod(fake, 0755), 0);

	in = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s}", "qemu", fake, "accel", "tcg", "net",
		       "none", "kernel", kernel, "initrd", initrd, "boot_timeout", 5, "disk_size",
		       "16M");
	assert_int_equal(hb_params_validate(be->opts, be->nopts, in, "t", &t.opts, &e), 0);
	json_decref(in);
	hb_strlcpy(t.name, "vm,a", sizeof(t.name));
	t.ops = be;
	env.build_dir = base;
	env.scratch_dir = scratch;
	env.out_dir = out;
	env.stop = &stop;
	env.memo = json_object();
	env.log = elog;
	priv = calloc(1, be->priv_size);
	assert_non_null(priv);
	/* the stand-in exits at once: the start fails, having run it with the real argv */
	assert_int_not_equal(be->start(priv, &t, &env, info, &e), 0);
	be->stop(priv, info);
	free(priv);

	/* base itself holds a comma: "hb-qemu,opt" is written "hb-qemu,,opt" */
	{
		char *c = strchr(base, ',');
		snprintf(ebase, sizeof(ebase), "%.*s,%s", (int)(c - base + 1), base, c + 1);
	}
	assert_int_equal(hb_read_file(record, 1 << 20, &text, &len, &e), 0);
	for (char *s = text, *nl; s && *s && n < 200; s = nl ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		if (nl)
			*nl = '\0';
		av[n++] = s;
	}
	assert_non_null(find_arg(av, n, "-name", "hvbench-"));
	assert_string_equal(find_arg(av, n, "-name", "hvbench-"), "hvbench-vm,,a");
	snprintf(want, sizeof(want), "unix:%s/scr,,atch/qemu-vm,,a/qmp.sock,server=on,wait=off",
		 ebase);
	assert_non_null(find_arg(av, n, "-qmp", "unix:"));
	assert_string_equal(find_arg(av, n, "-qmp", "unix:"), want);
	snprintf(want, sizeof(want),
		 "socket,id=hbagent,path=%s/scr,,atch/qemu-vm,,a/agent.sock,server=on,wait=off",
		 ebase);
	assert_non_null(find_arg(av, n, "-chardev", "socket,"));
	assert_string_equal(find_arg(av, n, "-chardev", "socket,"), want);
	snprintf(want, sizeof(want),
		 "file=%s/scr,,atch/qemu-vm,,a/disk.raw,if=none,id=hbdisk,format=raw,", ebase);
	assert_non_null(find_arg(av, n, "-drive", "file="));
	assert_memory_equal(find_arg(av, n, "-drive", "file="), want, strlen(want));
	/* the console log is created by hvbench and reached by QEMU through its fd */
	assert_string_equal(find_arg(av, n, "-chardev", "file,"),
			    "file,id=hbcon,path=/proc/self/fd/3,append=on");
	free(text);
	snprintf(console, sizeof(console), "%s/vm,a-console.log", out);
	assert_int_equal(hb_read_file(console, 1 << 20, &text, &len, &e), 0);
	assert_string_equal(text, "console-ok\n");
	free(text);
	json_decref(t.opts);
	json_decref(info);
	json_decref(env.memo);
	hb_rmtree(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escape_helper),
		cmocka_unit_test(argv_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
