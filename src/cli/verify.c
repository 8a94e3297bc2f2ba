/*
 * verify.c — `vellum verify`: checks a vellum log directory, a static
 * c2sp.org/tlog-tiles tree on disk or over HTTP(S), and c2sp.org/tlog-proof
 * receipts, trusting nothing but the verifier key given on the command
 * line.  Owns the libcurl fetcher for remote trees.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "note.h"
#include "util.h"

/* Same cap as vl_fetch_dir: no file of a tree is legitimately larger. */
#define FETCH_MAX (16u << 20)
#define FETCH_TIMEOUT_SECONDS 30L
#define RECEIPT_MAX (2u * VL_NOTE_MAX)
#define B64_HASH_LEN (((VL_HASH_SIZE + 2) / 3) * 4)

/* ------------------------------------------------------------------ */
/* Fetching a tree over HTTP(S).                                       */

struct http_fetch {
	CURL *curl;
	char *base; /* the target URL, ending in '/' */
	uint8_t *buf;
	size_t len, cap;
	int too_big;
	char errbuf[CURL_ERROR_SIZE];
	char detail[CURL_ERROR_SIZE + 512]; /* why the last fetch failed */
};

static size_t http_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_fetch *h = arg;
	size_t n = size * nmemb;

	/* A server may lie about or omit Content-Length: cap what we keep. */
	if (n > FETCH_MAX - h->len) {
		h->too_big = 1;
		return 0;
	}
	if (h->len + n > h->cap) {
		size_t cap = h->cap ? h->cap : 16384;
		uint8_t *grown;
		while (cap < h->len + n)
			cap *= 2;
		if (cap > FETCH_MAX)
			cap = FETCH_MAX;
		grown = realloc(h->buf, cap);
		if (!grown)
			return 0;
		h->buf = grown;
		h->cap = cap;
	}
	memcpy(h->buf + h->len, ptr, n);
	h->len += n;
	return n;
}

static int curl_to_rc(CURLcode res, const struct http_fetch *h)
{
	switch (res) {
	case CURLE_FILESIZE_EXCEEDED:
		return VL_ETOOBIG;
	case CURLE_WRITE_ERROR:
		return h->too_big ? VL_ETOOBIG : VL_ENOMEM;
	case CURLE_OUT_OF_MEMORY:
		return VL_ENOMEM;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	default:
		return -EIO;
	}
}

/* A vl_fetch_fn.  The one easy handle is reused so that every tile of a
 * tree comes over the same kept-alive connection. */
static int http_fetch_fn(void *ctx, const char *path, uint8_t **data, size_t *len)
{
	struct http_fetch *h = ctx;
	char *url = NULL;
	long status = 0;
	CURLcode res;
	int rc = 0;

	h->len = 0;
	h->too_big = 0;
	h->errbuf[0] = '\0';
	h->detail[0] = '\0';
	if (asprintf(&url, "%s%s", h->base, path) < 0)
		return VL_ENOMEM;
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	res = curl_easy_perform(h->curl);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	if (res == CURLE_HTTP_RETURNED_ERROR || (res == CURLE_OK && status != 200)) {
		if (status == 404 || status == 410) {
			rc = VL_ENOTFOUND;
		} else {
			snprintf(h->detail, sizeof(h->detail), "HTTP status %ld for %s", status, url);
			rc = -EIO;
		}
	} else if (res != CURLE_OK) {
		rc = curl_to_rc(res, h);
		snprintf(h->detail, sizeof(h->detail), "%s: %s", url,
		         rc == VL_ETOOBIG ? "larger than 16 MiB"
		         : h->errbuf[0] ? h->errbuf : curl_easy_strerror(res));
	}
	free(url);
	if (rc < 0)
		return rc;
	if (!h->buf) {
		/* An empty body still needs a buffer the caller can free. */
		h->buf = malloc(1);
		if (!h->buf)
			return VL_ENOMEM;
	}
	*data = h->buf;
	*len = h->len;
	h->buf = NULL;
	h->cap = 0;
	return 0;
}

static int http_open(struct http_fetch *h, const char *url)
{
	const int https = strncmp(url, "https://", 8) == 0;
	size_t n = strlen(url);

	memset(h, 0, sizeof(*h));
	h->base = malloc(n + 2);
	if (!h->base)
		return VL_ENOMEM;
	memcpy(h->base, url, n + 1);
	if (n == 0 || url[n - 1] != '/')
		memcpy(h->base + n, "/", 2);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	h->curl = curl_easy_init();
	if (!h->curl)
		return VL_ENOMEM;
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, FETCH_TIMEOUT_SECONDS);
	curl_easy_setopt(h->curl, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)FETCH_MAX);
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h->curl, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "vellum/" VL_VERSION_STRING);
	/* As curl(1) does: a CA bundle named in the environment, and a bearer
	 * token for logs whose reads are not public. */
	const char *ca = getenv("CURL_CA_BUNDLE") ? getenv("CURL_CA_BUNDLE") : getenv("SSL_CERT_FILE");
	if (ca && *ca)
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, ca);
	const char *token = getenv("VELLUM_TOKEN");
	if (token && *token) {
		curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(h->curl, CURLOPT_XOAUTH2_BEARER, token);
	}
	/* A redirect may not leave the scheme the user named: an https tree
	 * must never be read over plain http, nor over file:// or the like. */
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, https ? "https" : "http");
	curl_easy_setopt(h->curl, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http");
#else
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS, https ? CURLPROTO_HTTPS : CURLPROTO_HTTP);
	curl_easy_setopt(h->curl, CURLOPT_REDIR_PROTOCOLS, https ? CURLPROTO_HTTPS : CURLPROTO_HTTP);
#endif
	return 0;
}

static void http_close(struct http_fetch *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->buf);
	free(h->base);
	curl_global_cleanup();
}

/* ------------------------------------------------------------------ */
/* Progress on a terminal.                                             */

struct progress {
	struct timespec last;
	int shown;
};

static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	struct timespec now;
	double elapsed;

	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed = (double)(now.tv_sec - p->last.tv_sec) + (now.tv_nsec - p->last.tv_nsec) / 1e9;
	if (p->shown && elapsed < 0.2 && done < total)
		return;
	p->last = now;
	p->shown = 1;
	fprintf(stderr, "\rverifying: %llu/%llu entries (%.0f%%)", (unsigned long long)done,
	        (unsigned long long)total, total ? 100.0 * (double)done / (double)total : 100.0);
	fflush(stderr);
}

static void progress_end(struct progress *p)
{
	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = 0;
}

/* ------------------------------------------------------------------ */

/* A failed verification is CLI_EXIT_FAILED; only a failure to reach the
 * data at all (the OS, the network, memory) is a runtime error. */
static int verify_exit_code(int rc)
{
	if (rc == 0)
		return CLI_EXIT_OK;
	if (!cli_is_vl_error(rc) || rc == VL_ENOMEM || rc == VL_EINVAL)
		return CLI_EXIT_RUNTIME;
	return CLI_EXIT_FAILED;
}

static void print_ok(const vl_checkpoint *cp)
{
	char b64[B64_HASH_LEN + 1];

	vl_base64_encode(cp->root, VL_HASH_SIZE, b64);
	printf("OK %s %llu %s", cp->origin, (unsigned long long)cp->size, b64);
}

static int load_vkey(const struct cli_command *self, const char *arg, vl_verifier **out)
{
	struct stat st;
	int rc;

	if (stat(arg, &st) == 0) {
		rc = vl_verifier_load(arg, out);
		if (rc == VL_EFORMAT || rc == VL_EKEY)
			return cli_usage_error(self, "--vkey %s: the file does not hold a verifier "
			                             "key (%s)", arg, vl_strerror(rc));
		if (rc < 0) {
			cli_error(self->name, rc, NULL, "cannot read verifier key file %s", arg);
			return CLI_EXIT_RUNTIME;
		}
		return CLI_EXIT_OK;
	}
	rc = vl_verifier_parse(arg, out);
	if (rc < 0)
		return cli_usage_error(self, "--vkey '%s' is neither a file nor a verifier key "
		                             "(NAME+KEYID+KEY) (%s)", arg, vl_strerror(rc));
	return CLI_EXIT_OK;
}

static int is_url(const char *target)
{
	return strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0;
}

/* Verifies TARGET with OPT; on success fills *cp.  Prints failures. */
static int verify_target(const char *cmd, const char *target, vl_verify_options *opt,
                         vl_checkpoint *cp)
{
	vl_verify_report report;
	struct progress progress = {0};
	struct http_fetch http;
	struct stat st;
	char *conf = NULL;
	int rc, is_log, remote = is_url(target);

	memset(&report, 0, sizeof(report));
	if (isatty(STDERR_FILENO)) {
		opt->progress = progress_cb;
		opt->progress_arg = &progress;
	}
	if (!remote && strstr(target, "://")) {
		cli_fail(cmd, "%s: only http:// and https:// URLs can be verified", target);
		return CLI_EXIT_USAGE;
	}
	if (remote) {
		rc = http_open(&http, target);
		if (rc < 0) {
			cli_error(cmd, rc, NULL, "cannot set up an HTTP client");
			http_close(&http);
			return CLI_EXIT_RUNTIME;
		}
		rc = vl_verify_tree(http_fetch_fn, &http, opt, &report);
	} else {
		if (stat(target, &st) < 0) {
			cli_error(cmd, -errno, NULL, "cannot read %s", target);
			return CLI_EXIT_RUNTIME;
		}
		if (!S_ISDIR(st.st_mode)) {
			cli_fail(cmd, "%s is not a directory or an http(s):// URL", target);
			return CLI_EXIT_RUNTIME;
		}
		if (asprintf(&conf, "%s/log.conf", target) < 0) {
			cli_error(cmd, VL_ENOMEM, NULL, "cannot verify %s", target);
			return CLI_EXIT_RUNTIME;
		}
		is_log = stat(conf, &st) == 0;
		free(conf);
		if (is_log) {
			/* A vellum log also holds its WAL, which deserves checking too;
			 * the lock keeps a concurrent append from looking torn. */
			rc = cli_lock_log_dir(cmd, target, 0);
			if (rc != CLI_EXIT_OK)
				return rc;
			rc = vl_verify_log_dir(target, opt, &report);
		} else {
			rc = vl_verify_tree(vl_fetch_dir, (void *)target, opt, &report);
		}
	}
	progress_end(&progress);
	if (rc < 0) {
		fprintf(stderr, "vellum %s: %s", cmd,
		        report.message[0] ? report.message : vl_strerror(rc));
		if (remote && http.detail[0])
			fprintf(stderr, " (%s)", http.detail);
		fputc('\n', stderr);
	}
	if (remote)
		http_close(&http);
	if (rc < 0)
		return verify_exit_code(rc);
	*cp = report.checkpoint;
	return CLI_EXIT_OK;
}

static int same_checkpoint(const vl_checkpoint *a, const vl_checkpoint *b)
{
	return a->size == b->size && memcmp(a->root, b->root, VL_HASH_SIZE) == 0 &&
	       strcmp(a->origin, b->origin) == 0;
}

static int run(const struct cli_command *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{"vkey", required_argument, NULL, 'k'},
		{"since", required_argument, NULL, 's'},
		{"receipt", required_argument, NULL, 'r'},
		{"entry", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *target = NULL, *vkey_arg = NULL, *since_file = NULL;
	const char *receipt_file = NULL, *entry_file = NULL;
	char *since = NULL, *receipt = NULL, *entry = NULL;
	size_t since_len = 0, receipt_len = 0, entry_len = 0;
	vl_verifier *vkey = NULL;
	vl_verify_options opt = {0};
	vl_checkpoint tree_cp, receipt_cp;
	uint64_t index = 0;
	int c, rc, code;

	while ((c = getopt_long(argc, argv, ":k:s:r:e:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			vkey_arg = optarg;
			break;
		case 's':
			since_file = optarg;
			break;
		case 'r':
			receipt_file = optarg;
			break;
		case 'e':
			entry_file = optarg;
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_bad_option(self, c, argv);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(self, "too many arguments");
	if (argc - optind == 1)
		target = argv[optind];
	if (!vkey_arg)
		return cli_usage_error(self, "missing --vkey VKEY");
	if (!receipt_file != !entry_file)
		return cli_usage_error(self, "--receipt and --entry go together");
	if (!target && !receipt_file)
		return cli_usage_error(self, "missing TARGET");
	if (!target && since_file)
		return cli_usage_error(self, "--since needs a TARGET");

	code = load_vkey(self, vkey_arg, &vkey);
	if (code != CLI_EXIT_OK)
		return code;
	opt.vkey = vkey;

	if (since_file) {
		rc = cli_read_file(since_file, VL_NOTE_MAX, &since, &since_len);
		if (rc < 0) {
			cli_error(self->name, rc, NULL, "cannot read checkpoint file %s", since_file);
			code = CLI_EXIT_RUNTIME;
			goto done;
		}
	}
	if (receipt_file) {
		rc = cli_read_file(receipt_file, RECEIPT_MAX, &receipt, &receipt_len);
		if (rc < 0) {
			cli_error(self->name, rc, NULL, "cannot read receipt %s", receipt_file);
			code = CLI_EXIT_RUNTIME;
			goto done;
		}
		rc = cli_read_file(entry_file, VL_ENTRY_MAX, &entry, &entry_len);
		if (rc == VL_ETOOBIG) {
			cli_fail(self->name, "entry %s is larger than %d bytes, so no receipt can "
			                     "cover it", entry_file, VL_ENTRY_MAX);
			code = CLI_EXIT_FAILED;
			goto done;
		}
		if (rc < 0) {
			cli_error(self->name, rc, NULL, "cannot read entry %s", entry_file);
			code = CLI_EXIT_RUNTIME;
			goto done;
		}
		/* Checked first: it is cheap, and it needs nothing but the key. */
		rc = vl_receipt_verify(receipt, receipt_len, (const uint8_t *)entry, entry_len,
		                       vkey, &receipt_cp, &index);
		if (rc < 0) {
			cli_error(self->name, rc, NULL, "receipt %s does not prove entry %s",
			          receipt_file, entry_file);
			code = verify_exit_code(rc);
			goto done;
		}
	}

	if (target) {
		if (since) {
			opt.since_note = since;
			opt.since_len = since_len;
		}
		code = verify_target(self->name, target, &opt, &tree_cp);
		if (code != CLI_EXIT_OK)
			goto done;
		/* The receipt's checkpoint must be part of TARGET's history, else
		 * the receipt proves inclusion in some other, forked tree. */
		if (receipt && !same_checkpoint(&tree_cp, &receipt_cp)) {
			uint8_t proof[VL_PROOF_MAX][VL_HASH_SIZE];
			size_t n_proof;
			const char *note;
			size_t note_len;
			uint64_t ignored;

			rc = vl_receipt_parse(receipt, receipt_len, &ignored, proof, &n_proof, &note,
			                      &note_len);
			if (rc < 0) {
				cli_error(self->name, rc, NULL, "cannot parse receipt %s", receipt_file);
				code = CLI_EXIT_FAILED;
				goto done;
			}
			opt.since_note = note;
			opt.since_len = note_len;
			code = verify_target(self->name, target, &opt, &tree_cp);
			if (code != CLI_EXIT_OK) {
				cli_fail(self->name, "the checkpoint of receipt %s is not part of %s",
				         receipt_file, target);
				goto done;
			}
		}
		print_ok(&tree_cp);
		putchar('\n');
	}
	if (receipt) {
		print_ok(&receipt_cp);
		printf(" index %llu\n", (unsigned long long)index);
	}
	code = CLI_EXIT_OK;
done:
	free(since);
	free(receipt);
	free(entry);
	vl_verifier_free(vkey);
	return code;
}

const struct cli_command cli_verify = {
	.name = "verify",
	.synopsis = "  vellum verify TARGET --vkey VKEY [--since CHECKPOINT_FILE]\n"
	            "                                      verify a log, a tree or a URL of one\n"
	            "  vellum verify [TARGET] --vkey VKEY --receipt FILE --entry FILE\n"
	            "                                      verify a receipt offline\n",
	.help = "usage: vellum verify TARGET --vkey VKEY [--since CHECKPOINT_FILE]\n"
	        "       vellum verify [TARGET] --vkey VKEY --receipt FILE --entry FILE\n"
	        "\n"
	        "Verifies TARGET with nothing but the verifier key: the checkpoint's\n"
	        "signature, every entry bundle, every hash tile and the root.  TARGET is\n"
	        "a vellum log directory (its WAL is checked too, entry by entry), a static\n"
	        "c2sp.org/tlog-tiles directory such as `vellum export` writes, or an\n"
	        "http:// or https:// URL of one.  On success prints\n"
	        "  OK <origin> <size> <root base64>\n"
	        "and exits 0; otherwise names the first failure on stderr and exits 1.\n"
	        "\n"
	        "With --receipt and --entry, checks a c2sp.org/tlog-proof receipt for the\n"
	        "exact bytes of the entry file, offline, and prints\n"
	        "  OK <origin> <size> <root base64> index <INDEX>\n"
	        "With a TARGET as well, the receipt's checkpoint must also be part of\n"
	        "TARGET's verified history.\n"
	        "\n"
	        "Options:\n"
	        "  -k, --vkey VKEY           the trusted verifier key: a file holding it, or\n"
	        "                            the key string itself\n"
	        "  -s, --since FILE          a signed checkpoint seen earlier; TARGET must\n"
	        "                            extend it (detects rollback and forks)\n"
	        "  -r, --receipt FILE        a receipt from `vellum prove LOGDIR INDEX`\n"
	        "  -e, --entry FILE          the entry's exact bytes ('-' for stdin)\n"
	        "  -h, --help                print this usage\n",
	.run = run,
};
