/*
 * Benchmark driver: uploads one file with the blob client.
 *   blob_upload <container URL with SAS query> <blob name> <file> [parallel [block MiB]]
 * Exits non-zero with the error message on failure.
 */
#include <stdio.h>
#include <stdlib.h>

#include "azure/blob.h"
#include "core/error.h"
#include "core/http.h"

int main(int argc, char **argv)
{
	struct http_client *http = NULL;
	struct blob_client *blob = NULL;
	struct blob_auth auth = { .kind = BLOB_AUTH_SAS };
	struct blob_upload_options o = { 0 };
	int ret;

	if (argc < 4) {
		fprintf(stderr, "usage: %s <container-url?sas> <blob> <file> [parallel [block MiB]]\n", argv[0]);
		return 2;
	}
	if (argc > 4)
		o.parallel = (int)strtol(argv[4], NULL, 10);
	if (argc > 5)
		o.block_size = strtoull(argv[5], NULL, 10) << 20;
	if (!(ret = http_client_new(&http, NULL)) &&
	    !(ret = blob_client_new(&blob, http, argv[1], &auth)))
		ret = blob_upload_file(blob, argv[2], argv[3], &o);
	if (ret)
		fprintf(stderr, "blob_upload: %s\n", error_message());
	blob_client_free(blob);
	http_client_free(http);
	return ret ? 1 : 0;
}
