#ifndef MLOPS_DATASET_SYNC_H
#define MLOPS_DATASET_SYNC_H

#include "azure/aml.h"
#include "azure/token.h"
#include "core/http.h"
#include "mlops/dataset.h"

/*
 * Makes sure a dataset exists as a data asset, never changing one that
 * does: a missing asset has its data uploaded to the workspace's default
 * datastore under a content-addressed path (datasets/<name>/<hash>/) and
 * its first version registered, tagged with the content hash; an existing
 * asset, whatever its versions, is left alone (evolving datasets are
 * managed elsewhere), and the result says whether its latest version holds
 * the same content as the repository.
 */
enum dataset_outcome {
	DATASET_CREATED,        /* uploaded and registered now */
	DATASET_WOULD_CREATE,   /* dry run: would be */
	DATASET_UNCHANGED,      /* exists, same content hash */
	DATASET_DIFFERS,        /* exists, the registered content is not the repository's */
	DATASET_UNKNOWN,        /* exists, registered without a content hash to compare */
};

struct dataset_result {
	enum dataset_outcome outcome;
	char *version;          /* registered (or to be registered) version */
	char *registered_hash;  /* the contentHash tag of the latest version, or NULL */
	char *data_uri;         /* where the data is (or would be) */
};

/* The tag that carries the content hash on every version we register. */
#define DATASET_HASH_TAG "contentHash"

/*
 * `tokens` is asked for an Entra token for AZURE_SCOPE_STORAGE when the
 * datastore has no key (identity-based access); it may be empty otherwise.
 * With `dry_run`, nothing is uploaded or registered.
 */
int dataset_sync(struct dataset_result *out, struct aml *aml, struct http_client *http,
		 const struct dataset *d, int dry_run, struct token_source tokens);
void dataset_result_release(struct dataset_result *r);

const char *dataset_outcome_name(enum dataset_outcome o); /* "created", ... */

#endif
