/*
 * netns.h — a network namespace for a server of `vellum chaos run`, joined
 * to the host by a veth pair, and faults made by nftables inside it: the
 * kernel's own TCP, not a proxy, sees the packets dropped or rejected.
 *
 * A namespace is named vellum-chaos-<pid>-<n>.  Subnet number I (0..16383,
 * free on the host when it is made) gives 10.201.<I/64>.<4*(I%64)>/30:
 * the host's end, veth vch<I>, holds .1, the namespace's end, vcn<I>,
 * holds .2.  Faults live in the namespace's table `inet vellum_chaos`
 * (vc_netns_rules has its exact text); healing deletes the table.
 *
 * Everything runs ip(8) and nft(8) as child processes (fork and exec, no
 * shell); it needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN).  See
 * docs/chaos.md, "partition".
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VC_NETNS_H
#define VC_NETNS_H

#include <stddef.h>

enum vc_netns_fault {
	VC_NETNS_HEAL,         /* no table: everything passes */
	VC_NETNS_DROP,         /* TCP to and from the port dropped, both ways */
	VC_NETNS_REJECT,       /* TCP to the port answered with a reset */
	VC_NETNS_DROP_REPLIES, /* TCP from the port dropped: requests arrive,
	                          answers do not (one way) */
	VC_NETNS_FAULTS,
};

typedef struct vc_netns {
	char name[64];      /* vellum-chaos-<pid>-<n>; "" once destroyed */
	char host_if[16];   /* vch<I> */
	char ns_if[16];     /* vcn<I>, inside the namespace */
	char host_addr[16]; /* 10.201.A.B+1 */
	char ns_addr[16];   /* 10.201.A.B+2: where a server inside listens */
	unsigned subnet;    /* I */
} vc_netns;

/* "heal", "drop", "reject", "drop-replies"; NULL for anything else. */
const char *vc_netns_fault_name(enum vc_netns_fault f);

/* 1 if namespaces and nftables work here, found out by making a namespace,
 * applying a fault in it and removing it all; else 0 with the reason in
 * WHY (no ip, no nft, not allowed to make a namespace, nft refused). */
int vc_netns_available(char *why, size_t cap);

/* Makes the namespace, its veth pair and addresses, and brings up lo and
 * the veth inside (first removing namespaces left by runs of this program
 * whose process is gone).  0, or -1 with ERR set and nothing left behind. */
int vc_netns_create(vc_netns *ns, char *err, size_t cap);

/* The argv prefix that runs a command inside NS ("ip netns exec NAME"),
 * NULL-terminated, for vc_server_start's WRAP: WRAP must hold 5 pointers,
 * which point into *NS. */
void vc_netns_wrap(vc_netns *ns, char *wrap[5]);

/* The nft script that puts fault F on TCP port PORT in place of whatever
 * was there (atomically: one nft transaction), NUL-terminated in BUF.
 * Pure.  Its length, or -1 if F is unknown or CAP too small. */
int vc_netns_rules(enum vc_netns_fault f, int port, char *buf, size_t cap);

/* Applies F on PORT inside NS (VC_NETNS_HEAL removes the table).  0, or -1
 * with nft's message in ERR.  May be called from any thread. */
int vc_netns_fault(const vc_netns *ns, enum vc_netns_fault f, int port, char *err, size_t cap);

/* Kills what still runs inside NS, deletes the namespace (and with it the
 * veth pair) and, if the host's end outlived it, that too.  Safe to call
 * twice, and on a namespace whose creation failed. */
void vc_netns_destroy(vc_netns *ns);

#endif
