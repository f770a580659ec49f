/* SPDX-License-Identifier: MIT */
/*
 * ivc-chain - an example service chain on ivc: generators -> firewall ->
 * sink, each a process, every hop an ivc channel (docs/nfv.md).
 *
 *   ivc-chain run [options]     the whole chain in one command
 *   ivc-chain gen|fw|sink ...   one stage (what `run` starts)
 */
#include <stdio.h>
#include <string.h>

#include "chain.h"
#include "stage.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " run [options]       generators -> firewall -> sink, measured\n"
"       " PROG " gen --connect ADDR [options]\n"
"       " PROG " fw --listen UPADDR --connect DOWNADDR --gens G [options]\n"
"       " PROG " sink --listen ADDR --gens G [options]\n"
"\n"
"'" PROG " SUBCOMMAND --help' lists each one's options.  Exit status: 0 ok\n"
"(run: delivery exact), 1 failure, 2 usage, 3 watchdog.\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "run", chain_run }, { "gen", chain_gen },
		{ "fw", chain_fw }, { "sink", chain_sink },
	};

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, PROG ": unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
