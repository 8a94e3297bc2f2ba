/*
 * sources.c — `vellum sources URL`: the server's report of the agents that
 * forward to a log (GET /v1/logs/{log}/sources?format=text): per agent the
 * spool indexes held, the gaps (events lost before they reached vellum)
 * and the delay.  Exits 1 when any event is missing, so it can run from
 * cron or a monitoring check.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

struct fetched {
	char *buf;
	size_t len;
	uint64_t missing;
	int has_missing;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fetched *f = arg;
	size_t n = size * nmemb;
	if (f->len + n > (16u << 20))
		return 0;
	char *b = realloc(f->buf, f->len + n + 1);
	if (!b)
		return 0;
	memcpy(b + f->len, ptr, n);
	f->buf = b;
	f->len += n;
	f->buf[f->len] = 0;
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fetched *f = arg;
	size_t n = size * nmemb;
	static const char name[] = "vellum-missing-events:";
	if (n > sizeof name && strncasecmp(ptr, name, sizeof name - 1) == 0) {
		f->missing = strtoull(ptr + sizeof name - 1, NULL, 10);
		f->has_missing = 1;
	}
	return n;
}

static int run(const struct cli_command *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{"log", required_argument, NULL, 'l'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *log = "default";
	int json = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":l:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			log = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_bad_option(self, c, argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(self, "expected one URL (the server, e.g. http://127.0.0.1:8080)");
	const char *base = argv[optind];
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	char *url = NULL;
	if (asprintf(&url, "%.*s/v1/logs/%s/sources?format=%s", (int)bl, base, log,
	             json ? "json" : "text") < 0)
		return CLI_EXIT_RUNTIME;
	CURL *curl = curl_easy_init();
	if (!curl) {
		free(url);
		return CLI_EXIT_RUNTIME;
	}
	struct fetched f = {0};
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	char *auth = NULL;
	const char *token = getenv("VELLUM_TOKEN");
	if (token && asprintf(&auth, "Authorization: Bearer %s", token) >= 0)
		hdrs = curl_slist_append(hdrs, auth);
	const char *ca = getenv("CURL_CA_BUNDLE") ? getenv("CURL_CA_BUNDLE") : getenv("SSL_CERT_FILE");
	if (ca)
		curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &f);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "vellum/" VL_VERSION_STRING);
	CURLcode res = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	int code = CLI_EXIT_OK;
	if (res != CURLE_OK) {
		fprintf(stderr, "vellum sources: %s: %s\n", url,
		        errbuf[0] ? errbuf : curl_easy_strerror(res));
		code = CLI_EXIT_RUNTIME;
	} else if (status != 200) {
		fprintf(stderr, "vellum sources: %s: HTTP status %ld%s%s\n", url, status,
		        f.len ? ": " : "", f.len ? f.buf : "");
		code = CLI_EXIT_RUNTIME;
	} else {
		fwrite(f.buf ? f.buf : "", 1, f.len, stdout);
		if (!f.has_missing) {
			fprintf(stderr, "vellum sources: the answer has no Vellum-Missing-Events header\n");
			code = CLI_EXIT_RUNTIME;
		} else if (f.missing > 0) {
			code = CLI_EXIT_FAILED;
		}
	}
	curl_slist_free_all(hdrs);
	free(auth);
	free(f.buf);
	curl_easy_cleanup(curl);
	free(url);
	return code;
}

const struct cli_command cli_sources = {
	.name = "sources",
	.synopsis = "  vellum sources URL [--log NAME] [--json]\n"
	            "                                      the agents forwarding to a log: gaps, delay\n",
	.help = "usage: vellum sources URL [--log NAME] [--json]\n"
	        "\n"
	        "Prints the server's report of the agents that forward to log NAME\n"
	        "(default: default) at URL (the server, e.g. http://127.0.0.1:8080): per\n"
	        "agent the highest spool index up to which the log holds every event, the\n"
	        "highest received, how many are missing below it and where (the gaps: events\n"
	        "lost before they reached vellum), and the delay from spool to server.\n"
	        "Sends VELLUM_TOKEN as a bearer token when set (a token with read scope);\n"
	        "honours CURL_CA_BUNDLE and SSL_CERT_FILE for https.\n"
	        "\n"
	        "Exits 0 when nothing is missing, 1 when events are missing, 3 when the\n"
	        "server cannot be asked.\n"
	        "\n"
	        "Options:\n"
	        "  -l, --log NAME    the log (default: default)\n"
	        "  -j, --json        the report as JSON (GET /v1/logs/NAME/sources)\n"
	        "  -h, --help        print this usage\n",
	.run = run,
};
