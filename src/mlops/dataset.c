#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "azure/aml_names.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "mlops/asset_version.h"
#include "mlops/dataset.h"
#include "core/log.h"
#include "core/banned.h"

static const char *const known_fields[] = {
	"$schema", "name", "version", "type", "path", "description", "tags", "properties", NULL,
};

const char *dataset_type_name(enum dataset_type type)
{
	switch (type) {
	case DATASET_URI_FILE: return "uri_file";
	case DATASET_URI_FOLDER: return "uri_folder";
	case DATASET_MLTABLE: return "mltable";
	}
	return "?";
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

int dataset_find_yaml(char **path_out, const char *dir)
{
	static const char *const preferred[] = { "data.yml", "data.yaml", "asset.yml", "asset.yaml", NULL };
	const char *const *p;
	struct buf path = BUF_INIT;
	char *only = NULL;
	int count = 0, ret = 0;
	struct dirent *de;
	DIR *d;

	*path_out = NULL;
	for (p = preferred; *p; p++) {
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir, *p);
		if (fs_is_file(path.data)) {
			*path_out = buf_detach(&path, NULL);
			return 0;
		}
	}
	d = opendir(dir);
	if (!d) {
		ret = error_set(ERR_IO, "%s: %s", dir, strerror(errno));
		goto done;
	}
	while ((de = readdir(d)))
		if (has_suffix(de->d_name, ".yml") || has_suffix(de->d_name, ".yaml")) {
			count++;
			free(only);
			only = xstrdup(de->d_name);
		}
	closedir(d);
	if (count != 1) {
		ret = error_set(ERR_INPUT, "%s: expected one data asset YAML (data.yml), found %d YAML files",
				dir, count);
		goto done;
	}
	buf_reset(&path);
	buf_addf(&path, "%s/%s", dir, only);
	*path_out = buf_detach(&path, NULL);
done:
	free(only);
	buf_release(&path);
	return ret;
}

struct hash_walk {
	struct sha256 h;
	uint64_t size;
	unsigned files;
};

static void hash_one(struct hash_walk *w, const char *name, const unsigned char digest[SHA256_LEN],
		     uint64_t size)
{
	struct buf line = BUF_INIT;

	buf_addstr(&line, name);
	buf_addch(&line, '\0');
	hex_encode(&line, digest, SHA256_LEN);
	buf_addch(&line, '\n');
	sha256_update(&w->h, line.data, line.len);
	buf_release(&line);
	w->size += size;
	w->files++;
}

static int hash_entry(const struct fs_entry *e, void *ctx)
{
	unsigned char digest[SHA256_LEN];
	uint64_t size;
	int ret;

	if (e->is_dir)
		return 0;
	if ((ret = sha256_file(digest, e->path, &size)))
		return ret;
	hash_one(ctx, e->rel, digest, size);
	return 0;
}

int dataset_hash(struct buf *hex_out, uint64_t *size_out, unsigned *files_out,
		 const char *path, int is_folder)
{
	struct hash_walk w = { SHA256_INIT, 0, 0 };
	unsigned char digest[SHA256_LEN];
	uint64_t size;
	const char *base;
	int ret;

	sha256_begin(&w.h);
	if (is_folder) {
		ret = fs_walk(path, hash_entry, &w);
	} else {
		base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		ret = sha256_file(digest, path, &size);
		if (!ret)
			hash_one(&w, base, digest, size);
	}
	if (ret) {
		sha256_release(&w.h);
		return ret;
	}
	sha256_end(&w.h, digest);
	hex_encode(hex_out, digest, SHA256_LEN);
	*size_out = w.size;
	*files_out = w.files;
	return 0;
}

void dataset_upload_prefix(struct buf *out, const struct dataset *d)
{
	buf_addf(out, "datasets/%s/%.16s", d->name, d->content_hash);
}

static int check_tags(const struct dataset *d)
{
	const cJSON *tags = json_find(d->doc.root, "tags"), *t;

	if (!tags)
		return 0;
	if (!cJSON_IsObject(tags))
		return yaml_error_at(&d->doc, tags, ERR_INPUT, "field 'tags' must be a mapping");
	cJSON_ArrayForEach(t, tags)
		if (cJSON_IsObject(t) || cJSON_IsArray(t) || cJSON_IsNull(t))
			return yaml_error_at(&d->doc, t, ERR_INPUT,
					     "tag '%s' must be a single value", excerpt(t->string));
	return 0;
}

/*
 * `path` from the YAML, resolved against its folder and kept inside it and
 * inside the workspace, symbolic links followed: a link out of the folder
 * is refused here, before any byte of it is read (docs/security.md).
 */
static int resolve_data(struct dataset *d, const cJSON *item, const char *path)
{
	struct buf dir = BUF_INIT, full = BUF_INIT;
	const char *slash = strrchr(d->yaml_path, '/');
	struct stat st;
	int ret = 0;

	if (strstr(path, "://") || !strncmp(path, "azureml:", 8))
		return yaml_error_at(&d->doc, item, ERR_INPUT,
				     "field 'path' is remote ('%s'): Workspace-CD uploads data from the "
				     "repository; give a path inside the dataset's folder", excerpt(path));
	if (path[0] == '/')
		return yaml_error_at(&d->doc, item, ERR_INPUT,
				     "field 'path': '%s' is absolute; it must be relative to the "
				     "dataset's folder (the folder of this YAML)", excerpt(path));
	if (!slash)
		buf_addch(&dir, '.');
	else if (slash == d->yaml_path)
		buf_addch(&dir, '/');
	else
		buf_add(&dir, d->yaml_path, (size_t)(slash - d->yaml_path));
	buf_addf(&full, "%s/%s", dir.data, path);
	if (stat(full.data, &st)) {
		ret = yaml_error_at(&d->doc, item, ERR_INPUT, "field 'path': '%s' does not exist",
				    excerpt(path));
		goto done;
	}
	if (!fs_resolves_inside(full.data, dir.data) || !fs_in_workspace(full.data)) {
		ret = yaml_error_at(&d->doc, item, ERR_INPUT,
				    "field 'path': '%s' is outside the dataset's folder (a symbolic "
				    "link counts where it leads)", excerpt(path));
		goto done;
	}
	if (d->type == DATASET_URI_FILE && !S_ISREG(st.st_mode)) {
		ret = yaml_error_at(&d->doc, item, ERR_INPUT,
				    "field 'path': type uri_file needs a file, '%s' is not one",
				    excerpt(path));
		goto done;
	}
	if (d->type != DATASET_URI_FILE && !S_ISDIR(st.st_mode)) {
		ret = yaml_error_at(&d->doc, item, ERR_INPUT,
				    "field 'path': type %s needs a folder, '%s' is not one",
				    dataset_type_name(d->type), excerpt(path));
		goto done;
	}
	if (d->type == DATASET_MLTABLE) {
		struct buf mltable = BUF_INIT;

		buf_addf(&mltable, "%s/MLTable", full.data);
		if (!fs_is_file(mltable.data))
			ret = yaml_error_at(&d->doc, item, ERR_INPUT,
					    "field 'path': an mltable folder needs an MLTable file; "
					    "'%s' has none", excerpt(path));
		buf_release(&mltable);
		if (ret)
			goto done;
	}
	d->data_path = buf_detach(&full, NULL);
done:
	buf_release(&dir);
	buf_release(&full);
	return ret;
}

int dataset_load(struct dataset *out, const char *yaml_path)
{
	struct buf hash = BUF_INIT;
	const char *name, *version = "1", *type, *path, *desc = "";
	const cJSON *root;
	int ret;

	memset(out, 0, sizeof(*out));
	out->yaml_path = xstrdup(yaml_path);
	if (!fs_in_workspace(yaml_path)) {
		ret = error_set_at(ERR_INPUT, yaml_path, 0, 0, "%s: the data asset YAML is outside the "
				   "workspace (a symbolic link counts where it leads); it is not read",
				   yaml_path);
		goto done;
	}
	if ((ret = yaml_load_file(&out->doc, yaml_path)))
		goto done;
	root = out->doc.root;
	if (!cJSON_IsObject(root)) {
		ret = yaml_error_at(&out->doc, root, ERR_INPUT, "a data asset YAML must be a mapping");
		goto done;
	}
	if ((ret = yaml_check_keys(&out->doc, root, NULL, known_fields, "a data asset")) ||
	    (ret = check_tags(out)))
		goto done;
	if ((ret = yaml_get_string(&out->doc, &name, root, "name")))
		goto done;
	if (aml_check_name(name, "data asset name")) {
		ret = yaml_error_at(&out->doc, json_find(root, "name"), ERR_INPUT, "%s", error_message());
		goto done;
	}
	if (json_find(root, "version") &&
	    ((ret = yaml_get_text(&out->doc, &version, root, "version")) ||
	     (ret = asset_version_check(&out->doc, json_find(root, "version"), version,
					"data asset version"))))
		goto done;
	if ((ret = yaml_get_string(&out->doc, &type, root, "type")))
		goto done;
	if (!strcmp(type, "uri_file")) {
		out->type = DATASET_URI_FILE;
	} else if (!strcmp(type, "uri_folder")) {
		out->type = DATASET_URI_FOLDER;
	} else if (!strcmp(type, "mltable")) {
		out->type = DATASET_MLTABLE;
	} else {
		ret = yaml_error_at(&out->doc, json_find(root, "type"), ERR_INPUT,
				    "field 'type' is '%s': use uri_file, uri_folder or mltable",
				    excerpt(type));
		goto done;
	}
	if (json_find(root, "description") &&
	    (ret = yaml_get_string(&out->doc, &desc, root, "description")))
		goto done;
	if ((ret = yaml_get_string(&out->doc, &path, root, "path")) ||
	    (ret = resolve_data(out, json_find(root, "path"), path)))
		goto done;
	out->name = xstrdup(name);
	out->version = xstrdup(version);
	out->description = xstrdup(desc);
	out->tags = json_find(root, "tags");
	if ((ret = dataset_hash(&hash, &out->size, &out->files, out->data_path,
				out->type != DATASET_URI_FILE))) {
		/* A link out met by the walk: name the YAML line that chose the folder. */
		struct buf why = BUF_INIT;

		buf_addstr(&why, error_message());
		ret = yaml_error_at(&out->doc, json_find(root, "path"), ret, "field 'path': %s",
				    why.data);
		buf_release(&why);
		goto done;
	}
	out->content_hash = buf_detach(&hash, NULL);
done:
	buf_release(&hash);
	if (ret)
		dataset_release(out);
	return ret;
}

void dataset_release(struct dataset *d)
{
	free(d->yaml_path);
	free(d->name);
	free(d->version);
	free(d->description);
	free(d->data_path);
	free(d->content_hash);
	yaml_doc_release(&d->doc);
	memset(d, 0, sizeof(*d));
}

static int cmp_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dataset_load_all(struct dataset_set *out, const char *root)
{
	struct buf path = BUF_INIT;
	char **dirs = NULL, *yaml = NULL;
	size_t nr = 0, i;
	struct dirent *de;
	DIR *d;
	int ret = 0;

	out->items = NULL;
	out->nr = 0;
	d = opendir(root);
	if (!d) {
		log_info("no %s folder: no datasets to make sure of", root);
		return 0;
	}
	while ((de = readdir(d))) {
		buf_reset(&path);
		buf_addf(&path, "%s/%s", root, de->d_name);
		if (de->d_name[0] == '.' || !fs_is_dir(path.data))
			continue;
		if (!fs_in_workspace(path.data)) {
			ret = error_set_at(ERR_INPUT, path.data, 0, 0, "%s: a dataset folder that leads "
					   "outside the workspace (a symbolic link); datasets must be in "
					   "the repository", path.data);
			break;
		}
		dirs = xrealloc(dirs, (nr + 1) * sizeof(*dirs));
		dirs[nr++] = buf_detach(&path, NULL);
	}
	closedir(d);
	if (nr)
		qsort(dirs, nr, sizeof(*dirs), cmp_paths);
	out->items = xcalloc(nr ? nr : 1, sizeof(*out->items));
	for (i = 0; i < nr && !ret; i++) {
		if (!(ret = dataset_find_yaml(&yaml, dirs[i])) &&
		    !(ret = dataset_load(&out->items[out->nr], yaml)))
			out->nr++;
		free(yaml);
		yaml = NULL;
	}
	for (i = 0; i < nr; i++)
		free(dirs[i]);
	free(dirs);
	buf_release(&path);
	if (ret)
		dataset_set_release(out);
	return ret;
}

void dataset_set_release(struct dataset_set *set)
{
	size_t i;

	for (i = 0; i < set->nr; i++)
		dataset_release(&set->items[i]);
	free(set->items);
	set->items = NULL;
	set->nr = 0;
}
