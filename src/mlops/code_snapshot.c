#include <ctype.h>
#include <string.h>

#include "core/log.h"
#include "mlops/code_snapshot.h"
#include "mlops/dataset.h"
#include "core/banned.h"

void code_snapshot_name(struct buf *out, const char *dir)
{
	size_t len = strlen(dir), start = out->len, b;
	const char *p;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	for (b = len; b > 0 && dir[b - 1] != '/'; b--)
		;
	for (p = dir + b; p < dir + len && out->len - start < 200; p++)
		buf_addch(out, isalnum((unsigned char)*p) || *p == '_' || *p == '-' ? *p : '-');
	/* "." and ".." name nothing; a name starts with a letter or digit. */
	while (out->len > start && !isalnum((unsigned char)out->data[start])) {
		memmove(out->data + start, out->data + start + 1, out->len - start - 1);
		buf_setlen(out, out->len - 1);
	}
	if (out->len == start)
		buf_addstr(out, "code");
}

int code_snapshot_ensure(struct aml_code_version *out, struct buf *hash_out, int *uploaded_out,
			 struct aml *aml, struct http_client *http, const char *dir)
{
	struct buf hex = BUF_INIT, name = BUF_INIT;
	uint64_t size = 0;
	unsigned files = 0;
	int ret;

	if ((ret = dataset_hash(&hex, &size, &files, dir, 1)))
		goto done;
	code_snapshot_name(&name, dir);
	log_info("code %s: %u file%s, %llu bytes, snapshot %.12s", dir, files, files == 1 ? "" : "s",
		 (unsigned long long)size, hex.data);
	if ((ret = aml_code_ensure(out, uploaded_out, aml, name.data, hex.data, dir,
				   aml_code_upload_blob, http)))
		goto done;
	if (hash_out)
		buf_addstr(hash_out, hex.data);
done:
	buf_release(&hex);
	buf_release(&name);
	return ret;
}
