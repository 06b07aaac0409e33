/*
 * main.c — the `hvbench` entry point: owns the stop flag that SIGINT, SIGTERM and SIGHUP set
 * during a run, and hands the command line to the command table (cli.c).
 */
#include <signal.h>
#include <string.h>

#include "cli.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

/* Armed by `run` only: every other command keeps the default (Ctrl-C ends it). */
static void arm_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	return hb_cli_main(argc, argv, &g_stop, arm_signals);
}
