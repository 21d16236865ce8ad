#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azure/aml_assets.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/json.h"
#include "core/banned.h"

static const struct {
	const char *segment, *noun;
} kinds[] = {
	[AML_DATA] = { "data", "data asset" },
	[AML_CODE] = { "codes", "code asset" },
	[AML_ENVIRONMENT] = { "environments", "environment" },
	[AML_MODEL] = { "models", "model" },
};

/* The path segment ("data", "codes", ...) and the word used in messages. */
static const char *aml_asset_segment(enum aml_asset_kind kind)
{
	return kinds[kind].segment;
}

static const char *aml_asset_noun(enum aml_asset_kind kind)
{
	return kinds[kind].noun;
}

/* ---- JSON helpers ---- */

int aml_json_string(char **out, const cJSON *root, const char *path, int required,
		    const char *what)
{
	const cJSON *item = json_find(root, path);
	const char *s;
	int ret;

	*out = NULL;
	if (!item || cJSON_IsNull(item)) {
		if (required)
			return error_set(ERR_JSON, "%s: field '%s' is missing", what, path);
		return 0;
	}
	if ((ret = json_get_string(&s, root, path)))
		return error_prefix("%s", what);
	*out = xstrdup(s);
	return 0;
}

/* A copy of the object of string values at `path` (tags, properties);
 * NULL when absent or null; ERR_JSON naming the path otherwise. */
static int aml_json_map(cJSON **out, const cJSON *root, const char *path, const char *what)
{
	const cJSON *item = json_find(root, path), *v;

	*out = NULL;
	if (!item || cJSON_IsNull(item))
		return 0;
	if (!cJSON_IsObject(item))
		return error_set(ERR_JSON, "%s: field '%s' is %s, expected an object", what, path,
				 json_type_name(item));
	cJSON_ArrayForEach(v, item) {
		/* The service accepts null values in these maps (azure-contract 3:
		 * "map of string -> string"); anything else is not ours to guess. */
		if (!cJSON_IsString(v) && !cJSON_IsNull(v))
			return error_set(ERR_JSON, "%s: field '%s.%s' is %s, expected a string", what,
					 path, v->string, json_type_name(v));
	}
	*out = json_duplicate(item);
	return 0;
}

/* A copy of the object at `path` (flavors): any object, unlike a map. */
static int aml_json_object(cJSON **out, const cJSON *root, const char *path, const char *what)
{
	const cJSON *item = json_find(root, path);

	*out = NULL;
	if (!item || cJSON_IsNull(item))
		return 0;
	if (!cJSON_IsObject(item))
		return error_set(ERR_JSON, "%s: field '%s' is %s, expected an object", what, path,
				 json_type_name(item));
	*out = json_duplicate(item);
	return 0;
}

int aml_json_bool(int *out, const cJSON *root, const char *path, int fallback, const char *what)
{
	const cJSON *item = json_find(root, path);

	*out = fallback;
	if (!item || cJSON_IsNull(item))
		return 0;
	if (json_get_bool(out, root, path))
		return error_prefix("%s", what);
	return 0;
}

/* ---- assets and containers ---- */

static void aml_asset_release(struct aml_asset *a)
{
	if (!a)
		return;
	free(a->id);
	free(a->name);
	free(a->version);
	free(a->description);
	cJSON_Delete(a->tags);
	cJSON_Delete(a->properties);
	free(a->provisioning_state);
	free(a->created_at);
	memset(a, 0, sizeof(*a));
}

void aml_container_release(struct aml_container *c)
{
	if (!c)
		return;
	aml_asset_release(&c->asset);
	free(c->data_type);
	free(c->latest_version);
	free(c->next_version);
	memset(c, 0, sizeof(*c));
}

/* ".../data/{name}/versions/{v}" -> "{name}"; NULL when not that shape. */
static char *container_from_id(const char *id)
{
	const char *v = id ? strstr(id, "/versions/") : NULL;
	const char *start;

	if (!v)
		return NULL;
	for (start = v; start > id && start[-1] != '/'; start--)
		;
	return start < v ? xstrndup(start, (size_t)(v - start)) : NULL;
}

/* Parses the envelope and ResourceBase/AssetBase fields of `json`, a version
 * (or container, `is_version` 0) resource; `what` names it in messages
 * ("model version"). The container name comes from the id
 * ".../<kind>/{name}/versions/{v}", else from `name` for a container. */
static int aml_asset_parse(struct aml_asset *out, const cJSON *json, int is_version,
			   const char *what)
{
	char *name = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(json)) {
		ret = error_set(ERR_JSON, "%s: the reply is not an object", what);
		goto done;
	}
	if ((ret = aml_json_string(&out->id, json, "id", 0, what)) ||
	    (ret = aml_json_string(&name, json, "name", 1, what)) ||
	    (ret = aml_json_string(&out->description, json, "properties.description", 0, what)) ||
	    (ret = aml_json_map(&out->tags, json, "properties.tags", what)) ||
	    (ret = aml_json_map(&out->properties, json, "properties.properties", what)) ||
	    (ret = aml_json_bool(&out->is_anonymous, json, "properties.isAnonymous", 0, what)) ||
	    (ret = aml_json_bool(&out->is_archived, json, "properties.isArchived", 0, what)) ||
	    (ret = aml_json_string(&out->provisioning_state, json, "properties.provisioningState", 0,
				   what)) ||
	    (ret = aml_json_string(&out->created_at, json, "systemData.createdAt", 0, what)))
		goto done;
	if (is_version) {
		/* A version resource's `name` is the version (azure-contract 3). */
		out->version = name;
		name = NULL;
		out->name = container_from_id(out->id);
	} else {
		out->name = name;
		name = NULL;
	}
done:
	free(name);
	if (ret)
		aml_asset_release(out);
	return ret;
}

/* Adds description, tags, properties, isAnonymous, isArchived of `a` to
 * the `properties` object of a request body (absent ones left out). */
static void aml_asset_build(cJSON *props, const struct aml_asset *a)
{
	if (a->description)
		json_add_string(props, "description", a->description);
	if (a->tags)
		json_add_copy(props, "tags", a->tags);
	else
		json_add_object(props, "tags");
	if (a->properties)
		json_add_copy(props, "properties", a->properties);
	else
		json_add_object(props, "properties");
	json_add_bool(props, "isAnonymous", a->is_anonymous);
	if (a->is_archived)
		json_add_bool(props, "isArchived", 1);
}

int aml_container_parse(struct aml_container *out, const cJSON *json, enum aml_asset_kind kind)
{
	char what[64];
	int ret;

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "%s container", aml_asset_noun(kind));
	if ((ret = aml_asset_parse(&out->asset, json, 0, what)) ||
	    (ret = aml_json_string(&out->latest_version, json, "properties.latestVersion", 0, what)) ||
	    (ret = aml_json_string(&out->next_version, json, "properties.nextVersion", 0, what)) ||
	    (kind == AML_DATA &&
	     (ret = aml_json_string(&out->data_type, json, "properties.dataType", 0, what))))
		aml_container_release(out);
	return ret;
}

cJSON *aml_container_body(const struct aml_container *c, enum aml_asset_kind kind)
{
	cJSON *body = json_new_object();
	cJSON *props = json_add_object(body, "properties");

	if (c->asset.description)
		json_add_string(props, "description", c->asset.description);
	if (c->asset.tags)
		json_add_copy(props, "tags", c->asset.tags);
	if (c->asset.properties)
		json_add_copy(props, "properties", c->asset.properties);
	if (c->asset.is_archived)
		json_add_bool(props, "isArchived", 1);
	/* dataType is required on a data container and create-only (azure-contract 3.2). */
	if (kind == AML_DATA && c->data_type)
		json_add_string(props, "dataType", c->data_type);
	return body;
}

int aml_is_immutable_error(long status, const cJSON *json)
{
	const char *code = json_string_or(json, "error.code", "");
	const char *msg = json_string_or(json, "error.message", "");

	/* azure-contract 3.4 (azure-cli-extensions#5440): "Environment {name} with
	 * version {v} is already registered and cannot be changed."; 3.6: a
	 * replaced `properties` value is "... cannot be replaced ... without
	 * increasing the version". The live status is unconfirmed: 400 as the
	 * contract says (409 already maps to ERR_CONFLICT in arm_call). */
	if (status != 400 || strcmp(code, "UserError"))
		return 0;
	return (strstr(msg, "already registered") && strstr(msg, "cannot be")) ||
	       strstr(msg, "without increasing the version");
}

int aml_list_query(struct buf *out, enum aml_asset_kind kind, const struct aml_list_options *o)
{
	char sep = '?';

	if (!o)
		return 0;
	if (o->tags && *o->tags) {
		if (kind != AML_DATA && kind != AML_MODEL)
			return error_set(ERR_INPUT, "%s versions have no tag filter",
					 aml_asset_noun(kind));
		/* Data assets really spell it `$tags`, models `tags` (azure-contract 3.2, 3.6). */
		buf_addf(out, "%c%s=", sep, kind == AML_DATA ? "$tags" : "tags");
		url_encode(out, o->tags);
		sep = '&';
	}
	if (o->order_by && *o->order_by) {
		buf_addf(out, "%c$orderBy=", sep);
		url_encode(out, o->order_by);
		sep = '&';
	}
	if (o->list_view_type && *o->list_view_type) {
		buf_addf(out, "%clistViewType=", sep);
		url_encode(out, o->list_view_type);
	}
	return 0;
}

/* ---- calls ---- */

/* Same words, sharper code: the message was set once by arm_call. */
static int immutable_to_conflict(int ret, const struct arm_response *r)
{
	struct buf msg = BUF_INIT;

	if (!ret || !aml_is_immutable_error(r->status, r->json))
		return ret;
	buf_addstr(&msg, error_message());
	ret = error_set(ERR_CONFLICT, "%s", msg.data);
	buf_release(&msg);
	return ret;
}

static int check_names(enum aml_asset_kind kind, const char *name, const char *version)
{
	char what[64];
	int ret;

	snprintf(what, sizeof(what), "%s name", aml_asset_noun(kind));
	if ((ret = aml_check_name(name, what)))
		return ret;
	snprintf(what, sizeof(what), "%s version", aml_asset_noun(kind));
	return version ? aml_check_version(version, what) : 0;
}

/* Hands the reply's JSON to the caller, or ERR_JSON for an empty 2xx. */
static int take_json(cJSON **out, struct arm_response *r, const char *method, const char *path)
{
	if (!r->json)
		return error_set(ERR_JSON, "%s %s: HTTP %ld with an empty body", method, path, r->status);
	*out = r->json;
	r->json = NULL;
	return 0;
}

int aml_container_get(struct aml_container *out, struct aml *aml, enum aml_asset_kind kind,
		      const char *name)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = check_names(kind, name, NULL)))
		goto done;
	aml_path(&path, aml, "/%s/%s", aml_asset_segment(kind), name);
	if ((ret = arm_call(aml->arm, "GET", path.data, AML_API_VERSION, NULL, &r)))
		goto done;
	ret = aml_container_parse(out, r.json, kind);
done:
	arm_response_release(&r);
	buf_release(&path);
	return ret;
}

int aml_container_put(struct aml_container *out, struct aml *aml, enum aml_asset_kind kind,
		      const struct aml_container *c)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	cJSON *body = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = check_names(kind, c->asset.name ? c->asset.name : "", NULL)))
		goto done;
	if (kind == AML_DATA && !c->data_type) {
		ret = error_set(ERR_INPUT, "data asset container '%s': dataType is required",
				c->asset.name);
		goto done;
	}
	body = aml_container_body(c, kind);
	aml_path(&path, aml, "/%s/%s", aml_asset_segment(kind), c->asset.name);
	ret = immutable_to_conflict(arm_call(aml->arm, "PUT", path.data, AML_API_VERSION, body, &r),
				    &r);
	if (!ret)
		ret = aml_container_parse(out, r.json, kind);
done:
	cJSON_Delete(body);
	arm_response_release(&r);
	buf_release(&path);
	return ret;
}

/* GET or PUT (with `body`) W/<kind>/{name}/versions/{version}. */
static int version_call(cJSON **out, struct aml *aml, enum aml_asset_kind kind,
			const char *method, const char *name, const char *version,
			const cJSON *body)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	int ret;

	*out = NULL;
	if ((ret = check_names(kind, name, version)))
		goto done;
	aml_path(&path, aml, "/%s/%s/versions/%s", aml_asset_segment(kind), name, version);
	ret = arm_call(aml->arm, method, path.data, AML_API_VERSION, body, &r);
	if (body)
		ret = immutable_to_conflict(ret, &r); /* only a write meets that rule */
	if (!ret)
		ret = take_json(out, &r, method, path.data);
done:
	arm_response_release(&r);
	buf_release(&path);
	return ret;
}

int aml_version_get_json(cJSON **out, struct aml *aml, enum aml_asset_kind kind,
			 const char *name, const char *version)
{
	return version_call(out, aml, kind, "GET", name, version, NULL);
}

int aml_version_put_json(cJSON **out, struct aml *aml, enum aml_asset_kind kind,
			 const char *name, const char *version, const cJSON *body)
{
	return version_call(out, aml, kind, "PUT", name, version, body);
}

/* GET W/<kind>/{name}/versions with `o`, every page; `*out` is an array
 * of version resources (caller frees). */
static int aml_version_list_json(cJSON **out, struct aml *aml, enum aml_asset_kind kind,
				 const char *name, const struct aml_list_options *o)
{
	struct buf path = BUF_INIT;
	int ret;

	*out = NULL;
	if ((ret = check_names(kind, name, NULL)))
		goto done;
	aml_path(&path, aml, "/%s/%s/versions", aml_asset_segment(kind), name);
	if ((ret = aml_list_query(&path, kind, o)))
		goto done;
	ret = arm_list(aml->arm, path.data, AML_API_VERSION, out);
done:
	buf_release(&path);
	return ret;
}

int aml_latest_version(char **out, struct aml *aml, enum aml_asset_kind kind, const char *name)
{
	struct aml_container c = { 0 };
	int ret;

	*out = NULL;
	if ((ret = aml_container_get(&c, aml, kind, name)))
		goto done;
	/* azure-contract 3.4/3.6: the container's read-only latestVersion. */
	if (!c.latest_version || !*c.latest_version) {
		ret = error_set(ERR_NOT_FOUND, "%s '%s' has no version yet", aml_asset_noun(kind), name);
		goto done;
	}
	*out = c.latest_version;
	c.latest_version = NULL;
done:
	aml_container_release(&c);
	return ret;
}

/* ---- one version type per kind ---- */

static char **string_at(void *v, const struct aml_field *f)
{
	return (char **)((char *)v + f->offset);
}

static cJSON **object_at(void *v, const struct aml_field *f)
{
	return (cJSON **)((char *)v + f->offset);
}

static const char *string_of(const void *v, const struct aml_field *f)
{
	return *(char *const *)((const char *)v + f->offset);
}

void aml_version_release(void *v, const struct aml_version_type *t)
{
	const struct aml_field *f;

	if (!v)
		return;
	aml_asset_release(v);
	for (f = t->fields; f->path; f++) {
		if (f->flags & AML_FIELD_OBJECT)
			cJSON_Delete(*object_at(v, f));
		else
			free(*string_at(v, f));
	}
	memset(v, 0, t->size);
}

void aml_versions_free(void *v, size_t nr, const struct aml_version_type *t)
{
	size_t i;

	for (i = 0; v && i < nr; i++)
		aml_version_release((char *)v + i * t->size, t);
	free(v);
}

int aml_version_parse(void *out, const struct aml_version_type *t, const cJSON *json)
{
	const struct aml_field *f;
	int ret;

	memset(out, 0, t->size);
	ret = aml_asset_parse(out, json, 1, t->what);
	for (f = t->fields; !ret && f->path; f++) {
		if (f->flags & AML_FIELD_OBJECT)
			ret = aml_json_object(object_at(out, f), json, f->path, t->what);
		else
			ret = aml_json_string(string_at(out, f), json, f->path,
					      !!(f->flags & AML_FIELD_REPLY), t->what);
	}
	if (ret)
		aml_version_release(out, t);
	return ret;
}

cJSON *aml_version_body(const void *v, const struct aml_version_type *t)
{
	cJSON *body = json_new_object();
	cJSON *props = json_add_object(body, "properties");

	t->add_properties(props, v);
	aml_asset_build(props, v);
	return body;
}

int aml_version_get(void *out, struct aml *aml, const struct aml_version_type *t,
		    const char *name, const char *version)
{
	cJSON *json = NULL;
	int ret;

	memset(out, 0, t->size);
	if (!(ret = aml_version_get_json(&json, aml, t->kind, name, version)))
		ret = aml_version_parse(out, t, json);
	cJSON_Delete(json);
	return ret;
}

/* The service requires these (azure-contract 3.2, 3.3, 3.6): say so before a
 * call, naming them all: "data asset 'd': dataType and dataUri are required". */
static int check_put_fields(const struct aml_version_type *t, const void *v, const char *name)
{
	struct buf needed = BUF_INIT;
	const struct aml_field *f;
	int nr = 0, missing = 0, ret = 0;

	for (f = t->fields; f->path; f++) {
		const char *s;

		if (!(f->flags & AML_FIELD_PUT))
			continue;
		s = string_of(v, f);
		missing |= !s || !*s;
		buf_addf(&needed, "%s%s", nr++ ? " and " : "", strrchr(f->path, '.') + 1);
	}
	if (missing)
		ret = error_set(ERR_INPUT, "%s '%.80s': %s %s required", aml_asset_noun(t->kind),
				name, needed.data, nr > 1 ? "are" : "is");
	buf_release(&needed);
	return ret;
}

int aml_version_put(void *out, struct aml *aml, const struct aml_version_type *t,
		    const void *v)
{
	const struct aml_asset *a = v;
	const char *name = a->name ? a->name : "";
	cJSON *body = NULL, *json = NULL;
	int ret;

	memset(out, 0, t->size);
	if ((ret = check_put_fields(t, v, name)) || (t->check && (ret = t->check(v))))
		goto done;
	body = aml_version_body(v, t);
	if (!(ret = aml_version_put_json(&json, aml, t->kind, name,
					 a->version ? a->version : "", body)))
		ret = aml_version_parse(out, t, json);
done:
	cJSON_Delete(body);
	cJSON_Delete(json);
	return ret;
}

int aml_version_list(void **out, size_t *nr_out, struct aml *aml,
		     const struct aml_version_type *t, const char *name,
		     const struct aml_list_options *o)
{
	const cJSON *item;
	cJSON *items = NULL;
	char *v = NULL;
	size_t n = 0;
	int ret;

	*out = NULL;
	*nr_out = 0;
	if ((ret = aml_version_list_json(&items, aml, t->kind, name, o)))
		goto done;
	v = xcalloc((size_t)cJSON_GetArraySize(items) + 1, t->size);
	cJSON_ArrayForEach(item, items) {
		if ((ret = aml_version_parse(v + n * t->size, t, item)))
			goto done;
		n++;
	}
	*out = v;
	*nr_out = n;
	v = NULL;
done:
	aml_versions_free(v, n, t);
	cJSON_Delete(items);
	return ret;
}

int aml_version_latest(void *out, struct aml *aml, const struct aml_version_type *t,
		       const char *name)
{
	char *version = NULL;
	int ret;

	memset(out, 0, t->size);
	if (!(ret = aml_latest_version(&version, aml, t->kind, name)))
		ret = aml_version_get(out, aml, t, name, version);
	free(version);
	return ret;
}
