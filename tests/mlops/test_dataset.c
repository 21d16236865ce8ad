#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "core/fs.h"
#include "core/json.h"
#include "mlops/dataset.h"
#include "support/check.h"
#include "support/tmpdir.h"

static char root[] = "/tmp/dataset-test-XXXXXX";
/* A folder outside the workspace: the runner's files, as far as a test can tell. */
static char outside[] = "/tmp/dataset-outside-XXXXXX";

static char *at(const char *rel)
{
	return xasprintf("%s/%s", root, rel);
}

static void setup(void)
{
	tmpdir_make(root);
	tmpdir_make(outside);
	tmpdir_write(outside, "shadow", "root:$6$secret-hash:19000:0:99999:7:::\n");
	tmpdir_write(outside, "data.yml", "name: evil\ntype: uri_file\npath: shadow\n");
	fs_set_workspace(root);
}

static void teardown(void)
{
	fs_set_workspace(NULL);
	tmpdir_remove(root);
	tmpdir_remove(outside);
}

/* Makes `rel` under root a symbolic link to `target`. */
static void link_at(const char *rel, const char *target)
{
	char *path = at(rel);

	cr_assert_eq(symlink(target, path), 0, "symlink %s", path);
	free(path);
}

TestSuite(dataset, .init = setup, .fini = teardown);

Test(dataset, loads_a_folder_asset_and_hashes_its_files)
{
	struct dataset d;
	char *yml;

	tmpdir_write(root, "iris/data.yml", "name: iris\nversion: 2\ntype: uri_folder\npath: ./data\n"
				    "description: Iris\ntags: {owner: ml}\n");
	tmpdir_write(root, "iris/data/a.csv", "x,y\n1,2\n");
	tmpdir_write(root, "iris/data/sub/b.csv", "z\n3\n");
	yml = at("iris/data.yml");
	cr_assert_ok(dataset_load(&d, yml));
	cr_assert_str_eq(d.name, "iris");
	cr_assert_str_eq(d.version, "2");
	cr_assert_eq(d.type, DATASET_URI_FOLDER);
	cr_assert_eq(d.files, 2);
	cr_assert_eq(d.size, 8 + 4);
	cr_assert_eq(strlen(d.content_hash), 64);
	cr_assert_str_eq(json_string_or(d.tags, "owner", ""), "ml");
	dataset_release(&d);
	free(yml);
}

Test(dataset, hash_changes_with_content_and_names_only)
{
	struct buf h1 = BUF_INIT, h2 = BUF_INIT, h3 = BUF_INIT;
	uint64_t size;
	unsigned files;
	char *dir = at("d");

	tmpdir_write(root, "d/a.txt", "one");
	cr_assert_ok(dataset_hash(&h1, &size, &files, dir, 1));
	cr_assert_ok(dataset_hash(&h2, &size, &files, dir, 1));
	cr_assert_str_eq(h1.data, h2.data);
	tmpdir_write(root, "d/a.txt", "two");
	cr_assert_ok(dataset_hash(&h3, &size, &files, dir, 1));
	cr_assert_str_neq(h1.data, h3.data);
	buf_release(&h1);
	buf_release(&h2);
	buf_release(&h3);
	free(dir);
}

Test(dataset, errors_name_file_line_and_field)
{
	struct dataset d;
	char *yml = at("bad/data.yml");

	tmpdir_write(root, "bad/data.yml", "name: bad\ntype: uri_file\npath: ./missing.csv\n");
	cr_assert_fails(dataset_load(&d, yml), ERR_INPUT, "data.yml:3:7: field 'path': './missing.csv' does not exist");
	cr_assert_eq(error_where()->line, 3);
	tmpdir_write(root, "bad/data.yml", "name: bad\ntype: table\npath: x\n");
	cr_assert_fails(dataset_load(&d, yml), ERR_INPUT, "data.yml:2:7: field 'type' is 'table'");
	tmpdir_write(root, "bad/data.yml", "name: bad\ntype: uri_file\npath: x\ncolour: blue\n");
	cr_assert_fails(dataset_load(&d, yml), ERR_INPUT,
			"data.yml:4:9: field 'colour': unknown in a data asset (known: $schema, name, "
			"version, type, path, description, tags, properties)");
	tmpdir_write(root, "bad/data.yml", "name: -bad\ntype: uri_file\npath: x\n");
	cr_assert_fails(dataset_load(&d, yml), ERR_INPUT, "data.yml:1:7: data asset name '-bad'");
	tmpdir_write(root, "bad/data.yml", "type: uri_file\npath: x\n");
	cr_assert_fails(dataset_load(&d, yml), ERR_YAML, "required field 'name' is missing");
	free(yml);
}

Test(dataset, path_must_stay_inside_and_match_the_type)
{
	struct dataset d;
	char *yml = at("p/data.yml");

	tmpdir_write(root, "outside.csv", "secret");
	tmpdir_write(root, "p/file.csv", "a");
	tmpdir_write(root, "p/data.yml", "name: p\ntype: uri_file\npath: ../outside.csv\n");
	cr_assert_fails(dataset_load(&d, yml), ERR_INPUT, "outside the dataset's folder");
	tmpdir_write(root, "p/data.yml", "name: p\ntype: uri_folder\npath: file.csv\n");
	cr_assert_fails(dataset_load(&d, yml), ERR_INPUT, "needs a folder");
	tmpdir_write(root, "p/data.yml", "name: p\ntype: mltable\npath: .\n");
	cr_assert_fails(dataset_load(&d, yml), ERR_INPUT, "needs an MLTable file");
	tmpdir_write(root, "p/data.yml", "name: p\ntype: uri_file\npath: azureml://datastores/x/paths/y\n");
	cr_assert_fails(dataset_load(&d, yml), ERR_INPUT, "is remote");
	free(yml);
}

Test(dataset, finds_the_asset_yaml_in_a_folder)
{
	char *dir = at("f"), *found = NULL;

	tmpdir_write(root, "f/iris.yaml", "name: x\n");
	tmpdir_write(root, "f/notes.txt", "n");
	cr_assert_ok(dataset_find_yaml(&found, dir));
	cr_assert(strstr(found, "/f/iris.yaml") != NULL);
	free(found);
	tmpdir_write(root, "f/other.yml", "name: y\n");
	cr_assert_fails(dataset_find_yaml(&found, dir), ERR_INPUT, "found 2 YAML files");
	tmpdir_write(root, "f/data.yml", "name: z\n");
	cr_assert_ok(dataset_find_yaml(&found, dir));
	cr_assert(strstr(found, "/f/data.yml") != NULL);
	free(found);
	free(dir);
}

Test(dataset, loads_every_dataset_folder_in_order)
{
	struct dataset_set set = DATASET_SET_INIT;
	struct buf dir = BUF_INIT;

	tmpdir_write(root, "ds/b/data.yml", "name: b\ntype: uri_file\npath: x.csv\n");
	tmpdir_write(root, "ds/b/x.csv", "1\n");
	tmpdir_write(root, "ds/a/data.yml", "name: a\ntype: uri_file\npath: y.csv\n");
	tmpdir_write(root, "ds/a/y.csv", "2\n");
	tmpdir_write(root, "ds/README.md", "not a folder");
	buf_addf(&dir, "%s/ds", root);
	cr_assert_ok(dataset_load_all(&set, dir.data));
	cr_assert_eq(set.nr, 2);
	cr_assert_str_eq(set.items[0].name, "a");
	cr_assert_str_eq(set.items[1].name, "b");
	dataset_set_release(&set);
	/* No folder, no datasets; a bad one fails the lot. */
	buf_addstr(&dir, "-missing");
	cr_assert_ok(dataset_load_all(&set, dir.data));
	cr_assert_eq(set.nr, 0);
	dataset_set_release(&set);
	tmpdir_write(root, "ds/c/data.yml", "name: c\ntype: nope\npath: z\n");
	buf_setlen(&dir, dir.len - 8);
	cr_assert_fails(dataset_load_all(&set, dir.data), ERR_INPUT, "field 'type' is 'nope'");
	buf_release(&dir);
}

/* ---- a repository cannot make Workspace-CD upload the runner's files ---- */

Test(dataset, a_link_to_a_runner_file_inside_the_data_folder_is_refused_at_the_path_line)
{
	struct dataset d;
	char *yml = at("iris/data.yml"), *target = xasprintf("%s/shadow", outside);

	tmpdir_write(root, "iris/data.yml", "name: iris\nversion: 1\ntype: uri_folder\npath: ./data\n");
	tmpdir_write(root, "iris/data/a.csv", "x\n");
	link_at("iris/data/shadow", target);
	cr_assert_fails(dataset_load(&d, yml), ERR_INPUT, "iris/data.yml:4:7: field 'path': ");
	cr_assert(strstr(error_message(), "data/shadow: a symbolic link to outside the folder"), "%s",
		  error_message());
	cr_assert_eq(error_where()->line, 4);
	free(target);
	free(yml);
}

Test(dataset, a_uri_file_that_links_to_a_runner_file_is_refused)
{
	struct dataset d;
	char *yml = at("p/data.yml"), *target = xasprintf("%s/shadow", outside);

	tmpdir_write(root, "p/data.yml", "name: p\ntype: uri_file\npath: passwd.csv\n");
	link_at("p/passwd.csv", target);
	cr_assert_fails(dataset_load(&d, yml), ERR_INPUT,
			"p/data.yml:3:7: field 'path': 'passwd.csv' is outside the dataset's folder");
	free(target);
	free(yml);
}

Test(dataset, a_dataset_folder_that_links_out_of_the_workspace_is_refused_before_reading_it)
{
	struct dataset_set set = DATASET_SET_INIT;
	char *dir = at("datasets");

	tmpdir_write(root, "datasets/good/data.yml", "name: good\ntype: uri_file\npath: a.csv\n");
	tmpdir_write(root, "datasets/good/a.csv", "a");
	link_at("datasets/evil", outside);
	cr_assert_fails(dataset_load_all(&set, dir), ERR_INPUT,
			"datasets/evil: a dataset folder that leads outside the workspace");
	cr_assert_not_null(error_where());
	cr_assert(strstr(error_where()->file, "datasets/evil"), "%s", error_where()->file);
	cr_assert_eq(set.nr, 0);
	free(dir);
}

Test(dataset, a_data_yaml_that_links_to_a_runner_file_is_not_read)
{
	struct dataset d;
	char *yml = at("q/data.yml"), *target = xasprintf("%s/shadow", outside);

	tmpdir_write(root, "q/a.csv", "a");
	link_at("q/data.yml", target);
	cr_assert_fails(dataset_load(&d, yml), ERR_INPUT, "outside the workspace");
	cr_assert_null(strstr(error_message(), "secret-hash"), "%s", error_message());
	free(target);
	free(yml);
}

Test(dataset, links_that_stay_inside_the_data_folder_are_followed)
{
	struct dataset d;
	char *yml = at("l/data.yml");

	tmpdir_write(root, "l/data.yml", "name: l\ntype: uri_folder\npath: data\n");
	tmpdir_write(root, "l/data/a.csv", "x\n");
	link_at("l/data/b.csv", "a.csv");
	cr_assert_ok(dataset_load(&d, yml));
	cr_assert_eq(d.files, 2);
	dataset_release(&d);
	free(yml);
}

Test(dataset, an_absolute_path_is_refused_as_absolute_not_as_missing)
{
	struct dataset d;
	char *yml = at("abs/data.yml");

	tmpdir_write(root, "abs/data.yml", "name: abs\ntype: uri_file\npath: /etc/hostname\n");
	cr_assert_fails(dataset_load(&d, yml), ERR_INPUT,
			"abs/data.yml:3:7: field 'path': '/etc/hostname' is absolute; it must be "
			"relative to the dataset's folder");
	free(yml);
}

Test(dataset, values_from_the_yaml_are_quoted_short_and_on_one_line)
{
	struct dataset d;
	char *yml = at("v/data.yml");

	tmpdir_write(root, "v/data.yml",
		     "name: v\ntype: \"table\\r::error::forged\\n0123456789012345678901234567890123456789"
		     "-secret-tail\"\npath: x\n");
	cr_assert_fails(dataset_load(&d, yml), ERR_INPUT, "field 'type' is 'table\\r::error::forged\\n");
	cr_assert_null(strchr(error_message(), '\n'), "%s", error_message());
	cr_assert_null(strchr(error_message(), '\r'), "%s", error_message());
	cr_assert_null(strstr(error_message(), "secret-tail"), "%s", error_message());
	free(yml);
}

/*
 * The same version rule as environments (mlops/asset_version.h): Azure ML
 * reads name@latest as the newest version of a data asset too, and "01",
 * "0" or "1e3" read as another version than Azure stores.
 */
Test(dataset, versions_are_whole_numbers_from_one_refused_at_the_version_line)
{
	static const char *const bad[][2] = {
		{ "latest", "is reserved" }, { "\"Latest\"", "is reserved" },
		{ "0", "versions start at 1" }, { "\"0.0\"", "versions start at 1" },
		{ "01", "leading zero" }, { "\"007\"", "leading zero" }, { "1.01", "leading zero" },
		{ "1e3", "(1000, not 1e3)" }, { "\"1E3\"", "not a version" }, { "0x10", "not a version" },
		{ "\"-1\"", "is not valid" },
	};
	static const char *const good[] = { "1", "\"2\"", "10", "1.10", "\"2.0.1\"", "beta", "0.1" };
	size_t i;

	tmpdir_write(root, "ver/file.csv", "a\n");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dataset d;
		struct buf yml = BUF_INIT;
		char *path = at("ver/data.yml");

		buf_addf(&yml, "name: v\nversion: %s\ntype: uri_file\npath: file.csv\n", bad[i][0]);
		tmpdir_write(root, "ver/data.yml", yml.data);
		cr_assert_fails(dataset_load(&d, path), ERR_INPUT, "ver/data.yml:2:10: field 'version': ");
		cr_assert(strstr(error_message(), bad[i][1]), "%s: %s", bad[i][0], error_message());
		cr_assert_eq(error_where()->line, 2);
		buf_release(&yml);
		free(path);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct dataset d;
		struct buf yml = BUF_INIT;
		char *path = at("ver/data.yml");

		buf_addf(&yml, "name: v\nversion: %s\ntype: uri_file\npath: file.csv\n", good[i]);
		tmpdir_write(root, "ver/data.yml", yml.data);
		cr_assert_ok(dataset_load(&d, path));
		dataset_release(&d);
		buf_release(&yml);
		free(path);
	}
}
