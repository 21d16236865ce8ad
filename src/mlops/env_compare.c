#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/yaml.h"
#include "mlops/conda.h"
#include "mlops/env_compare.h"
#include "core/banned.h"

void env_diff_init(struct env_diff *d)
{
	struct env_diff fresh = ENV_DIFF_INIT;

	*d = fresh;
}

void env_diff_release(struct env_diff *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nr; i++) {
		free(d->items[i].field);
		free(d->items[i].before);
		free(d->items[i].after);
	}
	free(d->items);
	env_diff_init(d);
}

static void add_change(struct env_diff *d, const char *fieldname, const char *before, const char *after)
{
	struct env_change *c;

	if (!d)
		return;
	if (d->nr == d->alloc) {
		d->alloc = d->alloc ? d->alloc * 2 : 8;
		d->items = xrealloc(d->items, d->alloc * sizeof(*d->items));
	}
	c = &d->items[d->nr++];
	c->field = xstrdup(fieldname);
	c->before = before ? xstrdup(before) : NULL;
	c->after = after ? xstrdup(after) : NULL;
}

/* One dependency for the diff: a conda spec or a pip requirement, keyed by package. */
struct dep {
	int pip;
	char *spec;
	char *key;
	int matched;
};

struct deps {
	struct dep *items;
	size_t nr;
};

static void add_dep(struct deps *deps, const struct yaml_doc *doc, const cJSON *item, int pip)
{
	struct buf spec = BUF_INIT, key = BUF_INIT;
	struct dep *d;

	if (cJSON_IsString(item))
		buf_addstr(&spec, item->valuestring);
	else
		conda_write_canonical(&spec, doc, item);
	conda_spec_name(&key, spec.data);
	deps->items = xrealloc(deps->items, (deps->nr + 1) * sizeof(*deps->items));
	d = &deps->items[deps->nr++];
	d->pip = pip;
	d->spec = buf_detach(&spec, NULL);
	d->key = buf_detach(&key, NULL);
	d->matched = 0;
}

static void collect_deps(struct deps *out, const struct yaml_doc *doc)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc->root, "dependencies"), *item, *pip;

	cJSON_ArrayForEach(item, list) {
		pip = cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, "pip") : NULL;
		if (pip && cJSON_IsArray(pip) && cJSON_GetArraySize(item) == 1) {
			const cJSON *p;
			cJSON_ArrayForEach(p, pip)
				add_dep(out, doc, p, 1);
		} else {
			add_dep(out, doc, item, 0);
		}
	}
}

static void free_deps(struct deps *deps)
{
	size_t i;

	for (i = 0; i < deps->nr; i++) {
		free(deps->items[i].spec);
		free(deps->items[i].key);
	}
	free(deps->items);
}

/* Pairs dependencies by package: changed, removed (before only), added (after only). */
static size_t diff_dependencies(struct env_diff *diff, const struct yaml_doc *before,
				const struct yaml_doc *after)
{
	struct deps b = { NULL, 0 }, a = { NULL, 0 };
	size_t i, j, changes = 0;

	collect_deps(&b, before);
	collect_deps(&a, after);
	for (i = 0; i < b.nr; i++) {
		const char *fieldname = b.items[i].pip ? "conda_file.dependencies.pip"
						       : "conda_file.dependencies";
		for (j = 0; j < a.nr; j++)
			if (!a.items[j].matched && a.items[j].pip == b.items[i].pip &&
			    !strcmp(a.items[j].key, b.items[i].key))
				break;
		if (j == a.nr) {
			add_change(diff, fieldname, b.items[i].spec, NULL);
			changes++;
			continue;
		}
		a.items[j].matched = 1;
		if (strcmp(a.items[j].spec, b.items[i].spec)) {
			add_change(diff, fieldname, b.items[i].spec, a.items[j].spec);
			changes++;
		}
	}
	for (j = 0; j < a.nr; j++)
		if (!a.items[j].matched) {
			add_change(diff, a.items[j].pip ? "conda_file.dependencies.pip"
							: "conda_file.dependencies", NULL, a.items[j].spec);
			changes++;
		}
	free_deps(&b);
	free_deps(&a);
	return changes;
}

static void canonical_of(struct buf *out, const struct yaml_doc *doc, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(doc->root, key);

	if (item)
		conda_write_canonical(out, doc, item);
}

/* Every top-level key of either file other than dependencies, by canonical JSON. */
static void diff_other_keys(struct env_diff *diff, const struct yaml_doc *before,
			    const struct yaml_doc *after)
{
	const struct yaml_doc *docs[2] = { before, after };
	struct buf b = BUF_INIT, a = BUF_INIT, name = BUF_INIT;
	const cJSON *item;
	int k;

	for (k = 0; k < 2; k++)
		cJSON_ArrayForEach(item, docs[k]->root) {
			if (!strcmp(item->string, "dependencies") ||
			    (k == 1 && cJSON_GetObjectItemCaseSensitive(before->root, item->string)))
				continue; /* dependencies by item; keys of both only once */
			buf_reset(&b);
			buf_reset(&a);
			buf_reset(&name);
			canonical_of(&b, before, item->string);
			canonical_of(&a, after, item->string);
			if (strcmp(a.data, b.data)) {
				buf_addf(&name, "conda_file.%s", item->string);
				add_change(diff, name.data, b.len ? b.data : NULL, a.len ? a.data : NULL);
			}
		}
	buf_release(&b);
	buf_release(&a);
	buf_release(&name);
}

static enum env_compare compare_conda(struct env_diff *diff, const struct environment *local,
				      const char *registered_text)
{
	struct yaml_doc reg = YAML_DOC_INIT;
	struct buf canon = BUF_INIT, deps_b = BUF_INIT, deps_a = BUF_INIT;
	enum env_compare result = ENV_SAME;

	if (!local->conda.canonical && !registered_text)
		return ENV_SAME;
	if (!local->conda.canonical || !registered_text) {
		add_change(diff, "conda_file", registered_text ? "a conda file" : NULL,
			   local->conda.canonical ? local->conda_path : NULL);
		return ENV_DIFFERENT;
	}
	if (yaml_load_string(&reg, registered_text, strlen(registered_text), "registered condaFile")) {
		add_change(diff, "conda_file", "(the registered condaFile is not YAML)", local->conda_path);
		result = ENV_DIFFERENT;
		goto done;
	}
	conda_write_canonical(&canon, &reg, reg.root);
	if (!strcmp(canon.data, local->conda.canonical))
		goto done;
	result = ENV_DIFFERENT;
	if (!cJSON_IsObject(reg.root)) {
		add_change(diff, "conda_file", canon.data, local->conda.canonical);
		goto done;
	}
	diff_other_keys(diff, &reg, &local->conda.doc);
	canonical_of(&deps_b, &reg, "dependencies");
	canonical_of(&deps_a, &local->conda.doc, "dependencies");
	if (!diff_dependencies(diff, &reg, &local->conda.doc) && strcmp(deps_a.data, deps_b.data))
		add_change(diff, "conda_file.dependencies (order)", deps_b.data, deps_a.data);
done:
	yaml_doc_release(&reg);
	buf_release(&canon);
	buf_release(&deps_b);
	buf_release(&deps_a);
	return result;
}

enum env_compare env_compare(struct env_diff *diff, const struct environment *local,
			     const struct env_registered *reg)
{
	const char *reg_os = reg->os_type ? reg->os_type : "linux";
	enum env_compare result = ENV_SAME;

	if (reg->has_build != (local->build_path != NULL)) {
		add_change(diff, local->build_path ? "build" : "image",
			   reg->has_build ? "a build context" : reg->image,
			   local->build_path ? "a build context" : local->image);
		return ENV_DIFFERENT;
	}
	if (strcasecmp(reg_os, local->os_type)) {
		add_change(diff, "os_type", reg_os, local->os_type);
		result = ENV_DIFFERENT;
	}
	if (local->build_path) {
		/* Azure keeps only a contextUri: the files are compared through our tag. */
		if (!reg->content_hash_tag) {
			add_change(diff, "build", "registered without a " ENVIRONMENT_HASH_TAG
				   " tag: the build context cannot be compared", local->content_hash);
			return result == ENV_DIFFERENT ? ENV_DIFFERENT : ENV_UNKNOWN;
		}
		if (strcmp(reg->content_hash_tag, local->content_hash)) {
			add_change(diff, "build", reg->content_hash_tag, local->content_hash);
			result = ENV_DIFFERENT;
		}
		return result;
	}
	if (!reg->image || strcmp(reg->image, local->image)) {
		add_change(diff, "image", reg->image, local->image);
		result = ENV_DIFFERENT;
	}
	if (compare_conda(diff, local, reg->conda_text) != ENV_SAME)
		result = ENV_DIFFERENT;
	return result;
}
