/*
 * forward.c — POSTing forward bodies with libcurl (forward.h).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "forward.h"
#include "vellum.h"

#define ANSWER_MAX (64u << 10)

struct va_forwarder {
	CURL *curl;
	struct curl_slist *headers;
	char *url;
	char answer[ANSWER_MAX + 1];
	size_t answer_len;
	uint64_t retry_after_ms;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct va_forwarder *f = arg;
	size_t n = size * nmemb, room = ANSWER_MAX - f->answer_len;
	memcpy(f->answer + f->answer_len, ptr, n < room ? n : room);
	f->answer_len += n < room ? n : room;
	return n; /* the rest of an oversized answer is read and ignored */
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct va_forwarder *f = arg;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	if (n > sizeof name - 1 && strncasecmp(ptr, name, sizeof name - 1) == 0) {
		char v[32];
		size_t i = sizeof name - 1, o = 0;
		while (i < n && (ptr[i] == ' ' || ptr[i] == '\t'))
			i++;
		while (i < n && o + 1 < sizeof v && ptr[i] >= '0' && ptr[i] <= '9')
			v[o++] = ptr[i++];
		v[o] = '\0';
		if (o > 0 && o < 9)
			f->retry_after_ms = strtoull(v, NULL, 10) * 1000;
	}
	return n;
}

int va_forwarder_open(const char *url, const char *log, const char *token,
                      const char *agent_id, long timeout_s, va_forwarder **out, char *err,
                      size_t errcap)
{
	*out = NULL;
	const int https = strncmp(url, "https://", 8) == 0;
	if (!https && strncmp(url, "http://", 7) != 0) {
		snprintf(err, errcap, "--server %s: expected an http:// or https:// URL", url);
		return VL_EINVAL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errcap, "libcurl failed to initialise");
		return VL_ENOMEM;
	}
	va_forwarder *f = calloc(1, sizeof *f);
	size_t ulen = strlen(url);
	while (ulen > 0 && url[ulen - 1] == '/')
		ulen--;
	char *auth = NULL, *agent = NULL;
	if (!f || asprintf(&f->url, "%.*s/v1/logs/%s/forward", (int)ulen, url, log) < 0 ||
	    asprintf(&auth, "Authorization: Bearer %s", token) < 0 ||
	    asprintf(&agent, "Vellum-Agent: %s", agent_id) < 0) {
		free(auth);
		if (f)
			free(f->url);
		free(f);
		curl_global_cleanup();
		snprintf(err, errcap, "out of memory");
		return VL_ENOMEM;
	}
	struct curl_slist *h = NULL, *t;
	const char *lines[] = {auth, "Content-Type: " VA_FORWARD_CONTENT_TYPE, agent,
	                       "Expect:" /* no 100-continue round trip */};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		t = curl_slist_append(h, lines[i]);
		if (!t)
			break;
		h = t;
	}
	explicit_bzero(auth, strlen(auth));
	free(auth);
	free(agent);
	f->headers = h;
	f->curl = curl_easy_init();
	if (!f->curl || !h) {
		va_forwarder_close(f);
		snprintf(err, errcap, "out of memory");
		return VL_ENOMEM;
	}
	CURL *c = f->curl;
	curl_easy_setopt(c, CURLOPT_URL, f->url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, f->headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s < 10 ? timeout_s : 10L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vellum-agent/" VL_VERSION_STRING);
	/* As curl(1) and `vellum verify` do: a CA bundle named in the
	 * environment. */
	const char *ca = getenv("CURL_CA_BUNDLE") ? getenv("CURL_CA_BUNDLE") : getenv("SSL_CERT_FILE");
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, https ? "https" : "http");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, https ? CURLPROTO_HTTPS : CURLPROTO_HTTP);
#endif
	*out = f;
	return 0;
}

int va_forwarder_post(va_forwarder *f, const uint8_t *body, size_t len, va_fwd_result *r)
{
	memset(r, 0, sizeof *r);
	f->answer_len = 0;
	f->retry_after_ms = 0;
	f->errbuf[0] = '\0';
	curl_easy_setopt(f->curl, CURLOPT_POSTFIELDS, (const char *)body);
	curl_easy_setopt(f->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	CURLcode res = curl_easy_perform(f->curl);
	f->answer[f->answer_len] = '\0';
	if (res != CURLE_OK) {
		r->retryable = 1;
		snprintf(r->code, sizeof r->code, "%s",
		         res == CURLE_OPERATION_TIMEDOUT ? "timeout"
		         : res == CURLE_COULDNT_CONNECT  ? "connect_failed"
		                                         : "transport");
		snprintf(r->error, sizeof r->error, "%s",
		         f->errbuf[0] ? f->errbuf : curl_easy_strerror(res));
		return 0;
	}
	curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &r->status);
	r->retry_after_ms = f->retry_after_ms;
	if (r->status >= 200 && r->status < 300) {
		r->ok = 1;
		r->reply_ok = va_reply_parse(f->answer, f->answer_len, &r->reply) == 0;
		return 0;
	}
	r->retryable = va_status_retryable(r->status);
	char msg[400];
	va_reply_error(f->answer, f->answer_len, r->code, sizeof r->code, msg, sizeof msg);
	if (!r->code[0])
		snprintf(r->code, sizeof r->code, "http_%ld", r->status);
	snprintf(r->error, sizeof r->error, "HTTP %ld%s%s", r->status, msg[0] ? ": " : "", msg);
	return 0;
}

void va_forwarder_close(va_forwarder *f)
{
	if (!f)
		return;
	if (f->curl)
		curl_easy_cleanup(f->curl);
	curl_slist_free_all(f->headers);
	free(f->url);
	free(f);
	curl_global_cleanup();
}

const char *va_forwarder_url(const va_forwarder *f)
{
	return f->url;
}
