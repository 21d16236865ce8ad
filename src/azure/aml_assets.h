#ifndef AZURE_AML_ASSETS_H
#define AZURE_AML_ASSETS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "azure/aml.h"
#include "core/buf.h"

/*
 * What the four Azure ML asset kinds share (azure-contract 3, "General rules"):
 * containers (PUT/GET W/<kind>/{name}), the ResourceBase + AssetBase fields
 * of every version, version lists with $skip/nextLink paging, and the
 * immutability error. The kinds themselves: aml_data.h, aml_code.h,
 * aml_environment.h, aml_model.h, each a table of the fields it adds
 * (struct aml_version_type) over the one implementation here; the
 * workspace and datastores: aml_workspace.h.
 *
 * Every call checks its names with aml_check_name/aml_check_version first
 * (ERR_INPUT naming the input, no HTTP call). Errors are arm_call's
 * (ERR_AUTH, ERR_NOT_FOUND, ERR_HTTP, ERR_NETWORK, ...) plus:
 *   ERR_CONFLICT  a version PUT that would change a create-only field of an
 *                 existing version, or replace one of its `properties`
 *                 values: Azure answers 400 UserError "... is already
 *                 registered and cannot be changed" (azure-contract 3.4, 3.6, 5);
 *                 the message is Azure's, only the code is refined, so the
 *                 domain can tell "exists and differs" from other failures.
 *   ERR_JSON      a reply without a field we rely on, or of the wrong type;
 *                 the message names the asset and the JSON path.
 *
 * Ownership: every struct here owns all its strings and cJSON objects;
 * x_release frees the contents and leaves the struct zeroed (so a fresh
 * {0} value or a released one may be released again).
 */

enum aml_asset_kind {
	AML_DATA,          /* W/data */
	AML_CODE,          /* W/codes */
	AML_ENVIRONMENT,   /* W/environments */
	AML_MODEL,         /* W/models */
};

/* ResourceBase + AssetBase, and the envelope of a version resource. */
struct aml_asset {
	char *id;              /* ARM id; read-only */
	char *name;            /* the container name */
	char *version;         /* the envelope's `name` of a version resource */
	char *description;     /* NULL: not set */
	cJSON *tags;           /* object of string -> string; NULL: none */
	cJSON *properties;     /* object of string -> string, add-only on update; NULL: none */
	int is_anonymous;
	int is_archived;
	char *provisioning_state;  /* read-only */
	char *created_at;          /* systemData.createdAt; read-only */
};

/* A container: PUT/GET W/<kind>/{name}. */
struct aml_container {
	struct aml_asset asset;    /* `version` unused */
	char *data_type;           /* data containers: uri_file|uri_folder|mltable (create-only) */
	char *latest_version;      /* read-only; NULL when there is none yet */
	char *next_version;        /* read-only */
};
void aml_container_release(struct aml_container *c);

/* GET W/<kind>/{name}. ERR_NOT_FOUND when it does not exist. */
int aml_container_get(struct aml_container *out, struct aml *aml, enum aml_asset_kind kind,
		      const char *name);
/* PUT W/<kind>/{name} with the description, tags, properties, isArchived
 * (and dataType for data) of `c`; 200 or 201. `out` receives Azure's view. */
int aml_container_put(struct aml_container *out, struct aml *aml, enum aml_asset_kind kind,
		      const struct aml_container *c);

/* Query options of a version list; every field may be NULL. */
struct aml_list_options {
	/* "tag1,tag2=value2": sent as `$tags` for data and `tags` for models
	 * (azure-contract 3.2, 3.6: the two kinds spell it differently); ignored
	 * (ERR_INPUT) for kinds that have no tag filter. */
	const char *tags;
	const char *order_by;        /* "createdtime desc" (Azure's default), "modifiedtime asc" */
	const char *list_view_type;  /* ActiveOnly (default), ArchivedOnly, All */
};

/* ---- pure pieces, exported for tests and the per-kind clients ---- */

int aml_container_parse(struct aml_container *out, const cJSON *json, enum aml_asset_kind kind);
/* {"properties":{description, tags, properties, isArchived[, dataType]}}; caller frees. */
cJSON *aml_container_body(const struct aml_container *c, enum aml_asset_kind kind);

/* Whether an answer is Azure's "already registered and cannot be changed"
 * (or "cannot be replaced ... without increasing the version") rejection:
 * status 400, envelope code UserError. */
int aml_is_immutable_error(long status, const cJSON *json);

/* The version list query ("?$tags=...&$orderBy=...") for `kind`; ERR_INPUT
 * for a tag filter on a kind without one. */
int aml_list_query(struct buf *out, enum aml_asset_kind kind, const struct aml_list_options *o);

/* A copy of the string at `path` of `root` into `*out` (NULL when absent
 * or null, or ERR_JSON "<what>: field '<path>' is missing" when
 * `required`); ERR_JSON "<what>: field '<path>' is a number, ..." when of
 * another type. */
int aml_json_string(char **out, const cJSON *root, const char *path, int required,
		    const char *what);
/* A boolean at `path`; `fallback` when absent or null. */
int aml_json_bool(int *out, const cJSON *root, const char *path, int fallback, const char *what);

/* ---- calls shared by the per-kind clients (aml_data.c, ...) ---- */

/* GET W/<kind>/{name}/versions/{version}; `*out` is the body (caller frees). */
int aml_version_get_json(cJSON **out, struct aml *aml, enum aml_asset_kind kind,
			 const char *name, const char *version);
/* PUT W/<kind>/{name}/versions/{version} with `body`; `*out` is Azure's
 * answer (caller frees). The immutability rejection becomes ERR_CONFLICT. */
int aml_version_put_json(cJSON **out, struct aml *aml, enum aml_asset_kind kind,
			 const char *name, const char *version, const cJSON *body);
/* The container's latestVersion; ERR_NOT_FOUND when the container is
 * missing or has no version yet. `*out` is the caller's. */
int aml_latest_version(char **out, struct aml *aml, enum aml_asset_kind kind, const char *name);

/* ---- one version type per kind ---- */

/* A field a kind adds to the ResourceBase/AssetBase ones. */
struct aml_field {
	const char *path;   /* in the resource: "properties.dataUri"; NULL ends a table */
	size_t offset;      /* of its char * (cJSON * with AML_FIELD_OBJECT) in the version */
	unsigned flags;
};
#define AML_FIELD_REPLY  1u  /* a reply without it is ERR_JSON */
#define AML_FIELD_PUT    2u  /* a string a PUT needs: without it (or "") ERR_INPUT, no call */
#define AML_FIELD_OBJECT 4u  /* a JSON object, copied, instead of a string */

/*
 * A kind's version struct begins with its struct aml_asset and owns the
 * fields of `fields` besides; the calls below take it as `void *`.
 */
struct aml_version_type {
	enum aml_asset_kind kind;
	const char *what;                  /* "data asset version", in messages */
	size_t size;                       /* sizeof the version struct */
	const struct aml_field *fields;
	/* Adds the kind's own fields of `v` to the `properties` of its PUT body. */
	void (*add_properties)(cJSON *props, const void *v);
	/* A rule on a version to PUT beyond the fields it needs, or NULL:
	 * 0 or ERR_INPUT naming the version. */
	int (*check)(const void *v);
};

/* Frees the contents of `v` (may be NULL) and zeroes it. */
void aml_version_release(void *v, const struct aml_version_type *t);
/* Releases `nr` versions of an array and frees it. */
void aml_versions_free(void *v, size_t nr, const struct aml_version_type *t);
/* A version resource -> `out`. */
int aml_version_parse(void *out, const struct aml_version_type *t, const cJSON *json);
/* The PUT body of `v`: {"properties":{<the kind's fields>, <aml_asset_build's>}};
 * the caller frees it. */
cJSON *aml_version_body(const void *v, const struct aml_version_type *t);
/* GET W/<kind>/{name}/versions/{version}, parsed. */
int aml_version_get(void *out, struct aml *aml, const struct aml_version_type *t,
		    const char *name, const char *version);
/* PUT W/<kind>/{v's name}/versions/{v's version} with the body of `v`,
 * after the checks of `t`; `out` receives Azure's view. */
int aml_version_put(void *out, struct aml *aml, const struct aml_version_type *t,
		    const void *v);
/* GET W/<kind>/{name}/versions with `o`, every page: `*out` is an array of
 * `*nr_out` versions, freed with aml_versions_free. */
int aml_version_list(void **out, size_t *nr_out, struct aml *aml,
		     const struct aml_version_type *t, const char *name,
		     const struct aml_list_options *o);
/* The version the container's latestVersion names; ERR_NOT_FOUND when the
 * container is missing or has no version yet. */
int aml_version_latest(void *out, struct aml *aml, const struct aml_version_type *t,
		       const char *name);

/*
 * Defines a kind's version type, `<fn>_type`, from the designated
 * initializers that follow T (its .size is sizeof(T)), and over it the
 * typed functions the kind's header declares for T: <fn>_release,
 * <fn>s_free, <fn>_parse, <fn>_body, <fn>_get, <fn>_put and <fn>_list.
 * They only convert types, so they are written once, here.
 */
#define AML_VERSION_FUNCTIONS(fn, T, ...)                                               \
	static const struct aml_version_type fn##_type = { .size = sizeof(T), __VA_ARGS__ }; \
	void fn##_release(T *v)                                                         \
	{                                                                               \
		aml_version_release(v, &fn##_type);                                     \
	}                                                                               \
	void fn##s_free(T *v, size_t nr)                                                \
	{                                                                               \
		aml_versions_free(v, nr, &fn##_type);                                   \
	}                                                                               \
	int fn##_parse(T *out, const cJSON *json)                                       \
	{                                                                               \
		return aml_version_parse(out, &fn##_type, json);                        \
	}                                                                               \
	cJSON *fn##_body(const T *v)                                                    \
	{                                                                               \
		return aml_version_body(v, &fn##_type);                                 \
	}                                                                               \
	int fn##_get(T *out, struct aml *aml, const char *name, const char *version)    \
	{                                                                               \
		return aml_version_get(out, aml, &fn##_type, name, version);            \
	}                                                                               \
	int fn##_put(T *out, struct aml *aml, const T *v)                               \
	{                                                                               \
		return aml_version_put(out, aml, &fn##_type, v);                        \
	}                                                                               \
	int fn##_list(T **out, size_t *nr_out, struct aml *aml, const char *name,       \
		      const struct aml_list_options *o)                                 \
	{                                                                               \
		void *list = NULL;                                                      \
		int ret = aml_version_list(&list, nr_out, aml, &fn##_type, name, o);    \
	                                                                                \
		*out = list;                                                            \
		return ret;                                                             \
	}

#endif
