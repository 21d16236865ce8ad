#ifndef TESTS_STUB_SERVER_H
#define TESTS_STUB_SERVER_H

#include <stddef.h>

/*
 * A scripted HTTP/1.1 server on 127.0.0.1 for unit tests of the HTTP
 * client: each connection gets the next reply of the script (the last one
 * repeats), then the connection closes. It records every request (head and
 * body) so a test can assert what was sent.
 */
struct stub_reply {
	int status;
	const char *headers;  /* extra header lines, each ending "\r\n" */
	const char *body;
	int drop;             /* close the connection without answering */
	int cut_body;         /* announce the body, send half, close */
};

struct stub_server;

struct stub_server *stub_start(const struct stub_reply *script, size_t n);
/* "http://127.0.0.1:<port>" */
const char *stub_url(const struct stub_server *s);
size_t stub_count(struct stub_server *s);
/* The i-th request's head ("PUT /x HTTP/1.1\r\n...") and body; borrowed. */
const char *stub_head(struct stub_server *s, size_t i);
const char *stub_body(struct stub_server *s, size_t i, size_t *len);
void stub_stop(struct stub_server *s);

#endif
