/*
 * cli.h — the `hvbench` command table and the option tables commands declare. A command is one
 * line in cli.c's commands[] ({name, handler, one-line help}) plus its handler; a handler that
 * takes options declares them as a table of struct hb_cli_opt, from which hb_cli_parse builds
 * the getopt parser and hb_cli_usage the usage text, so the two cannot disagree. Every message
 * starts with "hvbench CMD: ".
 */
#ifndef HB_CLI_H
#define HB_CLI_H

#include <signal.h>
#include <stdio.h>

struct hb_cli_opt {
	const char *name; /* long name ("reps") */
	int key;	  /* short letter ('q'), or a value >= 256 for long-only options */
	const char *arg;  /* argument name ("N"), NULL for a flag */
	const char *help;
};

/* One command's usage: "usage: hvbench CMD SYNOPSIS", a blurb, then the option table. */
struct hb_cli_cmd_usage {
	const char *name;
	const char *synopsis; /* "PROFILE [options]" */
	const char *blurb;    /* paragraph after the synopsis (may be NULL) */
	const struct hb_cli_opt *opts;
	size_t nopts;
	const char *epilog; /* text after the options (may be NULL) */
};

void hb_cli_usage(const struct hb_cli_cmd_usage *u, FILE *f);
/*
 * getopt_long over u's table: calls on(arg, key, optarg) for each option (-h/--help prints the
 * usage to stdout and returns 1). Returns 0 with *first_operand the index of the first
 * operand, 1 after --help, or 2 (usage error, message printed with the command's prefix).
 * on returns 0 or 2 (it prints its own message).
 */
int hb_cli_parse(const struct hb_cli_cmd_usage *u, int argc, char **argv,
		 int (*on)(void *arg, int key, const char *val), void *arg, int *first_operand);

/*
 * The whole CLI: dispatches argv[1] through the command table; returns the exit code. stop:
 * the flag a run watches; arm: installs the handlers that set it (called by `run` only).
 */
int hb_cli_main(int argc, char **argv, volatile sig_atomic_t *stop, void (*arm)(void));

#endif
