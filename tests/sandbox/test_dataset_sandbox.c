/* Workspace-CD's dataset step against the sandbox: upload and register
 * once, then leave the asset alone and only notice when it differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "azure/aml_data.h"
#include "core/fs.h"
#include "core/json.h"
#include "mlops/dataset_sync.h"
#include "support/check.h"
#include "support/sandbox.h"
#include "support/tmpdir.h"

static char root[] = "/tmp/dataset-sync-XXXXXX";

static void load(struct dataset *d, const char *rel)
{
	struct buf p = BUF_INIT;

	buf_addf(&p, "%s/%s", root, rel);
	cr_assert_ok(dataset_load(d, p.data));
	buf_release(&p);
}

static void open_env(struct sandbox_aml *e)
{
	sandbox_aml_open(e);
	tmpdir_make(root);
	fs_set_workspace(root); /* the scratch folder plays the repository */
}

static void close_env(struct sandbox_aml *e)
{
	sandbox_aml_close(e);
	fs_set_workspace(NULL);
	tmpdir_remove(root);
}

Test(dataset_sandbox, created_once_then_left_alone_and_noticed_when_different)
{
	struct dataset_result r;
	struct aml_data_version v = { 0 };
	struct dataset d;
	struct sandbox_aml e;

	open_env(&e);
	tmpdir_write(root, "churn/data.yml", "name: churn\nversion: 1\ntype: uri_folder\npath: data\ntags: {rows: 2}\n");
	tmpdir_write(root, "churn/data/train.csv", "a,b\n1,2\n");
	tmpdir_write(root, "churn/data/test.csv", "a,b\n3,4\n");
	load(&d, "churn/data.yml");

	cr_assert_ok(dataset_sync(&r, &e.aml, e.http, &d, 0, TOKEN_SOURCE_NONE));
	cr_assert_eq(r.outcome, DATASET_CREATED);
	cr_assert(strstr(r.data_uri, "azureml://datastores/workspaceblobstore/paths/datasets/churn/") != NULL,
		  "%s", r.data_uri);
	dataset_result_release(&r);
	cr_assert_ok(aml_data_version_get(&v, &e.aml, "churn", "1"));
	cr_assert_str_eq(v.data_type, "uri_folder");
	cr_assert_str_eq(json_string_or(v.asset.tags, "contentHash", ""), d.content_hash);
	cr_assert_str_eq(json_string_or(v.asset.tags, "rows", ""), "2");
	aml_data_version_release(&v);

	/* Again: nothing new. */
	cr_assert_ok(dataset_sync(&r, &e.aml, e.http, &d, 0, TOKEN_SOURCE_NONE));
	cr_assert_eq(r.outcome, DATASET_UNCHANGED);
	dataset_result_release(&r);
	dataset_release(&d);

	/* The repository's data changed: noticed, not re-versioned. */
	tmpdir_write(root, "churn/data/test.csv", "a,b\n3,5\n");
	load(&d, "churn/data.yml");
	cr_assert_ok(dataset_sync(&r, &e.aml, e.http, &d, 0, TOKEN_SOURCE_NONE));
	cr_assert_eq(r.outcome, DATASET_DIFFERS);
	cr_assert_str_eq(r.version, "1");
	dataset_result_release(&r);
	cr_assert_eq(aml_data_version_get(&v, &e.aml, "churn", "2"), ERR_NOT_FOUND);
	dataset_release(&d);
	close_env(&e);
}

Test(dataset_sandbox, a_file_asset_and_a_dry_run)
{
	struct dataset_result r;
	struct aml_data_version v = { 0 };
	struct dataset d;
	struct sandbox_aml e;

	open_env(&e);
	tmpdir_write(root, "labels/data.yml", "name: labels\ntype: uri_file\npath: labels.csv\n");
	tmpdir_write(root, "labels/labels.csv", "id,label\n1,a\n");
	load(&d, "labels/data.yml");
	cr_assert_ok(dataset_sync(&r, &e.aml, e.http, &d, 1, TOKEN_SOURCE_NONE));
	cr_assert_eq(r.outcome, DATASET_WOULD_CREATE);
	dataset_result_release(&r);
	cr_assert_eq(aml_data_version_get(&v, &e.aml, "labels", "1"), ERR_NOT_FOUND);
	cr_assert_ok(dataset_sync(&r, &e.aml, e.http, &d, 0, TOKEN_SOURCE_NONE));
	cr_assert_eq(r.outcome, DATASET_CREATED);
	cr_assert(strstr(r.data_uri, "/labels.csv") != NULL, "%s", r.data_uri);
	dataset_result_release(&r);
	dataset_release(&d);
	close_env(&e);
}
