/*
 * The stage machine's writes (mlops/stage.h): each tag write re-reads
 * the version first and reads it back after, because asset versions
 * have no ETag (azure-contract 3.6) and aml_model_set_tags PUTs the
 * whole body it just read: a lost race must be seen, not papered over.
 */
#include <stdlib.h>
#include <string.h>

#include "core/encode.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "mlops/stage.h"
#include "core/banned.h"

/* The tag of `v` named `key`: its string, "" when not a string, NULL
 * when absent. */
static const char *tag_of(const struct aml_model_version *v, const char *key)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(v->asset.tags, key);

	if (!t)
		return NULL;
	return cJSON_IsString(t) ? t->valuestring : "";
}

/* Refuses a version whose stage is no longer what the plan expected. */
static int check_expected(const struct aml_model_version *v, const char *model,
			  const struct stage_write *w)
{
	const char *tag = tag_of(v, STAGE_TAG);

	if (stage_parse(tag) == w->from)
		return 0;
	return error_set(ERR_CONFLICT, "model %s:%s: its stage tag is now %s%s%s, the plan "
			 "expected %s: someone else changed it since it was read; not "
			 "overwritten (run again to plan from what is there)", model, w->version,
			 tag ? "'" : "", tag ? excerpt(tag) : "missing", tag ? "'" : "",
			 stage_name(w->from));
}

/* The history tag after the write: the one read, plus this move. */
static void next_history(struct buf *out, const struct aml_model_version *v,
			 const struct stage_write *w, const struct stage_apply_options *o)
{
	struct stage_history h;
	struct stage_event e;

	stage_history_parse(&h, tag_of(v, STAGE_HISTORY_TAG));
	if (h.skipped)
		log_warning("model version %s: %zu entries of its %s tag are not understood and are "
			    "dropped", w->version, h.skipped, STAGE_HISTORY_TAG);
	stage_event_set(&e, w->from, w->to, o->now, o->commit, o->run_url);
	stage_history_add(&h, &e);
	stage_history_encode(out, &h);
	stage_history_release(&h);
}

static int verify(const struct aml_model_version *v, const char *model,
		  const struct stage_write *w, const char *history)
{
	const char *stage = tag_of(v, STAGE_TAG);
	const char *h = tag_of(v, STAGE_HISTORY_TAG);
	int stage_ok = w->to == STAGE_MISSING ? !stage : stage && !strcmp(stage, stage_name(w->to));

	if (stage_ok && h && !strcmp(h, history))
		return 0;
	return error_set(ERR_CONFLICT, "model %s:%s: read back after the write, its stage tag is "
			 "'%s' (written: %s)%s: another writer raced this one, or Azure did not "
			 "keep the tags", model, w->version, stage ? excerpt(stage) : "missing",
			 stage_name(w->to), stage_ok ? " and its history is not the one written" : "");
}

static int apply_one(struct aml *aml, const char *model, const struct stage_write *w,
		     const struct stage_apply_options *o)
{
	struct aml_model_version v, put, back;
	struct buf history = BUF_INIT;
	const char *remove[] = { STAGE_TAG, NULL };
	cJSON *set = json_new_object();
	int ret;

	memset(&put, 0, sizeof(put));
	memset(&back, 0, sizeof(back));
	if ((ret = aml_model_version_get(&v, aml, model, w->version)) ||
	    (ret = check_expected(&v, model, w)))
		goto done;
	next_history(&history, &v, w, o);
	if (w->to != STAGE_MISSING)
		json_add_string(set, STAGE_TAG, stage_name(w->to));
	json_add_string(set, STAGE_HISTORY_TAG, history.data);
	if ((ret = aml_model_set_tags(&put, aml, model, w->version, set,
				      w->to == STAGE_MISSING ? remove : NULL)))
		goto done;
	if (!(ret = aml_model_version_get(&back, aml, model, w->version)))
		ret = verify(&back, model, w, history.data);
done:
	aml_model_version_release(&v);
	aml_model_version_release(&put);
	aml_model_version_release(&back);
	cJSON_Delete(set);
	buf_release(&history);
	return ret;
}

int stage_apply(size_t *done, struct aml *aml, const char *model, const struct stage_plan *p,
		const struct stage_apply_options *o)
{
	size_t i;
	int ret = 0;

	if (done)
		*done = 0;
	for (i = 0; i < p->nr; i++) {
		log_info("model %s: %s", model, p->writes[i].reason);
		if ((ret = apply_one(aml, model, &p->writes[i], o))) {
			error_prefix("model %s: stage write %zu of %zu (%s)", model, i + 1, p->nr,
				     p->writes[i].reason);
			break;
		}
		if (done)
			*done = i + 1;
	}
	return ret;
}

int stage_load(struct stage_model *out, struct aml *aml, const char *model)
{
	struct aml_model_version *v = NULL;
	size_t nr = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = aml_model_version_list(&v, &nr, aml, model, NULL)))
		return error_prefix("model %s's versions", model);
	stage_model_from(out, model, v, nr);
	aml_model_versions_free(v, nr);
	return 0;
}

static void add_notice(char ***notices, size_t *nr, const char *text)
{
	*notices = xrealloc(*notices, (*nr + 1) * sizeof(**notices));
	(*notices)[(*nr)++] = xstrdup(text);
}

int stage_reconcile(char ***notices, size_t *notices_nr, struct stage_model *m,
		    struct aml *aml, const char *model, enum stage_served served,
		    const char *served_version, const struct stage_apply_options *o)
{
	struct stage_model here = STAGE_MODEL_INIT;
	struct stage_plan p = STAGE_PLAN_INIT;
	size_t i, done = 0;
	int ret;

	*notices = NULL;
	*notices_nr = 0;
	if (m)
		memset(m, 0, sizeof(*m));
	if ((ret = stage_load(&here, aml, model)) ||
	    (ret = stage_plan_reconcile(&p, &here, served, served_version)))
		goto done;
	for (i = 0; i < p.warnings_nr; i++) {
		log_warning("%s", p.warnings[i]);
		add_notice(notices, notices_nr, p.warnings[i]);
	}
	ret = stage_apply(&done, aml, model, &p, o);
	/* What was repaired is said even when a later repair failed. */
	for (i = 0; i < done; i++) {
		log_notice("%s", p.writes[i].reason);
		add_notice(notices, notices_nr, p.writes[i].reason);
	}
	stage_model_apply_prefix(&here, &p, done);
	if (m && !ret) {
		*m = here;
		memset(&here, 0, sizeof(here));
	}
done:
	stage_plan_release(&p);
	stage_model_release(&here);
	return ret;
}
