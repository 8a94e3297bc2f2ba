/*
 * config_error.c — config-error: bad configurations the server must refuse at start.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "scenarios.h"
#include "util.h"
#include "vellum.h"

/* config-error: a server that cannot run as configured must refuse to
 * start, say why, and never half-work (never listen). */
enum {
	PREP_NONE,
	PREP_DATA_IS_FILE,   /* the data directory is a file */
	PREP_PORT_TAKEN,     /* something listens on the port already */
	PREP_KEY_GARBAGE,    /* the log exists; its key file holds garbage */
	PREP_KEY_OTHER,      /* the log exists; its key file is another valid key */
	PREP_KEY_MODE,       /* the log exists; its key file is readable by others */
	PREP_READ_ONLY,      /* the data directory is on a read-only mount */
};

/* Writes a new signer key for NAME to PATH (mode 0600). */
static int write_other_key(const char *path)
{
	char *skey = NULL, *vkey = NULL;
	int rc = vl_key_generate("other.example/log", &skey, &vkey);
	if (rc == 0) {
		char line[512];
		snprintf(line, sizeof line, "%s\n", skey);
		rc = vc_write_text(path, line);
		explicit_bzero(skey, strlen(skey));
	}
	free(skey);
	free(vkey);
	return rc;
}

void vc_scenario_config_error(const vc_run_options *o, vc_result *r)
{
	snprintf(r->limits, sizeof r->limits,
	         "Bad configurations at start only: a configuration changed under a running "
	         "server is not tried. Running as root, an unwritable directory is made with a "
	         "read-only bind mount (skipped where mounting is not allowed).");
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/%s", o->dir, r->name);
	vc_mkdirs(dir);
	struct {
		const char *name;
		const char *ini;    /* extra lines of the configuration */
		int prep;
		const char *expect; /* words the error must contain */
	} cases[] = {
		{"missing key file", "[log default]\nkey = /nonexistent/default.key\n", PREP_NONE,
		 "/nonexistent/default.key"},
		{"bad duration", "idle_timeout = soon\n", PREP_NONE, "idle_timeout"},
		{"unknown option", "no_such_option = 1\n", PREP_NONE, "no_such_option"},
		{"data directory is a file", "", PREP_DATA_IS_FILE, "Not a directory"},
		{"port in use", "", PREP_PORT_TAKEN, "in use"},
		{"wrong key (not a key)", "", PREP_KEY_GARBAGE, "bad or unsafe key"},
		{"mismatched key", "", PREP_KEY_OTHER, "does not match the log"},
		{"key readable by others", "", PREP_KEY_MODE, "0600"},
		{"unwritable data directory", "", PREP_READ_ONLY, "Read-only"},
	};
	int failures = 0, ran = 0, n = (int)(sizeof cases / sizeof cases[0]);
	double t0 = vc_mono_s();
	for (int i = 0; i < n; i++) {
		char sub[PATH_MAX + 16], key[PATH_MAX + 48];
		snprintf(sub, sizeof sub, "%.4000s/case%d", dir, i);
		vc_mkdirs(sub);
		vc_server s;
		if (vc_server_init(&s, o->vellum, sub, cases[i].ini) < 0) {
			failures++;
			continue;
		}
		snprintf(key, sizeof key, "%s/default.key", s.data);
		int blocker = -1, mounted = 0, prepared = 1;
		switch (cases[i].prep) {
		case PREP_DATA_IS_FILE:
			vc_write_text(s.data, "not a directory\n");
			break;
		case PREP_PORT_TAKEN: {
			blocker = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			struct sockaddr_in a = {.sin_family = AF_INET,
			                        .sin_port = htons((uint16_t)s.port)};
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (bind(blocker, (struct sockaddr *)&a, sizeof a) < 0 || listen(blocker, 1) < 0)
				prepared = 0;
			break;
		}
		case PREP_KEY_GARBAGE:
		case PREP_KEY_OTHER:
		case PREP_KEY_MODE:
			/* A log made by a good start first. */
			prepared = vc_server_start(&s, NULL) == 0;
			vc_proc_stop(&s.p, 30);
			if (prepared && cases[i].prep == PREP_KEY_GARBAGE)
				prepared = vc_write_text(key, "this is no key\n") == 0;
			else if (prepared && cases[i].prep == PREP_KEY_OTHER)
				prepared = write_other_key(key) == 0;
			else if (prepared)
				prepared = chmod(key, 0644) == 0;
			break;
		case PREP_READ_ONLY: {
			char cmd[3 * PATH_MAX + 128];
			vc_mkdirs(s.data);
			snprintf(cmd, sizeof cmd,
			         "mount --bind '%.4000s' '%.4000s' 2>/dev/null && "
			         "mount -o remount,ro,bind '%.4000s' 2>/dev/null",
			         s.data, s.data, s.data);
			mounted = system(cmd) == 0;
			if (!mounted) {
				snprintf(cmd, sizeof cmd, "umount '%s' 2>/dev/null", s.data);
				if (system(cmd) != 0) { /* nothing was mounted */
				}
				vc_appendf(r->verdict, sizeof r->verdict,
				        "%s: skipped (mounting is not allowed here). ", cases[i].name);
				continue;
			}
			break;
		}
		default:
			break;
		}
		if (!prepared) {
			failures++;
			vc_appendf(r->verdict, sizeof r->verdict, "%s: could not be prepared. ",
			        cases[i].name);
			if (blocker >= 0)
				close(blocker);
			continue;
		}
		ran++;
		char listen_at[64];
		snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", s.port);
		char *argv[] = {(char *)o->vellum, "serve", "--data", s.data, "--listen", listen_at,
		                "--config", s.config, NULL};
		/* Only this start's output is looked at. */
		snprintf(s.p.out, sizeof s.p.out, "%.4000s/refused.log", sub);
		int ok = vc_proc_start(&s.p, argv) == 0 && vc_proc_wait(&s.p, 10);
		int listening = blocker < 0 && vc_port_open("127.0.0.1", s.port);
		char text[8192] = "";
		vc_read_text(s.p.out, text, sizeof text);
		int code = ok && WIFEXITED(s.p.status) ? WEXITSTATUS(s.p.status) : -1;
		int says = strstr(text, cases[i].expect) != NULL;
		if (!ok || code == 0 || listening || !says) {
			failures++;
			vc_appendf(r->verdict, sizeof r->verdict, "%s: %s. ", cases[i].name,
			        !ok         ? "still running after 10 s"
			        : code == 0 ? "exited 0"
			        : listening ? "listened"
			                    : "its message does not name the problem");
		}
		if (!ok)
			vc_proc_stop(&s.p, 2);
		if (blocker >= 0)
			close(blocker);
		if (mounted) {
			char cmd[PATH_MAX + 32];
			snprintf(cmd, sizeof cmd, "umount '%s'", s.data);
			if (system(cmd) != 0)
				vc_appendf(r->verdict, sizeof r->verdict, "could not unmount %s. ", s.data);
		}
	}
	r->duration_s = vc_mono_s() - t0;
	r->recovery_seconds = -1;
	r->passed = failures == 0 && ran > 0;
	if (r->passed)
		vc_appendf(r->verdict, sizeof r->verdict,
		        "each of %d bad configurations was refused at start with a non-zero exit "
		        "and a message naming the problem; nothing listened.",
		        ran);
}
