#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "stub_server.h"

struct recorded {
	struct buf head, body;
};

struct stub_server {
	int fd;
	int stop_pipe[2];
	pthread_t thread;
	char url[64];
	const struct stub_reply *script;
	size_t n;
	pthread_mutex_t lock;
	struct recorded *reqs;
	size_t nr_reqs;
};

static void send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void serve(struct stub_server *s, int fd)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	const struct stub_reply *r;
	char chunk[65536];
	size_t head_len = 0, want = 0, idx;
	char *end, *cl;

	for (;;) {
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n <= 0)
			goto done;
		buf_add(&in, chunk, (size_t)n);
		if (!head_len && (end = strstr(in.data, "\r\n\r\n"))) {
			head_len = (size_t)(end - in.data) + 4;
			cl = strcasestr(in.data, "\r\nContent-Length:");
			want = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
		}
		if (head_len && in.len >= head_len + want)
			break;
	}
	pthread_mutex_lock(&s->lock);
	idx = s->nr_reqs;
	s->reqs = xrealloc(s->reqs, (idx + 1) * sizeof(*s->reqs));
	buf_init(&s->reqs[idx].head);
	buf_init(&s->reqs[idx].body);
	buf_add(&s->reqs[idx].head, in.data, head_len);
	buf_add(&s->reqs[idx].body, in.data + head_len, want);
	s->nr_reqs++;
	pthread_mutex_unlock(&s->lock);

	r = &s->script[idx < s->n ? idx : s->n - 1];
	if (r->drop)
		goto done;
	buf_addf(&out, "HTTP/1.1 %d Stub\r\nConnection: close\r\nContent-Length: %zu\r\n%s\r\n",
		 r->status, r->body ? strlen(r->body) : 0, r->headers ? r->headers : "");
	if (r->body)
		buf_add(&out, r->body, r->cut_body ? strlen(r->body) / 2 : strlen(r->body));
	send_all(fd, out.data, out.len);
done:
	buf_release(&in);
	buf_release(&out);
	close(fd);
}

static void *loop(void *arg)
{
	struct stub_server *s = arg;
	struct pollfd p[2] = { { s->fd, POLLIN, 0 }, { s->stop_pipe[0], POLLIN, 0 } };

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents) {
			int c = accept(s->fd, NULL, NULL);
			if (c >= 0)
				serve(s, c);
		}
	}
	return NULL;
}

struct stub_server *stub_start(const struct stub_reply *script, size_t n)
{
	struct stub_server *s = xcalloc(1, sizeof(*s));
	struct sockaddr_in addr = { 0 };
	socklen_t len = sizeof(addr);
	int one = 1;

	s->script = script;
	s->n = n;
	pthread_mutex_init(&s->lock, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(s->fd, 16) ||
	    getsockname(s->fd, (struct sockaddr *)&addr, &len) || pipe(s->stop_pipe))
		abort();
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", ntohs(addr.sin_port));
	pthread_create(&s->thread, NULL, loop, s);
	return s;
}

const char *stub_url(const struct stub_server *s)
{
	return s->url;
}

size_t stub_count(struct stub_server *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->nr_reqs;
	pthread_mutex_unlock(&s->lock);
	return n;
}

const char *stub_head(struct stub_server *s, size_t i)
{
	return i < stub_count(s) ? s->reqs[i].head.data : NULL;
}

const char *stub_body(struct stub_server *s, size_t i, size_t *len)
{
	if (i >= stub_count(s))
		return NULL;
	if (len)
		*len = s->reqs[i].body.len;
	return s->reqs[i].body.data;
}

void stub_stop(struct stub_server *s)
{
	size_t i;

	if (!s)
		return;
	if (write(s->stop_pipe[1], "x", 1) < 0)
		abort();
	pthread_join(s->thread, NULL);
	close(s->fd);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	for (i = 0; i < s->nr_reqs; i++) {
		buf_release(&s->reqs[i].head);
		buf_release(&s->reqs[i].body);
	}
	free(s->reqs);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
