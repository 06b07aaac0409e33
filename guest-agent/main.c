/* main.c — placeholder for hvbench-guest until the agent lands. */
#include <stdio.h>
int main(void)
{
	fputs("hvbench-guest: not implemented yet\n", stderr);
	return 1;
}
