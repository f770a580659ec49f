/* SPDX-License-Identifier: MIT */
/*
 * chain.h - the subcommands of ivc-chain, the example service chain
 * (generators -> firewall -> sink) of docs/nfv.md.  Each takes the
 * arguments after its name and returns the exit status.
 */
#ifndef IVC_CHAIN_CHAIN_H
#define IVC_CHAIN_CHAIN_H

int chain_gen(int argc, char **argv);
int chain_fw(int argc, char **argv);
int chain_sink(int argc, char **argv);
int chain_run(int argc, char **argv);

#endif
