/*
 * A tiny stand-in for the program's network code, linked exactly as the
 * release binary is (static glibc, the static libcurl from
 * scripts/build-static.sh), so rootfs-test.sh can check name lookups and TLS
 * in the image's root before any workflow makes a real call.
 *
 *   probe cainfo          prints libcurl's built-in CA bundle path
 *   probe resolve NAME    prints NAME's addresses (getaddrinfo, as libcurl)
 *   probe get URL         GETs URL with TLS verification on, honouring
 *                         HTTPS_PROXY/NO_PROXY as libcurl does and
 *                         CURL_CA_BUNDLE as the program does; prints
 *                         "status=N" or "curl=N <error>"; exit 0 only on 2xx
 *
 * Test-only code: it lives here, never in src/.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

static size_t discard(char *data, size_t size, size_t n, void *user)
{
	(void)data;
	(void)user;
	return size * n;
}

static int resolve(const char *name)
{
	struct addrinfo hints, *res, *p;
	char text[INET6_ADDRSTRLEN];
	int err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	err = getaddrinfo(name, "443", &hints, &res);
	if (err) {
		printf("error=%s\n", gai_strerror(err));
		return 1;
	}
	for (p = res; p; p = p->ai_next) {
		const void *addr = p->ai_family == AF_INET
			? (const void *)&((struct sockaddr_in *)p->ai_addr)->sin_addr
			: (const void *)&((struct sockaddr_in6 *)p->ai_addr)->sin6_addr;
		if (inet_ntop(p->ai_family, addr, text, sizeof(text)))
			printf("%s\n", text);
	}
	freeaddrinfo(res);
	return 0;
}

static int get(const char *url)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	const char *ca = getenv("CURL_CA_BUNDLE");
	long status = 0;
	CURLcode rc;
	CURL *h;

	if (!(h = curl_easy_init()))
		return 1;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
	if (ca && *ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		printf("curl=%d %s\n", (int)rc, errbuf[0] ? errbuf : curl_easy_strerror(rc));
		curl_easy_cleanup(h);
		return 1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	printf("status=%ld\n", status);
	curl_easy_cleanup(h);
	return status >= 200 && status < 300 ? 0 : 1;
}

static int cainfo(void)
{
	char *path = NULL;
	CURL *h = curl_easy_init();

	if (!h || curl_easy_getinfo(h, CURLINFO_CAINFO, &path) != CURLE_OK || !path) {
		printf("error=no default CA bundle\n");
		return 1;
	}
	printf("%s\n", path);
	curl_easy_cleanup(h);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if (argc == 2 && !strcmp(argv[1], "cainfo"))
		rc = cainfo();
	else if (argc == 3 && !strcmp(argv[1], "resolve"))
		rc = resolve(argv[2]);
	else if (argc == 3 && !strcmp(argv[1], "get"))
		rc = get(argv[2]);
	else
		fprintf(stderr, "usage: probe cainfo | resolve NAME | get URL\n");
	curl_global_cleanup();
	return rc;
}
