/*
 * The stage machine's pure part (mlops/stage.h): the states, the
 * versions of a model, and the planners that order the tag writes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/json.h"
#include "mlops/stage.h"
#include "core/banned.h"

static const char *const stage_names[STAGE_NR] = {
	"missing", "unstaged", "staged", "production", "surpassed", "other",
};

const char *stage_name(enum stage s)
{
	return (unsigned)s < STAGE_NR ? stage_names[s] : "other";
}

enum stage stage_parse(const char *tag)
{
	int s;

	if (!tag)
		return STAGE_MISSING;
	/* "missing" is no tag at all, never a value. */
	for (s = STAGE_UNSTAGED; s < STAGE_OTHER; s++)
		if (!strcmp(tag, stage_names[s]))
			return (enum stage)s;
	return STAGE_OTHER;
}

/* ---- the model ---- */

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void stage_model_release(struct stage_model *m)
{
	size_t i;

	for (i = 0; i < m->nr; i++) {
		free(m->v[i].version);
		free(m->v[i].tag);
		free(m->v[i].created_at);
		free(m->v[i].history);
	}
	free(m->v);
	free(m->name);
	memset(m, 0, sizeof(*m));
}

static struct stage_version *model_push(struct stage_model *m, const char *version)
{
	struct stage_version *v;

	m->v = xrealloc(m->v, (m->nr + 1) * sizeof(*m->v));
	v = &m->v[m->nr++];
	memset(v, 0, sizeof(*v));
	v->version = xstrdup(version ? version : "");
	return v;
}

void stage_model_add(struct stage_model *m, const char *version, enum stage s,
		     const char *created_at)
{
	struct stage_version *v = model_push(m, version);

	v->stage = s;
	v->tag = s == STAGE_MISSING ? NULL : xstrdup(stage_name(s));
	v->created_at = dup_or_null(created_at);
}

void stage_model_from(struct stage_model *out, const char *name,
		      const struct aml_model_version *v, size_t nr)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->name = xstrdup(name ? name : "");
	for (i = 0; i < nr; i++) {
		const cJSON *tags = v[i].asset.tags;
		const cJSON *tag = cJSON_GetObjectItemCaseSensitive(tags, STAGE_TAG);
		const char *history = json_string_or(tags, STAGE_HISTORY_TAG, NULL);
		struct stage_version *s = model_push(out, v[i].asset.version);

		/* A tag that is no string counts as some other stage, not none. */
		s->tag = tag ? xstrdup(cJSON_IsString(tag) ? tag->valuestring : "") : NULL;
		s->stage = stage_parse(s->tag);
		s->created_at = dup_or_null(v[i].asset.created_at);
		s->history = dup_or_null(history);
		s->archived = v[i].asset.is_archived;
	}
}

long stage_model_find(const struct stage_model *m, const char *version)
{
	size_t i;

	for (i = 0; version && i < m->nr; i++)
		if (!strcmp(m->v[i].version, version))
			return (long)i;
	return -1;
}

size_t stage_model_count(const struct stage_model *m, enum stage s)
{
	size_t i, n = 0;

	for (i = 0; i < m->nr; i++)
		n += m->v[i].stage == s;
	return n;
}

int stage_model_valid(const struct stage_model *m)
{
	return stage_model_count(m, STAGE_STAGED) <= 1 && stage_model_count(m, STAGE_PRODUCTION) <= 1;
}

static void set_stage(struct stage_version *v, enum stage s)
{
	free(v->tag);
	v->stage = s;
	v->tag = s == STAGE_MISSING ? NULL : xstrdup(stage_name(s));
}

void stage_model_apply_prefix(struct stage_model *m, const struct stage_plan *p, size_t k)
{
	size_t i;

	for (i = 0; i < k && i < p->nr; i++) {
		long at = stage_model_find(m, p->writes[i].version);

		if (at >= 0)
			set_stage(&m->v[at], p->writes[i].to);
	}
}

/* A positive decimal integer (workspace versions are). */
static int version_number(const char *s, unsigned long long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	/* Too long a number is no number: ULLONG_MAX for all would tie. */
	return *end || errno == ERANGE ? -1 : 0;
}

/* Whether `a` is newer than `b`: by number when both are numbers, else by
 * creation time, else by name, so the choice never depends on the order
 * Azure listed them in. */
static int is_newer(const struct stage_version *a, const struct stage_version *b)
{
	unsigned long long na, nb;
	int c;

	if (!version_number(a->version, &na) && !version_number(b->version, &nb) && na != nb)
		return na > nb;
	c = strcmp(a->created_at ? a->created_at : "", b->created_at ? b->created_at : "");
	return c ? c > 0 : strcmp(a->version, b->version) > 0;
}

/* The newest version in stage `s` that `skip` (may be NULL) does not
 * mark, or -1. */
static long newest_in(const struct stage_model *m, enum stage s, const enum stage *skip)
{
	long best = -1;
	size_t i;

	for (i = 0; i < m->nr; i++)
		if (m->v[i].stage == s && (!skip || skip[i] == STAGE_OTHER) &&
		    (best < 0 || is_newer(&m->v[i], &m->v[best])))
			best = (long)i;
	return best;
}

/* ---- plans ---- */

void stage_plan_release(struct stage_plan *p)
{
	size_t i;

	for (i = 0; i < p->nr; i++) {
		free(p->writes[i].version);
		free(p->writes[i].reason);
	}
	for (i = 0; i < p->warnings_nr; i++)
		free(p->warnings[i]);
	free(p->writes);
	free(p->warnings);
	memset(p, 0, sizeof(*p));
}

static void add_write(struct stage_plan *p, const char *version, enum stage from, enum stage to,
		      const char *why)
{
	struct stage_write *w;
	struct buf reason = BUF_INIT;

	buf_addf(&reason, "%s: %s %s -> %s", why, version, stage_name(from), stage_name(to));
	p->writes = xrealloc(p->writes, (p->nr + 1) * sizeof(*p->writes));
	w = &p->writes[p->nr++];
	w->version = xstrdup(version);
	w->from = from;
	w->to = to;
	w->reason = buf_detach(&reason, NULL);
}

static void add_warning(struct stage_plan *p, struct buf *text)
{
	p->warnings = xrealloc(p->warnings, (p->warnings_nr + 1) * sizeof(*p->warnings));
	p->warnings[p->warnings_nr++] = buf_detach(text, NULL);
}

static int holds_one(enum stage s)
{
	return s == STAGE_STAGED || s == STAGE_PRODUCTION;
}

static int check_target(const struct stage_model *m, const enum stage *target)
{
	size_t i, staged = 0, production = 0;

	for (i = 0; i < m->nr; i++) {
		enum stage t = target[i] == STAGE_OTHER ? m->v[i].stage : target[i];

		staged += t == STAGE_STAGED;
		production += t == STAGE_PRODUCTION;
	}
	if (staged > 1 || production > 1)
		return error_set(ERR_CONFLICT, "model %s: the stages planned would leave %zu staged "
				 "and %zu production versions", m->name ? m->name : "", staged,
				 production);
	return 0;
}

/* Whether a version other than `i` holds `s` in `cur`. */
static int held_by_other(const enum stage *cur, size_t nr, size_t i, enum stage s)
{
	size_t j;

	for (j = 0; j < nr; j++)
		if (j != i && cur[j] == s)
			return 1;
	return 0;
}

/*
 * The promotions, each once nobody else holds its stage; when every one
 * waits on another (the only cycle is a swap of staged and production),
 * the first goes through a neutral stage.
 */
static void plan_promotions(struct stage_plan *out, const struct stage_model *m,
			    enum stage *cur, const enum stage *want, const char *const *why)
{
	size_t i, pending;

	for (;;) {
		int progress = 0;

		for (pending = 0, i = 0; i < m->nr; i++) {
			if (cur[i] == want[i])
				continue;
			if (held_by_other(cur, m->nr, i, want[i])) {
				pending++;
				continue;
			}
			add_write(out, m->v[i].version, cur[i], want[i], why[i]);
			cur[i] = want[i];
			progress = 1;
		}
		if (!pending)
			return;
		if (progress)
			continue;
		for (i = 0; cur[i] == want[i]; i++)
			;
		/* The swap: this one steps aside first. */
		add_write(out, m->v[i].version, cur[i],
			  cur[i] == STAGE_PRODUCTION ? STAGE_SURPASSED : STAGE_UNSTAGED, why[i]);
		cur[i] = cur[i] == STAGE_PRODUCTION ? STAGE_SURPASSED : STAGE_UNSTAGED;
	}
}

/* stage_plan_to with a reason per version. */
static int plan_to(struct stage_plan *out, const struct stage_model *m, const enum stage *target,
		   const char *const *why)
{
	enum stage *cur = NULL, *want = NULL;
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = check_target(m, target)))
		return ret;
	cur = xcalloc(m->nr + 1, sizeof(*cur));
	want = xcalloc(m->nr + 1, sizeof(*want));
	for (i = 0; i < m->nr; i++) {
		cur[i] = m->v[i].stage;
		want[i] = target[i] == STAGE_OTHER ? cur[i] : target[i];
	}
	/* Demotions first: a crash after any of them leaves too few. */
	for (i = 0; i < m->nr; i++)
		if (cur[i] != want[i] && !holds_one(want[i])) {
			add_write(out, m->v[i].version, cur[i], want[i], why[i]);
			cur[i] = want[i];
		}
	plan_promotions(out, m, cur, want, why);
	free(cur);
	free(want);
	return 0;
}

/* Room for a target and a reason per version, every target "leave". */
struct targets {
	enum stage *stage;
	const char **why;
	char **owned;     /* reasons built for this plan */
};

static void targets_init(struct targets *t, const struct stage_model *m, const char *why)
{
	size_t i;

	t->stage = xcalloc(m->nr + 1, sizeof(*t->stage));
	t->why = xcalloc(m->nr + 1, sizeof(*t->why));
	t->owned = xcalloc(m->nr + 1, sizeof(*t->owned));
	for (i = 0; i < m->nr; i++) {
		t->stage[i] = STAGE_OTHER;
		t->why[i] = why;
	}
}

static void targets_set(struct targets *t, size_t i, enum stage s, struct buf *why)
{
	t->stage[i] = s;
	if (why) {
		free(t->owned[i]);
		t->owned[i] = buf_detach(why, NULL);
		t->why[i] = t->owned[i];
	}
}

static int targets_plan(struct stage_plan *out, const struct stage_model *m, struct targets *t)
{
	int ret = plan_to(out, m, t->stage, t->why);
	size_t i;

	for (i = 0; i < m->nr; i++)
		free(t->owned[i]);
	free(t->owned);
	free(t->why);
	free(t->stage);
	return ret;
}

int stage_plan_to(struct stage_plan *out, const struct stage_model *m, const enum stage *target,
		  const char *why)
{
	struct targets t;
	size_t i;

	targets_init(&t, m, why);
	for (i = 0; i < m->nr; i++)
		t.stage[i] = target[i];
	return targets_plan(out, m, &t);
}

/* Every version in `from` but `keep` planned to `to`. */
static void demote_others(struct targets *t, const struct stage_model *m, long keep,
			  enum stage from, enum stage to)
{
	size_t i;

	for (i = 0; i < m->nr; i++)
		if ((long)i != keep && m->v[i].stage == from)
			t->stage[i] = to;
}

static int find_or_fail(long *at, const struct stage_model *m, const char *version)
{
	if ((*at = stage_model_find(m, version)) < 0)
		return error_set(ERR_NOT_FOUND, "model %s has no version '%s'", m->name ? m->name : "",
				 version ? version : "");
	return 0;
}

/* Version `at` to `to` (staged or production), the one there before
 * moving aside. */
static int plan_move(struct stage_plan *out, const struct stage_model *m, long at, enum stage to,
		     const char *why)
{
	struct targets t;

	targets_init(&t, m, why);
	demote_others(&t, m, at, to, to == STAGE_STAGED ? STAGE_UNSTAGED : STAGE_SURPASSED);
	t.stage[at] = to;
	return targets_plan(out, m, &t);
}

int stage_plan_stage(struct stage_plan *out, const struct stage_model *m, const char *challenger)
{
	long at;

	memset(out, 0, sizeof(*out));
	if (find_or_fail(&at, m, challenger))
		return ERR_NOT_FOUND;
	if (m->v[at].stage == STAGE_PRODUCTION)
		return error_set(ERR_CONFLICT, "model %s:%s is in production: it cannot be staged",
				 m->name, challenger);
	return plan_move(out, m, at, STAGE_STAGED, "evaluation won");
}

int stage_plan_deploy(struct stage_plan *out, const struct stage_model *m, const char *version)
{
	long at;

	memset(out, 0, sizeof(*out));
	if (find_or_fail(&at, m, version))
		return ERR_NOT_FOUND;
	if (m->v[at].stage != STAGE_STAGED && m->v[at].stage != STAGE_PRODUCTION)
		return error_set(ERR_CONFLICT, "model %s:%s is %s, not staged: nothing to deploy",
				 m->name, version, stage_name(m->v[at].stage));
	return plan_move(out, m, at, STAGE_PRODUCTION, "deployed");
}

int stage_plan_rollback(struct stage_plan *out, const struct stage_model *m, const char *restored)
{
	long at;

	memset(out, 0, sizeof(*out));
	if (find_or_fail(&at, m, restored))
		return ERR_NOT_FOUND;
	return plan_move(out, m, at, STAGE_PRODUCTION, "rolled back");
}

int stage_plan_restore(struct stage_plan *out, const struct stage_model *m,
		       const struct stage_model *before)
{
	struct targets t;
	size_t i;

	targets_init(&t, m, "rollout breach, restoring the stages as they were");
	for (i = 0; i < m->nr; i++) {
		long at = stage_model_find(before, m->v[i].version);

		/* A tag that was no stage of ours is not ours to write back. */
		if (at >= 0 && before->v[at].stage != STAGE_OTHER)
			t.stage[i] = before->v[at].stage;
	}
	return targets_plan(out, m, &t);
}

/* ---- reconcile ---- */

/* The served version is production, every other production surpassed. */
static void reconcile_served(struct targets *t, const struct stage_model *m, long served)
{
	struct buf why = BUF_INIT;
	size_t i;

	if (m->v[served].stage != STAGE_PRODUCTION) {
		buf_addf(&why, "reconcile: the endpoint serves %s:%s, tagged %s", m->name,
			 m->v[served].version, stage_name(m->v[served].stage));
		targets_set(t, (size_t)served, STAGE_PRODUCTION, &why);
	}
	for (i = 0; i < m->nr; i++)
		if ((long)i != served && m->v[i].stage == STAGE_PRODUCTION) {
			buf_addf(&why, "reconcile: %s:%s was tagged production but the endpoint "
				 "serves %s", m->name, m->v[i].version, m->v[served].version);
			targets_set(t, i, STAGE_SURPASSED, &why);
		}
}

/* Of several versions in `s`, the newest stays, the others go to `to`. */
static void reconcile_newest(struct targets *t, const struct stage_model *m, enum stage s,
			     enum stage to)
{
	long keep = newest_in(m, s, t->stage);
	struct buf why = BUF_INIT;
	size_t i, n = 0;

	/* Versions already given a stage (the served one) are not counted. */
	for (i = 0; i < m->nr; i++)
		n += m->v[i].stage == s && t->stage[i] == STAGE_OTHER;
	if (n < 2)
		return;
	for (i = 0; i < m->nr; i++)
		if ((long)i != keep && m->v[i].stage == s && t->stage[i] == STAGE_OTHER) {
			buf_addf(&why, "reconcile: %zu versions of %s were %s; the newest, %s, stays",
				 n, m->name, stage_name(s), m->v[keep].version);
			targets_set(t, i, to, &why);
		}
}

static void served_warning(struct stage_plan *out, const struct stage_model *m,
			   enum stage_served served, const char *served_version)
{
	long production = newest_in(m, STAGE_PRODUCTION, NULL);
	struct buf text = BUF_INIT;

	if (served == STAGE_SERVED_VERSION)
		buf_addf(&text, "reconcile: the endpoint serves %s:%s, which the registry does not "
			 "list: production tags left as they are", m->name, served_version);
	else if (served == STAGE_SERVED_NONE && production >= 0)
		buf_addf(&text, "reconcile: the endpoint serves no version of %s; %s stays tagged "
			 "production", m->name, m->v[production].version);
	if (text.len)
		add_warning(out, &text);
	buf_release(&text);
}

int stage_plan_reconcile(struct stage_plan *out, const struct stage_model *m,
			 enum stage_served served, const char *served_version)
{
	long at = served == STAGE_SERVED_VERSION ? stage_model_find(m, served_version) : -1;
	struct stage_plan warnings = STAGE_PLAN_INIT;
	struct targets t;
	int ret;

	targets_init(&t, m, "reconcile");
	if (at >= 0)
		reconcile_served(&t, m, at);
	else
		reconcile_newest(&t, m, STAGE_PRODUCTION, STAGE_SURPASSED);
	reconcile_newest(&t, m, STAGE_STAGED, STAGE_UNSTAGED);
	if (at < 0)
		served_warning(&warnings, m, served, served_version);
	if (!(ret = targets_plan(out, m, &t))) {
		out->warnings = warnings.warnings;
		out->warnings_nr = warnings.warnings_nr;
		warnings.warnings = NULL;
		warnings.warnings_nr = 0;
	}
	stage_plan_release(&warnings);
	return ret;
}

/* ---- endpoints ---- */

/* `s` up to `end` (or its end), copied; NULL when empty or holding '/'. */
static char *segment(const char *s, const char *end)
{
	size_t n = end ? (size_t)(end - s) : strlen(s);
	char *out;

	if (!n || memchr(s, '/', n) || memchr(s, ':', n))
		return NULL;
	out = xcalloc(1, n + 1);
	memcpy(out, s, n);
	return out;
}

static const char *find_ci(const char *s, const char *needle)
{
	const char *found = NULL;
	size_t n = strlen(needle);

	for (; *s; s++)
		if (!strncasecmp(s, needle, n))
			found = s;   /* the last one: a registry id has models once, but be sure */
	return found;
}

int stage_model_ref(char **name, char **version, const char *model_id)
{
	const char *models, *slash, *sep;

	*name = *version = NULL;
	if (!model_id)
		model_id = "";
	if (!strncmp(model_id, "azureml:", 8) && model_id[8] != '/') {
		sep = strchr(model_id + 8, ':');
		*name = sep ? segment(model_id + 8, sep) : NULL;
		*version = sep ? segment(sep + 1, NULL) : NULL;
	} else if ((models = find_ci(model_id, "/models/"))) {
		models += strlen("/models/");
		slash = strchr(models, '/');
		if (slash && !strncasecmp(slash, "/versions/", 10)) {
			*name = segment(models, slash);
			*version = segment(slash + 10, NULL);
		}
	}
	if (*name && *version)
		return 0;
	free(*name);
	free(*version);
	*name = *version = NULL;
	return error_set(ERR_INPUT, "model id '%.200s' is neither .../models/<name>/versions/<version> "
			 "nor azureml:<name>:<version>", model_id);
}

/* The deployment with the largest share of traffic; NULL on a tie or none. */
static const char *busiest(const struct aml_endpoint *e, int *none)
{
	const char *best = NULL;
	int top = 0, tie = 0;
	size_t i;

	for (i = 0; i < e->traffic_nr; i++) {
		if (e->traffic[i].percent > top) {
			top = e->traffic[i].percent;
			best = e->traffic[i].deployment;
			tie = 0;
		} else if (top && e->traffic[i].percent == top) {
			tie = 1;
		}
	}
	*none = !top;
	return tie ? NULL : best;
}

enum stage_served stage_served(char **version, const struct aml_endpoint *e,
			       const struct aml_deployment *d, size_t nr, const char *model)
{
	enum stage_served ret = STAGE_SERVED_UNKNOWN;
	char *name = NULL, *v = NULL;
	const char *dep;
	int none;
	size_t i;

	*version = NULL;
	if (!e)
		return STAGE_SERVED_UNKNOWN;
	if (!(dep = busiest(e, &none)))
		return none ? STAGE_SERVED_NONE : STAGE_SERVED_UNKNOWN;
	for (i = 0; i < nr; i++)
		if (d[i].name && !strcmp(d[i].name, dep))
			break;
	if (i == nr || stage_model_ref(&name, &v, d[i].model_id)) {
		error_clear();
		return STAGE_SERVED_UNKNOWN;
	}
	if (model && !strcmp(name, model)) {
		*version = v;
		v = NULL;
		ret = STAGE_SERVED_VERSION;
	} else {
		ret = STAGE_SERVED_NONE;
	}
	free(name);
	free(v);
	return ret;
}
