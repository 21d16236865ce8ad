#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "core/fs.h"
#include "core/http_multi.h"
#include "support/check.h"
#include "support/stub_server.h"

static const struct http_options fast = {
	.connect_timeout_ms = 2000, .attempt_timeout_ms = 5000, .max_attempts = 4,
	.retry_base_ms = 1, .retry_max_delay_ms = 5, .retry_budget_ms = 1000,
};

/* A test feed: `total` requests to `url`, the bodies from a file slice each. */
struct feed {
	const char *url;
	const char *file;
	int total, issued, ok, failed, cancelled;
	long statuses[16];
	int hold_last;       /* issue the last request only once the others are done */
	int fail_on_status;  /* done returns an error for this status */
};

static int feed_next(void *ctx, struct http_request *req, void **tag)
{
	struct feed *f = ctx;

	if (f->issued >= f->total)
		return 0;
	if (f->hold_last && f->issued == f->total - 1 && f->ok < f->total - 1)
		return 0;
	req->method = f->file ? "PUT" : "GET";
	req->url = f->url;
	if (f->file) {
		req->body_file = f->file;
		req->file_offset = (uint64_t)f->issued * 2;
		req->file_length = 2;
	}
	*tag = (void *)(intptr_t)f->issued++;
	return 1;
}

static int feed_done(void *ctx, void *tag, int result, struct http_response *resp)
{
	struct feed *f = ctx;

	if (result == HTTP_MULTI_CANCELLED) {
		f->cancelled++;
		return 0;
	}
	if (result < 0) {
		f->failed++;
		return result;
	}
	f->statuses[(intptr_t)tag] = resp->status;
	if (f->fail_on_status && resp->status == f->fail_on_status)
		return error_set(ERR_HTTP, "transfer %d answered %ld", (int)(intptr_t)tag, resp->status);
	f->ok++;
	return 0;
}

static struct http_client *client(void)
{
	struct http_client *c = NULL;

	cr_assert_ok(http_client_new(&c, &fast));
	return c;
}

Test(http_multi, runs_every_request_and_retries_each_on_its_own)
{
	struct stub_reply script[] = { { .status = 200 }, { .status = 503 }, { .status = 200, .body = "ok" } };
	struct stub_server *s = stub_start(script, 3);
	struct http_client *c = client();
	struct feed f = { .url = stub_url(s), .total = 6 };
	struct http_multi_ops ops = { feed_next, feed_done, &f, NULL };
	int i;

	cr_assert_ok(http_multi_run(c, 4, &ops));
	cr_assert_eq(f.ok, 6);
	for (i = 0; i < 6; i++)
		cr_assert_eq(f.statuses[i], 200);
	cr_assert_eq(stub_count(s), 7, "one retry");
	http_client_free(c);
	stub_stop(s);
}

Test(http_multi, streams_each_body_from_its_file_slice)
{
	struct stub_reply script[] = { { .status = 201 } };
	struct stub_server *s = stub_start(script, 1);
	struct http_client *c = client();
	char path[] = "/tmp/http-multi-XXXXXX";
	int fd = mkstemp(path);
	struct feed f = { .url = stub_url(s), .file = path, .total = 4 };
	struct http_multi_ops ops = { feed_next, feed_done, &f, NULL };
	int seen = 0;
	size_t i, len;

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_ok(fs_write_file(path, "aabbccdd", 8));
	cr_assert_ok(http_multi_run(c, 2, &ops));
	cr_assert_eq(stub_count(s), 4);
	for (i = 0; i < 4; i++) {
		const char *body = stub_body(s, i, &len);
		cr_assert_eq(len, 2);
		cr_assert_eq(body[0], body[1]);
		seen |= 1 << (body[0] - 'a');
	}
	cr_assert_eq(seen, 15, "every slice sent once");
	unlink(path);
	http_client_free(c);
	stub_stop(s);
}

Test(http_multi, asks_again_for_work_that_waits_on_other_transfers)
{
	struct stub_reply script[] = { { .status = 200 } };
	struct stub_server *s = stub_start(script, 1);
	struct http_client *c = client();
	struct feed f = { .url = stub_url(s), .total = 4, .hold_last = 1 };
	struct http_multi_ops ops = { feed_next, feed_done, &f, NULL };

	cr_assert_ok(http_multi_run(c, 8, &ops));
	cr_assert_eq(f.ok, 4);
	http_client_free(c);
	stub_stop(s);
}

Test(http_multi, the_first_failure_stops_the_run_with_its_message)
{
	struct stub_reply script[] = { { .status = 200 }, { .status = 404 }, { .status = 200 } };
	struct stub_server *s = stub_start(script, 3);
	struct http_client *c = client();
	struct feed f = { .url = stub_url(s), .total = 10, .fail_on_status = 404 };
	struct http_multi_ops ops = { feed_next, feed_done, &f, NULL };

	cr_assert_fails(http_multi_run(c, 1, &ops), ERR_HTTP, "transfer 1 answered 404");
	cr_assert_eq(f.issued, 2, "nothing issued after the failure");
	http_client_free(c);
	stub_stop(s);
}

Test(http_multi, a_dropped_connection_is_retried_and_a_dead_server_is_a_network_error)
{
	struct stub_reply script[] = { { .drop = 1 }, { .status = 200 } };
	struct stub_server *s = stub_start(script, 2);
	struct http_client *c = client();
	struct feed f = { .url = stub_url(s), .total = 1 };
	struct http_multi_ops ops = { feed_next, feed_done, &f, NULL };
	struct feed dead = { .url = "http://127.0.0.1:1/x?secret=1", .total = 2 };
	struct http_multi_ops dead_ops = { feed_next, feed_done, &dead, NULL };

	cr_assert_ok(http_multi_run(c, 2, &ops));
	cr_assert_eq(f.ok, 1);
	cr_assert_eq(stub_count(s), 2);
	cr_assert_fails(http_multi_run(c, 2, &dead_ops), ERR_NETWORK, "GET http://127.0.0.1:1/x:");
	cr_assert_null(strstr(error_message(), "secret"));
	cr_assert_eq(dead.failed + dead.cancelled, 2);
	http_client_free(c);
	stub_stop(s);
}

Test(http_multi, a_missing_body_file_is_an_io_error)
{
	struct http_client *c = client();
	struct feed f = { .url = "http://127.0.0.1:1/", .file = "/nonexistent/body", .total = 1 };
	struct http_multi_ops ops = { feed_next, feed_done, &f, NULL };

	cr_assert_fails(http_multi_run(c, 2, &ops), ERR_IO, "/nonexistent/body");
	http_client_free(c);
}

/*
 * A feed whose requests become ready only through `work`: every `per_request`
 * pieces make one more ready, as hashing a block ahead does.
 */
struct staged {
	struct feed f;
	int pieces, per_request, ready;
	int pieces_in_flight;  /* pieces done while a transfer was in flight */
	int fail_at_piece;     /* work fails on this piece (1-based) */
	int extra_after;       /* pieces still to do once everything was sent */
};

static int staged_next(void *ctx, struct http_request *req, void **tag)
{
	struct staged *st = ctx;

	if (st->f.issued >= st->ready)
		return 0;
	return feed_next(&st->f, req, tag);
}

static int staged_done(void *ctx, void *tag, int result, struct http_response *resp)
{
	return feed_done(&((struct staged *)ctx)->f, tag, result, resp);
}

static int staged_work(void *ctx)
{
	struct staged *st = ctx;

	if (st->ready >= st->f.total) {
		if (st->extra_after <= 0)
			return 0;
		st->extra_after--;
		return 1;
	}
	st->pieces++;
	if (st->f.issued > st->f.ok + st->f.failed + st->f.cancelled)
		st->pieces_in_flight++;
	if (st->fail_at_piece && st->pieces == st->fail_at_piece)
		return error_set(ERR_IO, "piece %d failed", st->pieces);
	if (st->pieces % st->per_request == 0)
		st->ready++;
	return 1;
}

Test(http_multi, work_makes_requests_ready_and_runs_while_transfers_are_in_flight)
{
	struct stub_reply script[] = { { .status = 200 } };
	struct stub_server *s = stub_start(script, 1);
	struct http_client *c = client();
	struct staged st = { .f = { .url = stub_url(s), .total = 6 }, .per_request = 20 };
	struct http_multi_ops ops = { staged_next, staged_done, &st, staged_work };

	/* Nothing is ready at first: the run must not end before work has run. */
	cr_assert_ok(http_multi_run(c, 3, &ops));
	cr_assert_eq(st.f.ok, 6);
	cr_assert_eq(st.pieces, 6 * 20, "each piece done once, no more asked once all is ready");
	cr_assert_gt(st.pieces_in_flight, 0, "work interleaves with transfers in flight");
	cr_assert_eq(stub_count(s), 6);
	http_client_free(c);
	stub_stop(s);
}

Test(http_multi, the_run_ends_only_when_work_has_nothing_left)
{
	struct stub_reply script[] = { { .status = 200 } };
	struct stub_server *s = stub_start(script, 1);
	struct http_client *c = client();
	struct staged st = { .f = { .url = stub_url(s), .total = 2 }, .per_request = 1, .extra_after = 50 };
	struct http_multi_ops ops = { staged_next, staged_done, &st, staged_work };

	cr_assert_ok(http_multi_run(c, 2, &ops));
	cr_assert_eq(st.f.ok, 2);
	cr_assert_eq(st.extra_after, 0);
	http_client_free(c);
	stub_stop(s);
}

Test(http_multi, a_work_failure_stops_the_run_and_cancels_what_is_in_flight)
{
	struct stub_reply script[] = { { .status = 200 } };
	struct stub_server *s = stub_start(script, 1);
	struct http_client *c = client();
	struct staged st = { .f = { .url = stub_url(s), .total = 8 }, .per_request = 2,
			     .fail_at_piece = 7 };
	struct http_multi_ops ops = { staged_next, staged_done, &st, staged_work };

	cr_assert_fails(http_multi_run(c, 4, &ops), ERR_IO, "piece 7 failed");
	cr_assert_eq(st.pieces, 7, "no piece after the failure");
	cr_assert_leq(st.f.issued, 3);
	cr_assert_eq(st.f.ok + st.f.failed + st.f.cancelled, st.f.issued, "every transfer given is done once");
	http_client_free(c);
	stub_stop(s);
}

/* Raises the stop flag from another thread, as a signal handler would:
 * whenever it comes, not only between network events. It comes once both
 * transfers have had their 503 and are waiting out the Retry-After, when
 * nothing else wakes the loop; a fixed delay would, under valgrind, come
 * before the run has even started its transfers. */
static volatile sig_atomic_t stop_flag;

static void *raise_stop_when_waiting(void *arg)
{
	struct stub_server *s = arg;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	while (stub_count(s) < 2)
		nanosleep(&ts, NULL);
	nanosleep(&ts, NULL);
	stop_flag = SIGTERM;
	return NULL;
}

/* A transfer waiting out a long Retry-After does not hold a stopping
 * program: the run ends at once with the stop. */
Test(http_multi, the_stop_flag_ends_the_run_at_once, .timeout = 20)
{
	struct stub_reply script[] = { { .status = 503, .headers = "Retry-After: 30\r\n" } };
	struct stub_server *s = stub_start(script, 1);
	struct http_options o = fast;
	struct http_client *c;
	struct feed f = { .url = stub_url(s), .total = 2 };
	struct http_multi_ops ops = { feed_next, feed_done, &f, NULL };
	pthread_t raiser;

	o.retry_max_delay_ms = 60000;
	o.retry_budget_ms = 120000;
	cr_assert_ok(http_client_new(&c, &o));
	http_client_set_stop(c, &stop_flag);
	cr_assert_eq(pthread_create(&raiser, NULL, raise_stop_when_waiting, s), 0);
	cr_assert_fails(http_multi_run(c, 2, &ops), ERR_CANCELLED, "stopped");
	pthread_join(raiser, NULL);
	cr_assert_eq(f.cancelled, 2);
	http_client_free(c);
	stub_stop(s);
}
