/*
 * util.c — small helpers the parts of `vellum chaos run` share (util.h).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

double vc_mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void vc_appendf(char *buf, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(buf);
	if (n + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, cap - n, fmt, ap);
	va_end(ap);
}

int vc_mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void vc_rm_rf(const char *path)
{
	(void)nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

size_t vc_put_str(char *out, const char *s)
{
	size_t n = strlen(s);
	memcpy(out, s, n);
	return n;
}

size_t vc_put_u64(char *out, uint64_t v)
{
	char d[20];
	size_t n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	for (size_t i = 0; i < n; i++)
		out[i] = d[n - 1 - i];
	return n;
}

size_t vc_put_hex(char *out, size_t n, uint64_t (*next)(void *arg), void *arg)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (i % 16 == 0)
			w = next(arg);
		out[i] = hex[(w >> 60) & 15];
		w <<= 4;
	}
	return n;
}

int vc_eat(const char *buf, size_t len, size_t *p, const char *lit)
{
	size_t n = strlen(lit);
	if (len - *p < n || memcmp(buf + *p, lit, n) != 0)
		return 0;
	*p += n;
	return 1;
}

int vc_eat_u64(const char *buf, size_t len, size_t *p, uint64_t *out)
{
	size_t i = *p;
	uint64_t v = 0;
	if (i >= len || buf[i] < '0' || buf[i] > '9')
		return 0;
	if (buf[i] == '0') {
		i++;
	} else {
		while (i < len && buf[i] >= '0' && buf[i] <= '9') {
			uint64_t d = (uint64_t)(buf[i] - '0');
			if (v > (UINT64_MAX - d) / 10)
				return 0;
			v = v * 10 + d;
			i++;
		}
	}
	if (i < len && buf[i] >= '0' && buf[i] <= '9')
		return 0; /* a leading zero */
	*p = i;
	*out = v;
	return 1;
}

int vc_eat_hex(const char *buf, size_t len, size_t *p, size_t min, size_t max)
{
	size_t i = *p;
	while (i < len && ((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f')))
		i++;
	if (i - *p < min || i - *p > max)
		return 0;
	*p = i;
	return 1;
}
