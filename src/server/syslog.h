/*
 * syslog.h — syslog over streams and datagrams: RFC 6587 framing of a TCP
 * or TLS byte stream into messages, and parsing of one message as RFC 5424
 * or RFC 3164.  Pure functions on memory: no sockets, no threads.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VS_SERVER_SYSLOG_H
#define VS_SERVER_SYSLOG_H

#include <stddef.h>
#include <stdint.h>

/* Default largest message: with vellum's envelope it fits a 65535-byte
 * entry. */
#define VS_SYSLOG_MAX_DEFAULT 65000
/* Largest max_message a framer or listener accepts (16 MiB). */
#define VS_SYSLOG_MAX_LIMIT (16u << 20)

/* Results of vs_syslog_feed (and vs_syslog_parse's -1). */
enum {
	VS_SYSLOG_OK = 0,
	VS_SYSLOG_EPARSE = -1,    /* not an RFC 5424 or RFC 3164 message */
	VS_SYSLOG_EFRAMING = -2,  /* bad MSG-LEN, or a byte that starts no message */
	VS_SYSLOG_EOVERSIZE = -3, /* a message longer than the framer's maximum */
	VS_SYSLOG_ESTOPPED = -4,  /* the message callback asked to stop */
	VS_SYSLOG_ENOMEM = -5,    /* out of memory buffering a message */
};

/*
 * Incremental RFC 6587 framer for one stream.  Each message's framing is
 * chosen by its first byte: '1'..'9' starts octet counting
 * ("MSG-LEN SP SYSLOG-MSG", MSG-LEN decimal without a leading zero, at most
 * max), '<' starts non-transparent framing (the message ends at LF).  CR,
 * LF and NUL bytes between messages are skipped, and trailing CR, LF and
 * NUL bytes are never part of a delivered message (so "msg\r\n" delivers
 * "msg").  Any other first byte, or a MSG-LEN that is not digits followed
 * by SP, is VS_SYSLOG_EFRAMING; a MSG-LEN above max or an LF-framed
 * message longer than max is VS_SYSLOG_EOVERSIZE.  Errors are sticky: the
 * stream's framing is lost and every later feed returns the same error.
 */
typedef struct vs_syslog_framer {
	size_t max;       /* largest message delivered */
	int state;        /* internal */
	int error;        /* the sticky error, or 0 */
	size_t want;      /* octet counting: MSG-LEN, then bytes still to come */
	uint64_t pos;     /* bytes of the stream consumed so far */
	uint64_t start;   /* stream offset of the current message */
	uint8_t *buf;     /* a partial message */
	size_t len, cap;  /* bytes in buf, bytes allocated */
	char err[160];    /* what the sticky error was */
} vs_syslog_framer;

/* Called for every complete message; msg is valid only during the call.
 * Return 0 to go on, non-zero to stop (vs_syslog_feed then returns
 * VS_SYSLOG_ESTOPPED and the framer is unusable). */
typedef int (*vs_syslog_frame_cb)(void *ctx, const uint8_t *msg, size_t len);

/* max_message 0 means VS_SYSLOG_MAX_DEFAULT.  Returns 0, or -1 if
 * max_message exceeds VS_SYSLOG_MAX_LIMIT.  Allocates nothing; the buffer
 * grows as partial messages need it. */
int vs_syslog_framer_init(vs_syslog_framer *fr, size_t max_message);
void vs_syslog_framer_free(vs_syslog_framer *fr);

/*
 * Feed len bytes of the stream (any chunking gives the same messages),
 * calling cb for each message completed.  Returns VS_SYSLOG_OK or one of
 * the negative VS_SYSLOG_E* values; on error, a message naming the
 * stream offset is written to err (if err is not NULL).
 */
int vs_syslog_feed(vs_syslog_framer *fr, const uint8_t *data, size_t len, vs_syslog_frame_cb cb,
                   void *ctx, char *err, size_t errcap);

/* Bytes of a message begun but not completed: non-zero at the end of a
 * stream means the peer closed it inside a message. */
size_t vs_syslog_framer_pending(const vs_syslog_framer *fr);

/* len without trailing CR, LF and NUL bytes. */
size_t vs_syslog_trim(const uint8_t *msg, size_t len);

enum {
	VS_SYSLOG_RFC3164 = 3164,
	VS_SYSLOG_RFC5424 = 5424,
};

/* A field of a message: bytes msg[off, off+len).  len 0 means the field
 * is absent or NILVALUE ("-"); off then still points where it would be. */
typedef struct vs_syslog_span {
	size_t off, len;
} vs_syslog_span;

typedef struct vs_syslog_msg {
	int format;   /* VS_SYSLOG_RFC5424 or VS_SYSLOG_RFC3164 */
	int pri;      /* 0..191 */
	int facility; /* pri / 8 */
	int severity; /* pri % 8 */
	int version;  /* 1 for RFC 5424, 0 for RFC 3164 */
	int bom;      /* RFC 5424: MSG starts with a UTF-8 BOM (kept in msg) */
	vs_syslog_span timestamp, hostname, app_name, procid, msgid, sd, msg;
} vs_syslog_msg;

/*
 * Parse one message (without framing or trailer).  Returns 0, or -1 with
 * an error naming the byte offset written to err (when err is not NULL).
 *
 * "<PRI>" (PRI 0..191, no leading zero) is required.  If a VERSION
 * ("1".."999" and SP) follows, the message is RFC 5424 and held to its
 * ABNF: VERSION 1; TIMESTAMP an RFC 3339 date-time as RFC 5424 restricts it
 * (upper-case 'T' and 'Z', at most 6 fraction digits, no leap second) or
 * "-"; HOSTNAME, APP-NAME, PROCID and MSGID printable US-ASCII of at most
 * 255, 48, 128 and 32 bytes, or "-"; STRUCTURED-DATA "-" or SD-ELEMENTs
 * with SD-NAMEs of 1..32 printable US-ASCII bytes but '=', ' ', ']' and
 * '"', and PARAM-VALUEs in which '"' and ']' appear only escaped; then
 * nothing, or SP and a MSG of any bytes.  (Unknown escapes such as "\n"
 * stand for themselves, as RFC 5424 §6.3.3 says; neither SD-ID uniqueness
 * nor UTF-8 is checked: the bytes are recorded as received.)
 *
 * Otherwise it is RFC 3164, read as leniently as real senders need:
 * an optional TIMESTAMP ("Mmm dd hh:mm:ss", day space- or zero-padded, or
 * an RFC 3339 date-time), then if there was one an optional HOSTNAME and an
 * optional TAG ("name:", "name[pid]:" or "name[pid]"), the rest being MSG.
 * Without a timestamp everything after PRI is MSG.
 */
int vs_syslog_parse(const uint8_t *msg, size_t len, vs_syslog_msg *out, char *err, size_t errcap);

#endif
