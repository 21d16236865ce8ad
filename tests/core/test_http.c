#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdlib.h>

#include <criterion/criterion.h>

#include "core/http.h"
#include "core/log.h"
#include "support/check.h"
#include "support/stub_server.h"

/* Fast retries: the behaviour is under test, not the waiting. */
static const struct http_options fast = {
	.connect_timeout_ms = 2000, .attempt_timeout_ms = 5000, .max_attempts = 4,
	.retry_base_ms = 1, .retry_max_delay_ms = 5, .retry_budget_ms = 1000,
};

static struct http_client *client(const struct http_options *o)
{
	struct http_client *c = NULL;

	cr_assert_ok(http_client_new(&c, o));
	return c;
}

static int get(struct http_client *c, const char *url, struct http_response *r)
{
	struct http_request req = { .method = "GET", .url = url };

	return http_send(c, &req, r);
}

Test(http, retries_a_503_then_returns_the_success)
{
	struct stub_reply script[] = { { .status = 503 }, { .status = 200, .body = "ok" } };
	struct stub_server *s = stub_start(script, 2);
	struct http_client *c = client(&fast);
	struct http_response r = HTTP_RESPONSE_INIT;

	cr_assert_ok(get(c, stub_url(s), &r));
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body.data, "ok");
	cr_assert_eq(r.attempts, 2);
	cr_assert_eq(stub_count(s), 2);
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

Test(http, honours_retry_after_on_429)
{
	struct stub_reply script[] = {
		{ .status = 429, .headers = "Retry-After: 0\r\n" },
		{ .status = 200, .body = "{}" },
	};
	struct stub_server *s = stub_start(script, 2);
	struct http_client *c = client(&fast);
	struct http_response r = HTTP_RESPONSE_INIT;

	cr_assert_ok(get(c, stub_url(s), &r));
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.attempts, 2);
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

Test(http, gives_up_when_retry_after_exceeds_the_budget)
{
	struct stub_reply script[] = { { .status = 429, .headers = "Retry-After: 3600\r\n" } };
	struct stub_server *s = stub_start(script, 1);
	struct http_options o = fast;
	struct http_client *c;
	struct http_response r = HTTP_RESPONSE_INIT;

	o.retry_max_delay_ms = 100000;
	o.retry_budget_ms = 50;
	c = client(&o);
	cr_assert_ok(get(c, stub_url(s), &r));
	cr_assert_eq(r.status, 429);
	cr_assert_eq(r.attempts, 1);
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

Test(http, recovers_from_a_dropped_connection_and_a_cut_body)
{
	struct stub_reply script[] = {
		{ .drop = 1 },
		{ .status = 200, .body = "a body that is cut in the middle", .cut_body = 1 },
		{ .status = 200, .body = "whole" },
	};
	struct stub_server *s = stub_start(script, 3);
	struct http_client *c = client(&fast);
	struct http_response r = HTTP_RESPONSE_INIT;

	cr_assert_ok(get(c, stub_url(s), &r));
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body.data, "whole");
	cr_assert_eq(r.attempts, 3);
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

Test(http, does_not_retry_a_client_error)
{
	struct stub_reply script[] = { { .status = 400, .body = "{\"error\":{}}" } };
	struct stub_server *s = stub_start(script, 1);
	struct http_client *c = client(&fast);
	struct http_response r = HTTP_RESPONSE_INIT;

	cr_assert_ok(get(c, stub_url(s), &r));
	cr_assert_eq(r.status, 400);
	cr_assert_eq(stub_count(s), 1);
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

Test(http, returns_the_last_answer_after_max_attempts)
{
	struct stub_reply script[] = { { .status = 500 } };
	struct stub_server *s = stub_start(script, 1);
	struct http_client *c = client(&fast);
	struct http_response r = HTTP_RESPONSE_INIT;

	cr_assert_ok(get(c, stub_url(s), &r));
	cr_assert_eq(r.status, 500);
	cr_assert_eq(stub_count(s), 4);
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

Test(http, caps_the_response_body)
{
	struct stub_reply script[] = { { .status = 200, .body = "0123456789abcdef" } };
	struct stub_server *s = stub_start(script, 1);
	struct http_client *c = client(&fast);
	struct http_response r = HTTP_RESPONSE_INIT;
	struct http_request req = { .method = "GET", .url = stub_url(s), .max_response = 8 };

	cr_assert_fails(http_send(c, &req, &r), ERR_HTTP, "larger than 8 bytes");
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

Test(http, streams_a_file_slice_as_the_body_and_resends_it_on_retry)
{
	struct stub_reply script[] = { { .status = 503 }, { .status = 201 } };
	struct stub_server *s = stub_start(script, 2);
	struct http_client *c = client(&fast);
	struct http_response r = HTTP_RESPONSE_INIT;
	char path[] = "/tmp/http-body-XXXXXX";
	const char *body;
	size_t len;
	int fd = mkstemp(path);
	struct http_request req = {
		.method = "PUT", .body_file = path, .file_offset = 4, .file_length = 6,
	};

	cr_assert(write(fd, "skipSLICE!rest", 14) == 14);
	close(fd);
	req.url = stub_url(s);
	cr_assert_ok(http_send(c, &req, &r));
	cr_assert_eq(r.status, 201);
	body = stub_body(s, 1, &len);
	cr_assert_eq(len, 6);
	cr_assert(!memcmp(body, "SLICE!", 6));
	cr_assert(strstr(stub_head(s, 1), "PUT / HTTP/1.1") != NULL);
	unlink(path);
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

Test(http, sends_post_bodies_and_headers)
{
	struct stub_reply script[] = { { .status = 200, .body = "{}" } };
	struct stub_server *s = stub_start(script, 1);
	struct http_client *c = client(&fast);
	struct http_response r = HTTP_RESPONSE_INIT;
	const char *headers[] = { "Content-Type: application/json", NULL };
	struct http_request req = { .method = "POST", .headers = headers, .body = "{\"a\":1}", .body_len = 7 };
	size_t len;

	req.url = stub_url(s);
	cr_assert_ok(http_send(c, &req, &r));
	cr_assert(strstr(stub_head(s, 0), "POST / HTTP/1.1") != NULL);
	cr_assert(strstr(stub_head(s, 0), "Content-Type: application/json") != NULL);
	cr_assert(!memcmp(stub_body(s, 0, &len), "{\"a\":1}", 7));
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

Test(http, no_answer_is_a_network_error_without_the_query_string)
{
	struct stub_reply script[] = { { .status = 200 } };
	struct stub_server *s = stub_start(script, 1);
	struct buf url = BUF_INIT;
	struct http_client *c = client(&fast);
	struct http_response r = HTTP_RESPONSE_INIT;

	/* A port that was just free: start a server, note its URL, stop it. */
	buf_addf(&url, "%s/path?sig=SECRET", stub_url(s));
	stub_stop(s);
	cr_assert_fails(get(c, url.data, &r), ERR_NETWORK, "/path");
	cr_assert_null(strstr(error_message(), "SECRET"));
	buf_release(&url);
	http_response_release(&r);
	http_client_free(c);
}

Test(http, reads_headers_case_insensitively)
{
	struct stub_reply script[] = { { .status = 201, .headers = "Azure-AsyncOperation:  https://x/op?a=1 \r\n" } };
	struct stub_server *s = stub_start(script, 1);
	struct http_client *c = client(&fast);
	struct http_response r = HTTP_RESPONSE_INIT;
	struct buf v = BUF_INIT;

	cr_assert_ok(get(c, stub_url(s), &r));
	cr_assert_ok(http_header(&r, "azure-asyncoperation", &v));
	cr_assert_str_eq(v.data, "https://x/op?a=1");
	cr_assert_eq(http_header(&r, "Location", &v), ERR_NOT_FOUND);
	buf_release(&v);
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

Test(http, retry_after_accepts_seconds_and_http_dates)
{
	cr_assert_eq(http_retry_after_ms("7", 0), 7000);
	cr_assert_eq(http_retry_after_ms(" 0", 0), 0);
	cr_assert_eq(http_retry_after_ms("Thu, 01 Jan 1970 00:00:30 GMT", 10), 20000);
	cr_assert_eq(http_retry_after_ms("Thu, 01 Jan 1970 00:00:30 GMT", 60), 0);
	cr_assert_eq(http_retry_after_ms("soon", 0), -1);
	cr_assert_eq(http_retry_after_ms(NULL, 0), -1);
}

Test(http, backoff_grows_and_stays_within_bounds)
{
	struct http_options o = { .retry_base_ms = 100, .retry_max_delay_ms = 1000 };
	int attempt, i;

	for (attempt = 1; attempt <= 8; attempt++) {
		long ceiling = 100L << (attempt - 1);
		if (ceiling > 1000)
			ceiling = 1000;
		for (i = 0; i < 20; i++) {
			long d = http_backoff_ms(&o, attempt);
			cr_assert(d >= ceiling / 2 && d <= ceiling, "attempt %d: %ld", attempt, d);
		}
	}
}

Test(http, status_errors_map_to_codes)
{
	struct http_response r = HTTP_RESPONSE_INIT;

	r.status = 404;
	cr_assert_fails(http_status_error(&r, "GET", "https://h/p?x=SECRET", "gone"), ERR_NOT_FOUND,
			"GET https://h/p: HTTP 404: gone");
	r.status = 403;
	cr_assert_eq(http_status_error(&r, "GET", "https://h/p", NULL), ERR_AUTH);
	r.status = 409;
	cr_assert_eq(http_status_error(&r, "GET", "https://h/p", NULL), ERR_CONFLICT);
	r.status = 502;
	cr_assert_eq(http_status_error(&r, "GET", "https://h/p", NULL), ERR_HTTP);
}

/* The one rule every client follows (core/http.h says why for each). */
Test(http, each_failed_status_has_one_code)
{
	static const struct { long status; int code; } cases[] = {
		{ 400, ERR_HTTP }, { 401, ERR_AUTH }, { 403, ERR_AUTH }, { 404, ERR_NOT_FOUND },
		{ 405, ERR_HTTP }, { 408, ERR_HTTP }, { 409, ERR_CONFLICT }, { 410, ERR_HTTP },
		{ 412, ERR_CONFLICT }, { 416, ERR_HTTP }, { 429, ERR_HTTP }, { 500, ERR_HTTP },
		{ 502, ERR_HTTP }, { 503, ERR_HTTP }, { 504, ERR_HTTP }, { 301, ERR_HTTP },
		{ 0, ERR_HTTP },
	};
	struct http_response r = HTTP_RESPONSE_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(http_status_code(cases[i].status), cases[i].code, "HTTP %ld: %s",
			     cases[i].status, error_name(http_status_code(cases[i].status)));
		r.status = cases[i].status;
		cr_assert_eq(http_status_error(&r, "PUT", "https://h/p", NULL), cases[i].code,
			     "http_status_error follows the rule for HTTP %ld", cases[i].status);
		cr_assert_eq(error_last(), cases[i].code);
	}
}

static struct buf logged;
static void capture(enum log_level level, const char *text, void *ctx)
{
	(void)level;
	(void)ctx;
	buf_addstr(&logged, text);
	buf_addch(&logged, '\n');
}

Test(http, debug_log_has_method_url_status_but_no_query_or_authorization)
{
	struct stub_reply script[] = { { .status = 200 } };
	struct stub_server *s = stub_start(script, 1);
	struct http_client *c = client(&fast);
	struct http_response r = HTTP_RESPONSE_INIT;
	const char *headers[] = { "Authorization: Bearer TOKENVALUE", NULL };
	struct http_request req = { .method = "GET", .headers = headers };
	struct log_sink sink = { capture, NULL, NULL };
	struct buf url = BUF_INIT;

	buf_addf(&url, "%s/thing?sig=SECRET", stub_url(s));
	req.url = url.data;
	log_set_sink(&sink);
	log_set_debug(1);
	cr_assert_ok(http_send(c, &req, &r));
	log_set_sink(NULL);
	cr_assert(strstr(logged.data, "HTTP GET") && strstr(logged.data, "/thing -> 200"),
		  "log: %s", logged.data);
	cr_assert_null(strstr(logged.data, "SECRET"));
	cr_assert_null(strstr(logged.data, "TOKENVALUE"));
	buf_release(&logged);
	buf_release(&url);
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

Test(http, a_request_can_bypass_the_proxy)
{
	struct stub_reply script[] = { { .status = 200, .body = "direct" } };
	struct stub_server *s = stub_start(script, 1);
	struct http_client *c;
	struct http_response r = HTTP_RESPONSE_INIT;
	struct http_request req = { .method = "GET", .no_proxy = 1, .connect_timeout_ms = 500 };

	/* A proxy that does not exist: only a direct request can succeed. */
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	c = client(&fast);
	req.url = stub_url(s);
	cr_assert_ok(http_send(c, &req, &r));
	cr_assert_str_eq(r.body.data, "direct");
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

/* A server that takes the connection (the kernel's backlog does) and never
 * answers: the stalled response of a hung load balancer. */
static int silent_listener(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Without a low-speed limit this waits for the whole attempt timeout (five
 * minutes by default), once per attempt. */
Test(http, a_stalled_response_times_out_and_is_retried, .timeout = 30)
{
	struct http_options o = { .stall_timeout_ms = 1000, .max_attempts = 2, .retry_base_ms = 1,
				  .retry_max_delay_ms = 5 };
	struct http_client *c = client(&o);
	struct http_response r = HTTP_RESPONSE_INIT;
	char url[64];
	int port, fd = silent_listener(&port);
	time_t start = time(NULL);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/stalls", port);
	cr_assert_fails(get(c, url, &r), ERR_TIMEOUT, "GET http://127.0.0.1");
	cr_assert_eq(r.attempts, 2, "a timed out attempt is retried like a network error");
	cr_assert_lt(time(NULL) - start, 15);
	http_response_release(&r);
	http_client_free(c);
	close(fd);
}

Test(http, every_request_has_a_total_cap_that_grows_with_its_body)
{
	struct http_options o = { 0 };
	struct http_client *c = client(&o);
	const struct http_options *d = http_client_options(c);
	struct http_request json = { .method = "GET", .url = "https://x/" };
	struct http_request block = { .method = "PUT", .url = "https://x/", .body_file = "f",
				      .file_length = 100u << 20 };
	struct http_request download = { .method = "GET", .url = "https://x/" };
	struct http_request own = { .method = "GET", .url = "https://x/", .timeout_ms = 1234 };

	download.sink = (int (*)(const void *, size_t, void *))1;
	cr_assert_gt(d->stall_timeout_ms, 0, "a low-speed limit is always on");
	cr_assert_gt(http_attempt_timeout_ms(d, &json), 0);
	cr_assert_leq(http_attempt_timeout_ms(d, &json), 180000, "small calls end within minutes");
	cr_assert_gt(http_attempt_timeout_ms(d, &block), http_attempt_timeout_ms(d, &json),
		     "a 100 MiB upload gets more time than a JSON call");
	cr_assert_gt(http_attempt_timeout_ms(d, &download), http_attempt_timeout_ms(d, &json));
	cr_assert_eq(http_attempt_timeout_ms(d, &own), 1234);
	http_client_free(c);
}

/* A proxy that refuses the tunnel (403 to CONNECT) will refuse it again:
 * one attempt, and the message says the proxy refused. */
Test(http, a_proxy_refusing_the_tunnel_is_final)
{
	struct stub_reply script[] = { { .status = 403, .body = "no" } };
	struct stub_server *s = stub_start(script, 1);
	struct http_client *c;
	struct http_response r = HTTP_RESPONSE_INIT;

	setenv("https_proxy", stub_url(s), 1);
	setenv("HTTPS_PROXY", stub_url(s), 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	c = client(&fast);
	cr_assert_fails(get(c, "https://refused.example.invalid/x?sig=S", &r), ERR_NETWORK, "403");
	cr_assert_null(strstr(error_message(), "sig=S"));
	cr_assert_eq(stub_count(s), 1, "the refused CONNECT was sent %zu times", stub_count(s));
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

/* A proxy that cannot reach the host (502) or is overloaded (503) may
 * manage it on the next try: that is retried, unlike a refusal. */
Test(http, a_proxy_failing_the_tunnel_with_a_5xx_is_retried)
{
	struct stub_reply script[] = { { .status = 503, .body = "busy" }, { .status = 502, .body = "no route" } };
	struct stub_server *s = stub_start(script, 2);
	struct http_client *c;
	struct http_response r = HTTP_RESPONSE_INIT;

	setenv("https_proxy", stub_url(s), 1);
	setenv("HTTPS_PROXY", stub_url(s), 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	c = client(&fast);
	cr_assert_fails(get(c, "https://busy.example.invalid/x", &r), ERR_NETWORK, "busy.example.invalid");
	cr_assert_gt(stub_count(s), 1, "a CONNECT answered 503 was not tried again");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	http_response_release(&r);
	http_client_free(c);
	stub_stop(s);
}

/* The stopping program's last call: bounded by the deadline, not by the
 * stall limit or the retries, and sent although the stop flag is up. */
Test(http, a_deadline_bounds_a_call_and_lets_it_out_past_the_stop_flag, .timeout = 30)
{
	static volatile sig_atomic_t stop = 1;
	struct http_client *c = client(NULL);
	struct http_response r = HTTP_RESPONSE_INIT;
	char url[64];
	int port, fd = silent_listener(&port);
	time_t start = time(NULL);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/cancel", port);
	http_client_set_stop(c, &stop);
	cr_assert_fails(get(c, url, &r), ERR_CANCELLED, "stopped");
	http_client_set_deadline(c, 1500);
	cr_assert_fails(get(c, url, &r), ERR_TIMEOUT, "GET http://127.0.0.1");
	cr_assert_lt(time(NULL) - start, 5, "the deadline ended the call");
	http_client_set_deadline(c, 0);
	cr_assert_fails(get(c, url, &r), ERR_CANCELLED, "stopped");
	http_response_release(&r);
	http_client_free(c);
	close(fd);
}

static volatile sig_atomic_t alarm_stop;

static void on_alarm(int sig)
{
	alarm_stop = sig;
}

/* A signal arriving while a response stalls ends the call within a second
 * or so, not after the stall limit or the retries. */
Test(http, the_stop_flag_cuts_a_transfer_in_flight, .timeout = 20)
{
	struct http_client *c = client(NULL);
	struct http_response r = HTTP_RESPONSE_INIT;
	struct sigaction sa;
	char url[64];
	int port, fd = silent_listener(&port);
	time_t start = time(NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/poll", port);
	http_client_set_stop(c, &alarm_stop);
	alarm(1);
	cr_assert_fails(get(c, url, &r), ERR_CANCELLED, "stopped");
	cr_assert_lt(time(NULL) - start, 5);
	http_response_release(&r);
	http_client_free(c);
	close(fd);
}
