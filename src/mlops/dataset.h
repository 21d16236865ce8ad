#ifndef MLOPS_DATASET_H
#define MLOPS_DATASET_H

#include <stdint.h>

#include "core/buf.h"
#include "core/yaml.h"

/*
 * Datasets for Workspace-CD: each folder under datasets/ holds an Azure ML
 * CLI v2 data asset YAML (name, version, type, path, description, tags)
 * and its data. A missing asset is uploaded under a content-addressed path
 * and its first version registered; an existing one is never overwritten
 * or re-versioned (evolving datasets are managed elsewhere), only noticed
 * when the local content differs.
 */

enum dataset_type { DATASET_URI_FILE, DATASET_URI_FOLDER, DATASET_MLTABLE };

struct dataset {
	char *yaml_path;        /* the asset YAML, as found */
	char *name;
	char *version;          /* as written; "1" when absent */
	enum dataset_type type;
	char *description;      /* "" when absent */
	char *data_path;        /* local file or folder, resolved against the YAML's folder */
	char *content_hash;     /* hex SHA-256 over the data (see dataset_hash) */
	uint64_t size;          /* bytes of data */
	unsigned files;         /* number of files */
	struct yaml_doc doc;    /* kept for tags and for error locations */
	const cJSON *tags;      /* borrowed from doc; NULL when absent */
};

/* The asset YAML in `dir`: data.yml, data.yaml, asset.yml, or its only YAML file. */
int dataset_find_yaml(char **path_out, const char *dir);

/*
 * Loads and checks the asset at `yaml_path`: known fields only, name by
 * Azure's rule, version by the asset version rule (mlops/asset_version.h:
 * not "latest", 0, 01 or 1e3, refused at the version: line), type uri_file (path is a file), uri_folder (a
 * folder) or mltable (a folder holding an MLTable file), and a local,
 * relative `path` inside the dataset's folder (remote azureml:// or
 * https:// paths are refused: this workflow uploads data it has). Every
 * error names the file, line and field. Hashes the data (streamed).
 *
 * Containment (docs/security.md): the YAML and the data resolve, symbolic
 * links followed, inside the workspace (fs_workspace) and the data inside
 * the dataset's folder; the hash walk refuses a link out of the data
 * folder (fs_walk), and that refusal is located at the `path:` line. So
 * every file that dataset_sync later uploads was checked here, before any
 * Azure call.
 */
int dataset_load(struct dataset *out, const char *yaml_path);
void dataset_release(struct dataset *d);

/*
 * SHA-256 over the data: for a file, "<name>\0<sha256 of bytes>\n"; for a
 * folder, the same line for every file (relative '/' paths, sorted), so a
 * rename, an added file or a changed byte all change it.
 */
int dataset_hash(struct buf *hex_out, uint64_t *size_out, unsigned *files_out,
		 const char *path, int is_folder);

/* "datasets/<name>/<first 16 hex of the hash>": where its data is uploaded. */
void dataset_upload_prefix(struct buf *out, const struct dataset *d);

const char *dataset_type_name(enum dataset_type type); /* "uri_file", ... */

/* Every dataset under a folder (one per sub-folder, sorted by name). */
struct dataset_set {
	struct dataset *items;
	size_t nr;
};
#define DATASET_SET_INIT { NULL, 0 }

/*
 * Loads the dataset in each sub-folder of `root`, all checked before any
 * is used; the first bad one is the error (file, line and field). A
 * sub-folder that leads outside the workspace (a symbolic link) is an
 * ERR_INPUT naming it, before anything in it is read. A missing `root` is
 * no error: there are simply no datasets.
 */
int dataset_load_all(struct dataset_set *out, const char *root);
void dataset_set_release(struct dataset_set *set);

#endif
