#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/json.h"
#include "core/log.h"
#include "mlops/stage.h"
#include "support/arm_stub.h"
#include "support/check.h"

/* The five stages a version can be in, for the exhaustive loops. */
static const enum stage all[] = {
	STAGE_MISSING, STAGE_UNSTAGED, STAGE_STAGED, STAGE_PRODUCTION, STAGE_SURPASSED,
};
#define ALL_NR 5

/* Model "m" with versions "1".."n" in the stages `s`. */
static void model(struct stage_model *m, const enum stage *s, size_t n)
{
	char v[24];
	size_t i;

	memset(m, 0, sizeof(*m));
	m->name = xstrdup("m");
	for (i = 0; i < n; i++) {
		snprintf(v, sizeof(v), "%zu", i + 1);
		stage_model_add(m, v, s[i], NULL);
	}
}

/* The n-digit base-5 counter `code` as stages. */
static void decode(enum stage *s, size_t n, unsigned code)
{
	size_t i;

	for (i = 0; i < n; i++, code /= ALL_NR)
		s[i] = all[code % ALL_NR];
}

static unsigned power5(size_t n)
{
	unsigned p = 1;

	while (n--)
		p *= ALL_NR;
	return p;
}

static void copy(struct stage_model *out, const struct stage_model *m)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->name = xstrdup(m->name);
	for (i = 0; i < m->nr; i++)
		stage_model_add(out, m->v[i].version, m->v[i].stage, NULL);
}

static const char *version_in(const struct stage_model *m, enum stage s)
{
	size_t i;

	for (i = 0; i < m->nr; i++)
		if (m->v[i].stage == s)
			return m->v[i].version;
	return NULL;
}

/*
 * Walks `p` over a copy of `m` write by write: each write's `from` is what
 * the version is at that point (so a sequential apply passes its race
 * check), and no prefix holds more staged or production versions than
 * max(1, what `m` held): a crash leaves too few, never two.
 */
static void check_every_prefix(const struct stage_model *m, const struct stage_plan *p)
{
	size_t max_s = stage_model_count(m, STAGE_STAGED), max_p = stage_model_count(m, STAGE_PRODUCTION);
	struct stage_plan one = { NULL, 1, NULL, 0 };
	struct stage_model w;
	size_t k;

	max_s = max_s > 1 ? max_s : 1;
	max_p = max_p > 1 ? max_p : 1;
	copy(&w, m);
	for (k = 0; k < p->nr; k++) {
		long at = stage_model_find(&w, p->writes[k].version);

		cr_assert_geq(at, 0, "write %zu names version %s", k, p->writes[k].version);
		cr_assert_eq(w.v[at].stage, p->writes[k].from, "write %zu (%s): from %s, but it is %s",
			     k, p->writes[k].reason, stage_name(p->writes[k].from),
			     stage_name(w.v[at].stage));
		cr_assert_neq(p->writes[k].from, p->writes[k].to);
		one.writes = &p->writes[k];
		stage_model_apply_prefix(&w, &one, 1);
		cr_assert_leq(stage_model_count(&w, STAGE_STAGED), max_s, "after write %zu", k);
		cr_assert_leq(stage_model_count(&w, STAGE_PRODUCTION), max_p, "after write %zu", k);
	}
	stage_model_release(&w);
}

/*
 * The crash points: for each prefix of `p` over a (valid) `m`, the state
 * is valid, and reconcile with the endpoint serving `served` (NULL: none)
 * repairs it to a valid state with `served` in production.
 */
static void check_crash_points(const struct stage_model *m, const struct stage_plan *p,
			       const char *served)
{
	size_t k;

	for (k = 0; k <= p->nr; k++) {
		struct stage_plan r = STAGE_PLAN_INIT;
		struct stage_model w;

		copy(&w, m);
		stage_model_apply_prefix(&w, p, k);
		cr_assert(stage_model_valid(&w), "invalid after %zu of %zu writes", k, p->nr);
		cr_assert_ok(stage_plan_reconcile(&r, &w, served ? STAGE_SERVED_VERSION : STAGE_SERVED_NONE,
						  served));
		check_every_prefix(&w, &r);
		stage_model_apply_prefix(&w, &r, r.nr);
		cr_assert(stage_model_valid(&w));
		if (served)
			cr_assert_str_eq(version_in(&w, STAGE_PRODUCTION), served, "after %zu writes", k);
		stage_plan_release(&r);
		stage_model_release(&w);
	}
}

static void finish(struct stage_model *w, const struct stage_model *m, const struct stage_plan *p)
{
	copy(w, m);
	stage_model_apply_prefix(w, p, p->nr);
}

/* ---- names ---- */

Test(stage, names_and_parse_round_trip)
{
	size_t i;

	for (i = 1; i < ALL_NR; i++)
		cr_assert_eq(stage_parse(stage_name(all[i])), all[i]);
	cr_assert_eq(stage_parse(NULL), STAGE_MISSING);
	cr_assert_eq(stage_parse("missing"), STAGE_OTHER, "'missing' is no tag, never a value");
	cr_assert_eq(stage_parse("Production"), STAGE_OTHER);
	cr_assert_eq(stage_parse(""), STAGE_OTHER);
	cr_assert_eq(stage_parse("staging"), STAGE_OTHER);
	cr_assert_str_eq(stage_name(STAGE_MISSING), "missing");
	cr_assert_str_eq(stage_name((enum stage)99), "other");
}

/* ---- the general planner ---- */

Test(stage, demotions_come_before_promotions)
{
	static const enum stage s[] = { STAGE_PRODUCTION, STAGE_STAGED, STAGE_UNSTAGED };
	static const enum stage t[] = { STAGE_SURPASSED, STAGE_PRODUCTION, STAGE_STAGED };
	struct stage_model m;
	struct stage_plan p;

	model(&m, s, 3);
	cr_assert_ok(stage_plan_to(&p, &m, t, "test"));
	cr_assert_eq(p.nr, 3);
	cr_assert_str_eq(p.writes[0].version, "1");
	cr_assert_eq(p.writes[0].to, STAGE_SURPASSED);
	/* 2 leaves staged before 3 enters it. */
	cr_assert_str_eq(p.writes[1].version, "2");
	cr_assert_str_eq(p.writes[2].version, "3");
	cr_assert_str_eq(p.writes[1].reason, "test: 2 staged -> production");
	stage_plan_release(&p);
	stage_model_release(&m);
}

Test(stage, a_swap_steps_aside_first)
{
	static const enum stage s[] = { STAGE_PRODUCTION, STAGE_STAGED };
	static const enum stage t[] = { STAGE_STAGED, STAGE_PRODUCTION };
	struct stage_model m, w;
	struct stage_plan p;

	model(&m, s, 2);
	cr_assert_ok(stage_plan_to(&p, &m, t, "swap"));
	cr_assert_eq(p.nr, 3);
	cr_assert_eq(p.writes[0].to, STAGE_SURPASSED);
	check_every_prefix(&m, &p);
	finish(&w, &m, &p);
	cr_assert_eq(w.v[0].stage, STAGE_STAGED);
	cr_assert_eq(w.v[1].stage, STAGE_PRODUCTION);
	stage_model_release(&w);
	stage_plan_release(&p);
	stage_model_release(&m);
}

Test(stage, a_target_with_two_of_a_kind_is_refused)
{
	static const enum stage s[] = { STAGE_UNSTAGED, STAGE_UNSTAGED };
	static const enum stage t[] = { STAGE_STAGED, STAGE_STAGED };
	static const enum stage keep[] = { STAGE_OTHER, STAGE_PRODUCTION };
	static const enum stage s2[] = { STAGE_PRODUCTION, STAGE_UNSTAGED };
	struct stage_model m;
	struct stage_plan p;

	model(&m, s, 2);
	cr_assert_fails(stage_plan_to(&p, &m, t, "x"), ERR_CONFLICT, "2 staged");
	stage_model_release(&m);
	/* STAGE_OTHER keeps the version's stage, and so counts it. */
	model(&m, s2, 2);
	cr_assert_fails(stage_plan_to(&p, &m, keep, "x"), ERR_CONFLICT, "2 production");
	stage_model_release(&m);
}

/* Calls `each(a, b)` for every pair of models of 1 to 3 versions. */
static size_t for_pairs(void (*each)(const struct stage_model *a, const struct stage_model *b))
{
	size_t pairs = 0;

	for (size_t n = 1; n <= 3; n++)
		for (unsigned x = 0; x < power5(n); x++)
			for (unsigned y = 0; y < power5(n); y++) {
				enum stage s[3], t[3];
				struct stage_model ma, mb;

				decode(s, n, x);
				decode(t, n, y);
				model(&ma, s, n);
				model(&mb, t, n);
				each(&ma, &mb);
				stage_model_release(&ma);
				stage_model_release(&mb);
				pairs++;
			}
	return pairs;
}

/* The plan from `m` to the stages of `target` reaches them, and every
 * prefix keeps the invariant; an invalid target is refused. */
static void each_target(const struct stage_model *m, const struct stage_model *target)
{
	enum stage t[3];
	struct stage_model w;
	struct stage_plan p;
	size_t i;

	for (i = 0; i < target->nr; i++)
		t[i] = target->v[i].stage;
	if (!stage_model_valid(target)) {
		cr_assert_eq(stage_plan_to(&p, m, t, "t"), ERR_CONFLICT);
		return;
	}
	cr_assert_ok(stage_plan_to(&p, m, t, "t"));
	check_every_prefix(m, &p);
	finish(&w, m, &p);
	for (i = 0; i < m->nr; i++)
		cr_assert_eq(w.v[i].stage, t[i]);
	stage_model_release(&w);
	stage_plan_release(&p);
}

Test(stage, every_start_to_every_target)
{
	cr_assert_eq(for_pairs(each_target), 5 * 5 + 25 * 25 + 125 * 125);
}

/* ---- the transitions, exhaustively ---- */

/* Calls `each(m, i)` for every valid start of 1 to 4 versions and every
 * version i. */
static void for_valid_starts(void (*each)(const struct stage_model *m, size_t i))
{
	for (size_t n = 1; n <= 4; n++)
		for (unsigned a = 0; a < power5(n); a++) {
			enum stage s[4];
			struct stage_model m;

			decode(s, n, a);
			model(&m, s, n);
			if (stage_model_valid(&m))
				for (size_t i = 0; i < n; i++)
					each(&m, i);
			stage_model_release(&m);
		}
}

static void each_stage(const struct stage_model *m, size_t i)
{
	const char *prod = version_in(m, STAGE_PRODUCTION);
	struct stage_model w;
	struct stage_plan p;

	if (m->v[i].stage == STAGE_PRODUCTION) {
		cr_assert_fails(stage_plan_stage(&p, m, m->v[i].version), ERR_CONFLICT,
				"is in production");
		return;
	}
	cr_assert_ok(stage_plan_stage(&p, m, m->v[i].version));
	check_every_prefix(m, &p);
	check_crash_points(m, &p, prod);
	finish(&w, m, &p);
	cr_assert_eq(w.v[i].stage, STAGE_STAGED);
	cr_assert_eq(stage_model_count(&w, STAGE_STAGED), 1);
	/* Production is untouched; the old staged one is unstaged. */
	for (size_t j = 0; j < m->nr; j++)
		if (j != i)
			cr_assert_eq(w.v[j].stage, m->v[j].stage == STAGE_STAGED ? STAGE_UNSTAGED
										  : m->v[j].stage);
	cr_assert_eq(p.nr, (m->v[i].stage != STAGE_STAGED) + (version_in(m, STAGE_STAGED) &&
							      m->v[i].stage != STAGE_STAGED));
	if (p.nr == 2)
		cr_assert_eq(p.writes[0].to, STAGE_UNSTAGED, "the staged one leaves first");
	stage_model_release(&w);
	stage_plan_release(&p);
}

Test(stage, evaluation_won_from_every_start)
{
	for_valid_starts(each_stage);
}

/* After a plan putting version i in production (crashes included, the
 * endpoint serving i): it is production, the one before surpassed,
 * nothing else moved. */
static void check_put_in_production(const struct stage_model *m, const struct stage_plan *p,
				    size_t i)
{
	struct stage_model w;

	check_every_prefix(m, p);
	/* The caller makes these moves only once the endpoint serves i. */
	check_crash_points(m, p, m->v[i].version);
	finish(&w, m, p);
	cr_assert_str_eq(version_in(&w, STAGE_PRODUCTION), m->v[i].version);
	cr_assert(stage_model_valid(&w));
	for (size_t j = 0; j < m->nr; j++)
		if (j != i)
			cr_assert_eq(w.v[j].stage, m->v[j].stage == STAGE_PRODUCTION ? STAGE_SURPASSED
										      : m->v[j].stage);
	if (p->nr == 2) {
		cr_assert_eq(p->writes[0].to, STAGE_SURPASSED, "old production leaves first");
		cr_assert_eq(p->writes[1].to, STAGE_PRODUCTION);
	}
	if (m->v[i].stage == STAGE_PRODUCTION)
		cr_assert_eq(p->nr, 0);
	stage_model_release(&w);
}

static void each_deploy(const struct stage_model *m, size_t i)
{
	struct stage_plan p;

	if (m->v[i].stage != STAGE_STAGED && m->v[i].stage != STAGE_PRODUCTION) {
		cr_assert_fails(stage_plan_deploy(&p, m, m->v[i].version), ERR_CONFLICT, "not staged");
		return;
	}
	cr_assert_ok(stage_plan_deploy(&p, m, m->v[i].version));
	check_put_in_production(m, &p, i);
	stage_plan_release(&p);
}

Test(stage, deploy_from_every_start)
{
	for_valid_starts(each_deploy);
}

static void each_rollback(const struct stage_model *m, size_t i)
{
	struct stage_plan p;

	cr_assert_ok(stage_plan_rollback(&p, m, m->v[i].version));
	check_put_in_production(m, &p, i);
	stage_plan_release(&p);
}

Test(stage, rollback_from_every_start)
{
	for_valid_starts(each_rollback);
}

/* A breach restores every (valid) state before from every (valid) now. */
static void each_restore(const struct stage_model *now, const struct stage_model *before)
{
	struct stage_model w;
	struct stage_plan p;

	if (!stage_model_valid(now) || !stage_model_valid(before))
		return;
	cr_assert_ok(stage_plan_restore(&p, now, before));
	check_every_prefix(now, &p);
	finish(&w, now, &p);
	for (size_t i = 0; i < now->nr; i++)
		cr_assert_eq(w.v[i].stage, before->v[i].stage);
	stage_model_release(&w);
	stage_plan_release(&p);
}

Test(stage, breach_restores_every_before_state)
{
	for_pairs(each_restore);
}

Test(stage, restore_leaves_versions_it_did_not_know)
{
	static const enum stage s[] = { STAGE_PRODUCTION, STAGE_STAGED, STAGE_UNSTAGED };
	static const enum stage b[] = { STAGE_STAGED, STAGE_PRODUCTION };
	struct stage_model now, before, w;
	struct stage_plan p;

	model(&now, s, 3);
	model(&before, b, 2);
	cr_assert_ok(stage_plan_restore(&p, &now, &before));
	finish(&w, &now, &p);
	cr_assert_eq(w.v[0].stage, STAGE_STAGED);
	cr_assert_eq(w.v[1].stage, STAGE_PRODUCTION);
	cr_assert_eq(w.v[2].stage, STAGE_UNSTAGED);
	cr_assert(strstr(p.writes[0].reason, "rollout breach") != NULL);
	stage_model_release(&w);
	stage_plan_release(&p);
	stage_model_release(&now);
	stage_model_release(&before);
}

Test(stage, unknown_versions_are_not_found)
{
	static const enum stage s[] = { STAGE_STAGED };
	struct stage_model m;
	struct stage_plan p;

	model(&m, s, 1);
	cr_assert_fails(stage_plan_stage(&p, &m, "7"), ERR_NOT_FOUND, "model m has no version '7'");
	cr_assert_fails(stage_plan_deploy(&p, &m, "7"), ERR_NOT_FOUND, "'7'");
	cr_assert_fails(stage_plan_rollback(&p, &m, NULL), ERR_NOT_FOUND, "no version ''");
	stage_model_release(&m);
}

/* ---- reconcile ---- */

/* Every start of up to 4 versions, valid or not, with every endpoint
 * answer: the result is valid; what the endpoint serves is production. */
static void reconcile_each(const struct stage_model *m, enum stage_served served, const char *v)
{
	struct stage_model w;
	struct stage_plan p;

	cr_assert_ok(stage_plan_reconcile(&p, m, served, v));
	check_every_prefix(m, &p);
	finish(&w, m, &p);
	cr_assert(stage_model_valid(&w));
	if (served == STAGE_SERVED_VERSION && stage_model_find(m, v) >= 0)
		cr_assert_str_eq(version_in(&w, STAGE_PRODUCTION), v);
	/* Production is never taken away when nothing says which is right. */
	if (served != STAGE_SERVED_VERSION || stage_model_find(m, v) < 0)
		cr_assert_eq(!!version_in(&w, STAGE_PRODUCTION), !!version_in(m, STAGE_PRODUCTION));
	/* Staged never vanishes, unless the endpoint serves it. */
	cr_assert(!version_in(m, STAGE_STAGED) || version_in(&w, STAGE_STAGED) ||
		  (served == STAGE_SERVED_VERSION && stage_model_find(m, v) >= 0 &&
		   m->v[stage_model_find(m, v)].stage == STAGE_STAGED));
	/* Reconcile is idempotent. */
	{
		struct stage_plan again;

		cr_assert_ok(stage_plan_reconcile(&again, &w, served, v));
		cr_assert_eq(again.nr, 0, "second reconcile wrote %s", again.nr ? again.writes[0].reason : "");
		stage_plan_release(&again);
	}
	stage_model_release(&w);
	stage_plan_release(&p);
}

Test(stage, reconcile_every_start)
{
	for (size_t n = 1; n <= 4; n++)
		for (unsigned a = 0; a < power5(n); a++) {
			enum stage s[4];
			struct stage_model m;
			char v[24];

			decode(s, n, a);
			model(&m, s, n);
			reconcile_each(&m, STAGE_SERVED_UNKNOWN, NULL);
			reconcile_each(&m, STAGE_SERVED_NONE, NULL);
			reconcile_each(&m, STAGE_SERVED_VERSION, "99");
			for (size_t i = 0; i < n; i++) {
				snprintf(v, sizeof(v), "%zu", i + 1);
				reconcile_each(&m, STAGE_SERVED_VERSION, v);
			}
			stage_model_release(&m);
		}
}

/* A reconcile case: the model in stages `s`, its plan, the model after. */
struct rc {
	struct stage_model m, w;
	struct stage_plan p;
};

static void rc_run(struct rc *c, const enum stage *s, size_t n, enum stage_served served,
		   const char *v)
{
	model(&c->m, s, n);
	cr_assert_ok(stage_plan_reconcile(&c->p, &c->m, served, v));
	finish(&c->w, &c->m, &c->p);
}

static void rc_done(struct rc *c)
{
	stage_model_release(&c->w);
	stage_plan_release(&c->p);
	stage_model_release(&c->m);
}

/* The writes of `p` as "2 production->surpassed, 1 surpassed->production". */
static void plan_text(struct buf *out, const struct stage_plan *p)
{
	for (size_t i = 0; i < p->nr; i++)
		buf_addf(out, "%s%s %s->%s", i ? ", " : "", p->writes[i].version,
			 stage_name(p->writes[i].from), stage_name(p->writes[i].to));
}

#define P STAGE_PRODUCTION
#define S STAGE_STAGED
#define X STAGE_SURPASSED
#define U STAGE_UNSTAGED

Test(stage, reconcile_cases)
{
	static const struct {
		const char *what;
		enum stage s[4];
		size_t n;
		const char *served;         /* NULL: the endpoint serves none */
		const char *writes;
		const char *reason;         /* in the last write's reason */
		const char *staged;         /* staged afterwards */
	} cases[] = {
		{ "sound: nothing to do", { X, P, S }, 3, "2", "", NULL, "3" },
		{ "the older production is served: it stays, whatever the numbers say",
		  { P, P, U }, 3, "1", "2 production->surpassed",
		  "m:2 was tagged production but the endpoint serves 1", NULL },
		{ "a rollback crashed after the endpoint moved back to 1",
		  { X, P, S }, 3, "1", "2 production->surpassed, 1 surpassed->production",
		  "the endpoint serves m:1, tagged surpassed", "3" },
		{ "a deploy crashed between its writes", { X, S }, 2, "2",
		  "2 staged->production", "the endpoint serves m:2, tagged staged", NULL },
		{ "three staged: the newest stays", { S, S, S, P }, 4, "4",
		  "1 staged->unstaged, 2 staged->unstaged",
		  "3 versions of m were staged; the newest, 3, stays", "3" },
		{ "a served staged version is not counted as staged", { S, S, S }, 3, "3",
		  "1 staged->unstaged, 3 staged->production", "the endpoint serves m:3", "2" },
		{ "nothing served: production stays", { P, S }, 2, NULL, "", NULL, "2" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct buf text = BUF_INIT;
		struct rc c;

		rc_run(&c, cases[i].s, cases[i].n,
		       cases[i].served ? STAGE_SERVED_VERSION : STAGE_SERVED_NONE, cases[i].served);
		plan_text(&text, &c.p);
		cr_assert_str_eq(text.data, cases[i].writes, "%s", cases[i].what);
		if (cases[i].reason)
			cr_assert(strstr(c.p.writes[c.p.nr - 1].reason, cases[i].reason), "%s: %s",
				  cases[i].what, c.p.writes[c.p.nr - 1].reason);
		if (cases[i].staged)
			cr_assert_str_eq(version_in(&c.w, S), cases[i].staged, "%s", cases[i].what);
		else
			cr_assert_null(version_in(&c.w, S), "%s", cases[i].what);
		buf_release(&text);
		rc_done(&c);
	}
}

#undef P
#undef S
#undef X
#undef U

Test(stage, a_served_version_the_registry_lacks_is_a_warning)
{
	static const enum stage s[] = { STAGE_PRODUCTION };
	struct rc c;

	rc_run(&c, s, 1, STAGE_SERVED_VERSION, "8");
	cr_assert_eq(c.p.nr, 0);
	cr_assert_eq(c.p.warnings_nr, 1);
	cr_assert(strstr(c.p.warnings[0], "serves m:8, which the registry does not list"));
	rc_done(&c);
}

Test(stage, two_production_without_endpoint_keep_the_newest)
{
	static const enum stage s[] = { STAGE_PRODUCTION, STAGE_UNSTAGED, STAGE_PRODUCTION };
	struct stage_model m;
	struct stage_plan p;

	memset(&m, 0, sizeof(m));
	m.name = xstrdup("m");
	stage_model_add(&m, "9", s[0], NULL);
	stage_model_add(&m, "3", s[1], NULL);
	stage_model_add(&m, "10", s[2], NULL);
	cr_assert_ok(stage_plan_reconcile(&p, &m, STAGE_SERVED_UNKNOWN, NULL));
	cr_assert_eq(p.nr, 1);
	cr_assert_str_eq(p.writes[0].version, "9", "10 is newer than 9 as a number");
	cr_assert(strstr(p.writes[0].reason, "2 versions of m were production; the newest, 10, stays"));
	stage_plan_release(&p);
	cr_assert_ok(stage_plan_reconcile(&p, &m, STAGE_SERVED_NONE, NULL));
	cr_assert_eq(p.warnings_nr, 1);
	cr_assert(strstr(p.warnings[0], "serves no version of m; 10 stays"));
	stage_plan_release(&p);
	stage_model_release(&m);
}

Test(stage, non_numeric_versions_go_by_creation_time)
{
	struct stage_model m, w;
	struct stage_plan p;

	memset(&m, 0, sizeof(m));
	m.name = xstrdup("m");
	stage_model_add(&m, "b", STAGE_STAGED, "2026-01-01T00:00:00Z");
	stage_model_add(&m, "a", STAGE_STAGED, "2026-02-01T00:00:00Z");
	cr_assert_ok(stage_plan_reconcile(&p, &m, STAGE_SERVED_UNKNOWN, NULL));
	finish(&w, &m, &p);
	cr_assert_str_eq(version_in(&w, STAGE_STAGED), "a");
	stage_model_release(&w);
	stage_plan_release(&p);
	stage_model_release(&m);
}


/* ---- the model from Azure's versions ---- */

Test(stage, model_from_versions_reads_both_tags)
{
	struct aml_model_version v[3];
	struct stage_model m;

	memset(v, 0, sizeof(v));
	v[0].asset.version = (char *)"1";
	v[0].asset.tags = cJSON_Parse("{\"stage\":\"production\",\"stage-history\":\"h\"}");
	v[1].asset.version = (char *)"2";
	v[1].asset.tags = cJSON_Parse("{\"stage\":7}");
	v[2].asset.version = (char *)"3";
	v[2].asset.is_archived = 1;
	v[2].asset.created_at = (char *)"2026-01-01T00:00:00Z";
	stage_model_from(&m, "m", v, 3);
	cr_assert_eq(m.nr, 3);
	cr_assert_eq(m.v[0].stage, STAGE_PRODUCTION);
	cr_assert_str_eq(m.v[0].history, "h");
	cr_assert_eq(m.v[1].stage, STAGE_OTHER, "a tag that is no string is no stage of ours");
	cr_assert_eq(m.v[2].stage, STAGE_MISSING);
	cr_assert_null(m.v[2].history);
	cr_assert(m.v[2].archived);
	cr_assert_str_eq(m.v[2].created_at, "2026-01-01T00:00:00Z");
	cr_assert_eq(stage_model_find(&m, "2"), 1);
	cr_assert_eq(stage_model_find(&m, "4"), -1);
	stage_model_release(&m);
	cJSON_Delete(v[0].asset.tags);
	cJSON_Delete(v[1].asset.tags);
}

/* ---- history ---- */

#define T0 1796410010   /* 2026-12-04T18:46:50Z */

Test(stage, history_round_trips)
{
	struct stage_history h = STAGE_HISTORY_INIT, back;
	struct stage_event e;
	struct buf text = BUF_INIT;

	stage_event_set(&e, STAGE_UNSTAGED, STAGE_STAGED, T0,
			"0123456789ABCDEF0123456789abcdef01234567",
			"https://github.com/o/r/actions/runs/7123456789/attempts/2");
	stage_history_add(&h, &e);
	stage_event_set(&e, STAGE_STAGED, STAGE_PRODUCTION, T0 + 60, NULL, "https://ci.example/x");
	stage_history_add(&h, &e);
	stage_history_encode(&text, &h);
	cr_assert_str_eq(text.data, "us20261204T184650Z,0123456789ab,7123456789;"
				    "sp20261204T184750Z,,https://ci.example/x");
	stage_history_parse(&back, text.data);
	cr_assert_eq(back.nr, 2);
	cr_assert_eq(back.skipped, 0);
	cr_assert_eq(back.items[0].from, STAGE_UNSTAGED);
	cr_assert_eq(back.items[1].to, STAGE_PRODUCTION);
	cr_assert_eq(back.items[1].time, T0 + 60);
	cr_assert_str_eq(back.items[0].commit, "0123456789ab");
	cr_assert_str_eq(back.items[1].run, "https://ci.example/x");
	stage_history_release(&back);
	stage_history_release(&h);
	buf_release(&text);
}

Test(stage, history_is_bounded_by_count_and_length)
{
	struct stage_history h = STAGE_HISTORY_INIT, back;
	struct stage_event e;
	struct buf text = BUF_INIT;
	int i;

	for (i = 0; i < 15; i++) {
		stage_event_set(&e, STAGE_STAGED, STAGE_PRODUCTION, T0 + i, "abc", "12345");
		stage_history_add(&h, &e);
	}
	cr_assert_eq(h.nr, STAGE_HISTORY_MAX);
	cr_assert_eq(h.items[0].time, T0 + 5, "the oldest are dropped");
	stage_history_encode(&text, &h);
	cr_assert_leq(text.len, STAGE_HISTORY_MAX_LEN);
	stage_history_parse(&back, text.data);
	cr_assert_eq(back.nr, 8, "entries of 28 characters: 8 fit in 256");
	cr_assert_eq(back.items[back.nr - 1].time, T0 + 14, "the newest is kept");
	stage_history_release(&back);
	stage_history_release(&h);

	/* A full commit and a 10-digit run number: 5 fit. */
	memset(&h, 0, sizeof(h));
	buf_reset(&text);
	for (i = 0; i < 10; i++) {
		stage_event_set(&e, STAGE_STAGED, STAGE_PRODUCTION, T0 + i,
				"0123456789abcdef0123456789abcdef01234567",
				"https://github.com/o/r/actions/runs/7123456789");
		stage_history_add(&h, &e);
	}
	stage_history_encode(&text, &h);
	stage_history_parse(&back, text.data);
	cr_assert_eq(back.nr, 5, "%s", text.data);
	stage_history_release(&back);
	stage_history_release(&h);

	/* Full run URLs: fewer fit, never past the limit. */
	memset(&h, 0, sizeof(h));
	buf_reset(&text);
	for (i = 0; i < 10; i++) {
		stage_event_set(&e, STAGE_MISSING, STAGE_STAGED, T0 + i,
				"0123456789abcdef", "https://ci.example/some/long/path/to/run/12345");
		stage_history_add(&h, &e);
	}
	stage_history_encode(&text, &h);
	cr_assert_leq(text.len, STAGE_HISTORY_MAX_LEN);
	stage_history_parse(&back, text.data);
	cr_assert_eq(back.nr, 3);
	cr_assert_eq(back.items[2].time, T0 + 9);
	stage_history_release(&back);
	stage_history_release(&h);
	buf_release(&text);
}

Test(stage, garbage_history_is_skipped_not_fatal)
{
	static const char *const bad[] = {
		"garbage", "zz20261204T184650Z,,", "us20260231T000000Z,,", "us20261204T184650Z,ABC,",
		"us20261204T184650Z,0123456789abc,", "us20261204T184650Z", "us20261204T184650Z,,a,b",
		"us20261204T184650Z,,a b", "us1969", "us19691231T235959Z,,", "us20261204T246050Z,,",
		"us20261204X184650Z,,", "us2026120AT184650Z,,",
	};
	struct stage_history h;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		stage_history_parse(&h, bad[i]);
		cr_assert_eq(h.nr, 0, "'%s' was understood", bad[i]);
		cr_assert_eq(h.skipped, 1, "'%s'", bad[i]);
		stage_history_release(&h);
	}
	stage_history_parse(&h, "x;;us20261204T184650Z,abc,12;;?;");
	cr_assert_eq(h.nr, 1);
	cr_assert_eq(h.skipped, 2);
	cr_assert_str_eq(h.items[0].run, "12");
	stage_history_release(&h);
	stage_history_parse(&h, NULL);
	cr_assert_eq(h.nr + h.skipped, 0);
	stage_history_release(&h);
}

Test(stage, events_keep_only_what_encodes)
{
	struct stage_event e;

	stage_event_set(&e, STAGE_OTHER, STAGE_STAGED, -5, "not-a-sha", "https://x/a,b");
	cr_assert_eq(e.from, STAGE_MISSING, "a stage of someone else's is written as missing");
	cr_assert_eq(e.time, 0);
	cr_assert_str_eq(e.commit, "");
	cr_assert_str_eq(e.run, "", "a URL with a separator is not kept");
	stage_event_set(&e, STAGE_STAGED, STAGE_PRODUCTION, T0, "abc1", "https://github.com/o/r/actions/runs/42");
	cr_assert_str_eq(e.commit, "abc1");
	cr_assert_str_eq(e.run, "42");
	stage_event_set(&e, STAGE_STAGED, STAGE_PRODUCTION, T0, "", "https://github.com/o/r/actions/runs/x");
	cr_assert_str_eq(e.run, "https://github.com/o/r/actions/runs/x");
}

/* ---- timeline ---- */

Test(stage, timeline_merges_and_sorts)
{
	struct stage_model m = STAGE_MODEL_INIT;
	struct stage_timeline t;
	struct buf text = BUF_INIT;

	m.name = xstrdup("m");
	stage_model_add(&m, "1", STAGE_SURPASSED, NULL);
	stage_model_add(&m, "2", STAGE_PRODUCTION, NULL);
	m.v[0].history = xstrdup("ms20261201T000000Z,,;sp20261202T000000Z,,;px20261204T000000Z,aa,9");
	m.v[1].history = xstrdup("junk;ms20261203T000000Z,,;sp20261204T000000Z,bb,9");
	stage_timeline_build(&t, &m);
	cr_assert_eq(t.nr, 5);
	cr_assert_eq(t.skipped, 1);
	cr_assert_str_eq(t.items[0].version, "1");
	cr_assert_str_eq(t.items[2].version, "2");
	/* Same second: version 1's surpassing before 2's promotion (the order written). */
	cr_assert_str_eq(t.items[3].version, "1");
	cr_assert_str_eq(t.items[4].version, "2");
	for (size_t i = 1; i < t.nr; i++)
		cr_assert_leq(t.items[i - 1].event.time, t.items[i].event.time);
	cr_assert_null(stage_timeline_production_at(&t, 1796083200 - 1));    /* 2026-12-01 */
	cr_assert_str_eq(stage_timeline_production_at(&t, 1796256000), "1"); /* 2026-12-03 */
	cr_assert_str_eq(stage_timeline_production_at(&t, 1796342400), "2"); /* 2026-12-04 */
	stage_timeline_write(&text, &t);
	cr_assert(strstr(text.data, "2026-12-04T00:00:00Z  2  staged -> production  commit bb  run 9\n"),
		  "%s", text.data);
	cr_assert(strstr(text.data, "2026-12-01T00:00:00Z  1  missing -> staged\n"));
	buf_release(&text);
	stage_timeline_release(&t);
	stage_model_release(&m);
}

Test(stage, times_and_run_urls_for_people)
{
	struct buf url = BUF_INIT;
	char when[STAGE_TIME_LEN];

	stage_time_text(when, T0);
	cr_assert_str_eq(when, "2026-12-04T18:46:50Z");
	stage_run_url(&url, "77", NULL, "o/r");
	cr_assert_str_eq(url.data, "https://github.com/o/r/actions/runs/77");
	buf_reset(&url);
	stage_run_url(&url, "77", "https://ghe.example", "o/r");
	cr_assert_str_eq(url.data, "https://ghe.example/o/r/actions/runs/77");
	buf_reset(&url);
	stage_run_url(&url, "77", NULL, "");
	cr_assert_str_eq(url.data, "77", "no repository: the number alone");
	buf_reset(&url);
	stage_run_url(&url, "https://ci.example/x", NULL, "o/r");
	cr_assert_str_eq(url.data, "https://ci.example/x");
	buf_reset(&url);
	stage_run_url(&url, NULL, NULL, "o/r");
	cr_assert_str_eq(url.data, "");
	buf_release(&url);
}

/* ---- model ids and what the endpoint serves ---- */

Test(stage, model_ids_name_a_version)
{
	char *n, *v;

	cr_assert_ok(stage_model_ref(&n, &v, "/subscriptions/s/resourceGroups/rg/providers/"
				     "Microsoft.MachineLearningServices/workspaces/w/models/churn/versions/12"));
	cr_assert_str_eq(n, "churn");
	cr_assert_str_eq(v, "12");
	free(n);
	free(v);
	cr_assert_ok(stage_model_ref(&n, &v, "azureml:churn:3"));
	cr_assert_str_eq(n, "churn");
	cr_assert_str_eq(v, "3");
	free(n);
	free(v);
	cr_assert_ok(stage_model_ref(&n, &v, "azureml://registries/r/Models/churn/Versions/4"));
	cr_assert_str_eq(v, "4");
	free(n);
	free(v);
	cr_assert_fails(stage_model_ref(&n, &v, "azureml:churn@latest"), ERR_INPUT, "neither");
	cr_assert_null(n);
	cr_assert_fails(stage_model_ref(&n, &v, "azureml:churn:"), ERR_INPUT, "neither");
	cr_assert_fails(stage_model_ref(&n, &v, ".../models/churn/versions/"), ERR_INPUT, "neither");
	cr_assert_fails(stage_model_ref(&n, &v, ".../models/churn/versions/1/x"), ERR_INPUT, "neither");
	cr_assert_fails(stage_model_ref(&n, &v, NULL), ERR_INPUT, "neither");
}

Test(stage, served_is_the_busiest_deployment)
{
	struct aml_traffic_entry tr[] = { { (char *)"blue", 90 }, { (char *)"green", 10 } };
	struct aml_deployment d[2];
	struct aml_endpoint e;
	char *v;

	memset(&e, 0, sizeof(e));
	memset(d, 0, sizeof(d));
	e.traffic = tr;
	e.traffic_nr = 2;
	d[0].name = (char *)"green";
	d[0].model_id = (char *)"azureml:churn:4";
	d[1].name = (char *)"blue";
	d[1].model_id = (char *)"/x/models/churn/versions/3";
	cr_assert_eq(stage_served(&v, &e, d, 2, "churn"), STAGE_SERVED_VERSION);
	cr_assert_str_eq(v, "3");
	free(v);
	cr_assert_eq(stage_served(&v, &e, d, 2, "other"), STAGE_SERVED_NONE);
	cr_assert_null(v);
	tr[0].percent = tr[1].percent = 50;
	cr_assert_eq(stage_served(&v, &e, d, 2, "churn"), STAGE_SERVED_UNKNOWN, "a tie says nothing");
	tr[0].percent = tr[1].percent = 0;
	cr_assert_eq(stage_served(&v, &e, d, 2, "churn"), STAGE_SERVED_NONE);
	tr[0].percent = 100;
	cr_assert_eq(stage_served(&v, &e, d, 1, "churn"), STAGE_SERVED_UNKNOWN, "blue not listed");
	d[1].model_id = (char *)"garbage";
	cr_assert_eq(stage_served(&v, &e, d, 2, "churn"), STAGE_SERVED_UNKNOWN);
	cr_assert_eq(stage_served(&v, NULL, d, 2, "churn"), STAGE_SERVED_UNKNOWN);
	e.traffic_nr = 0;
	cr_assert_eq(stage_served(&v, &e, d, 2, "churn"), STAGE_SERVED_NONE);
}

/* ---- applying, against a scripted server ---- */

#define WS "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/mlw"

/* A version resource of model m with tags `tags` (JSON object text). */
static char *body(const char *version, const char *tags)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "{\"id\":\"" WS "/models/m/versions/%s\",\"name\":\"%s\",\"properties\":"
		 "{\"tags\":%s,\"modelType\":\"custom_model\",\"modelUri\":\"azureml://x\"},"
		 "\"systemData\":{\"createdAt\":\"2026-01-0%sT00:00:00Z\"}}", version, version, tags,
		 version);
	return buf_detach(&b, NULL);
}

static const struct stage_apply_options opts = {
	.now = T0, .commit = "0123456789abcdef", .run_url = "https://github.com/o/r/actions/runs/77",
};
#define WRITTEN "sp20261204T184650Z,0123456789ab,77"

static void one_write(struct stage_plan *p, const char *version, enum stage from, enum stage to)
{
	memset(p, 0, sizeof(*p));
	p->writes = xcalloc(1, sizeof(*p->writes));
	p->nr = 1;
	p->writes[0].version = xstrdup(version);
	p->writes[0].from = from;
	p->writes[0].to = to;
	p->writes[0].reason = xstrdup("test");
}

/*
 * One write of version 3, staged -> production, against a server whose
 * answers are version 3 with the tags `tags[i]` (JSON object text) in
 * order: the check, aml_model_set_tags' GET and PUT, the read-back.
 */
struct one {
	struct arm_stub f;
	char *bodies[4];
	size_t done;
};

static int one_run(struct one *o, const char *const *tags, size_t n)
{
	struct stub_reply script[4];
	struct stage_plan p;
	int ret;

	memset(script, 0, sizeof(script));
	for (size_t i = 0; i < n; i++) {
		o->bodies[i] = body("3", tags[i]);
		script[i] = (struct stub_reply){ .status = 200, .body = o->bodies[i] };
	}
	one_write(&p, "3", STAGE_STAGED, STAGE_PRODUCTION);
	arm_stub_start_aml(&o->f, script, n, "mlw");
	o->done = 9;
	ret = stage_apply(&o->done, &o->f.aml, "m", &p, &opts);
	stage_plan_release(&p);
	return ret;
}

static void one_done(struct one *o)
{
	arm_stub_stop(&o->f);
	for (size_t i = 0; i < 4; i++)
		free(o->bodies[i]);
	memset(o, 0, sizeof(*o));
}

#define AFTER "{\"stage\":\"production\",\"stage-history\":\"" WRITTEN "\"}"

Test(stage_apply, writes_stage_and_history_then_reads_back)
{
	static const char *const tags[] = {
		"{\"stage\":\"staged\",\"owner\":\"ml\"}", "{\"stage\":\"staged\",\"owner\":\"ml\"}",
		AFTER, AFTER,
	};
	struct one o = { 0 };
	cJSON *sent = NULL;
	const char *b;
	size_t len;

	cr_assert_ok(one_run(&o, tags, 4));
	cr_assert_eq(o.done, 1);
	cr_assert_eq(stub_count(o.f.stub), 4);
	cr_assert(strstr(stub_head(o.f.stub, 2), "PUT " WS "/models/m/versions/3?"));
	b = stub_body(o.f.stub, 2, &len);
	cr_assert_ok(json_parse(&sent, b, len, "PUT"));
	cr_assert_str_eq(json_string_or(sent, "properties.tags.stage", ""), "production");
	cr_assert_str_eq(json_string_or(sent, "properties.tags.stage-history", ""), WRITTEN);
	cr_assert_str_eq(json_string_or(sent, "properties.tags.owner", ""), "ml", "other tags kept");
	cJSON_Delete(sent);
	one_done(&o);
}

Test(stage_apply, history_is_appended_to)
{
#define OLD "{\"stage\":\"staged\",\"stage-history\":\"us20261201T000000Z,,5\"}"
#define NEW "{\"stage\":\"production\",\"stage-history\":\"us20261201T000000Z,,5;" WRITTEN "\"}"
	static const char *const tags[] = { OLD, OLD, NEW, NEW };
	struct one o = { 0 };

	cr_assert_ok(one_run(&o, tags, 4));
	cr_assert(strstr(stub_body(o.f.stub, 2, NULL), "us20261201T000000Z,,5;" WRITTEN));
	one_done(&o);
#undef OLD
#undef NEW
}

Test(stage_apply, a_lost_race_is_refused_before_any_write)
{
	static const char *const tags[] = { "{\"stage\":\"unstaged\"}" };
	struct one o = { 0 };

	cr_assert_fails(one_run(&o, tags, 1), ERR_CONFLICT,
			"model m:3: its stage tag is now 'unstaged', the plan expected staged: "
			"someone else changed it");
	cr_assert_eq(o.done, 0);
	cr_assert_eq(stub_count(o.f.stub), 1, "nothing was PUT");
	one_done(&o);
}

Test(stage_apply, a_race_to_a_missing_tag_is_named)
{
	static const char *const tags[] = { "{}" };
	struct one o = { 0 };

	cr_assert_fails(one_run(&o, tags, 1), ERR_CONFLICT,
			"its stage tag is now missing, the plan expected staged");
	one_done(&o);
}

Test(stage_apply, a_read_back_mismatch_is_detected)
{
	static const char *const stage[] = {
		"{\"stage\":\"staged\"}", "{\"stage\":\"staged\"}", AFTER,
		"{\"stage\":\"staged\",\"stage-history\":\"" WRITTEN "\"}",
	};
	static const char *const history[] = {
		"{\"stage\":\"staged\"}", "{\"stage\":\"staged\"}", AFTER,
		"{\"stage\":\"production\",\"stage-history\":\"x\"}",
	};
	struct one o = { 0 };

	cr_assert_fails(one_run(&o, stage, 4), ERR_CONFLICT,
			"read back after the write, its stage tag is 'staged' (written: production)");
	cr_assert_eq(o.done, 0);
	one_done(&o);
	cr_assert_fails(one_run(&o, history, 4), ERR_CONFLICT, "its history is not the one written");
	one_done(&o);
}

Test(stage_apply, back_to_missing_removes_the_tag)
{
	char *before = body("3", "{\"stage\":\"staged\"}");
	char *after = body("3", "{\"stage-history\":\"sm20261204T184650Z,0123456789ab,77\"}");
	struct stub_reply script[] = {
		{ .status = 200, .body = before }, { .status = 200, .body = before },
		{ .status = 200, .body = after }, { .status = 200, .body = after },
	};
	struct stage_plan p;
	struct arm_stub f;
	cJSON *sent = NULL;
	size_t len;
	const char *b;

	/* A breach restoring a version that had no stage before. */
	one_write(&p, "3", STAGE_STAGED, STAGE_MISSING);
	arm_stub_start_aml(&f, script, 4, "mlw");
	cr_assert_ok(stage_apply(NULL, &f.aml, "m", &p, &opts));
	b = stub_body(f.stub, 2, &len);
	cr_assert_ok(json_parse(&sent, b, len, "PUT"));
	cr_assert_null(json_find(sent, "properties.tags.stage"), "sent %s", b);
	cr_assert_str_eq(json_string_or(sent, "properties.tags.stage-history", ""),
			 "sm20261204T184650Z,0123456789ab,77");
	cJSON_Delete(sent);
	arm_stub_stop(&f);
	stage_plan_release(&p);
	free(before);
	free(after);
}

Test(stage_apply, a_failed_read_names_the_write)
{
	struct stub_reply script[] = {
		{ .status = 404, .body = "{\"error\":{\"code\":\"NotFound\",\"message\":\"gone\"}}" },
	};
	struct stage_plan p;
	struct arm_stub f;

	one_write(&p, "3", STAGE_STAGED, STAGE_PRODUCTION);
	arm_stub_start_aml(&f, script, 1, "mlw");
	cr_assert_fails(stage_apply(NULL, &f.aml, "m", &p, &opts), ERR_NOT_FOUND,
			"model m: stage write 1 of 1 (test)");
	arm_stub_stop(&f);
	stage_plan_release(&p);
}

Test(stage_apply, stops_at_the_first_failure)
{
	char *v1 = body("1", "{\"stage\":\"production\"}");
	char *v1after = body("1", "{\"stage\":\"surpassed\",\"stage-history\":"
			     "\"px20261204T184650Z,0123456789ab,77\"}");
	char *v2 = body("2", "{\"stage\":\"unstaged\"}");
	struct stub_reply script[] = {
		{ .status = 200, .body = v1 }, { .status = 200, .body = v1 },
		{ .status = 200, .body = v1after }, { .status = 200, .body = v1after },
		{ .status = 200, .body = v2 },  /* someone unstaged 2 meanwhile */
	};
	static const enum stage s[] = { STAGE_PRODUCTION, STAGE_STAGED };
	struct stage_model m;
	struct stage_plan p;
	struct arm_stub f;
	size_t done;

	model(&m, s, 2);
	cr_assert_ok(stage_plan_deploy(&p, &m, "2"));
	cr_assert_eq(p.nr, 2);
	arm_stub_start_aml(&f, script, 5, "mlw");
	cr_assert_fails(stage_apply(&done, &f.aml, "m", &p, &opts), ERR_CONFLICT,
			"stage write 2 of 2");
	cr_assert_eq(done, 1);
	cr_assert_eq(stub_count(f.stub), 5);
	arm_stub_stop(&f);
	stage_plan_release(&p);
	stage_model_release(&m);
	free(v1);
	free(v1after);
	free(v2);
}

Test(stage_apply, reconcile_repairs_and_says_what)
{
	struct buf list = BUF_INIT;
	char *v1 = body("1", "{\"stage\":\"production\"}");
	char *v2 = body("2", "{\"stage\":\"production\"}");
	char *v1after = body("1", "{\"stage\":\"surpassed\",\"stage-history\":"
			     "\"px20261204T184650Z,0123456789ab,77\"}");
	struct stub_reply script[5];
	struct stage_model m;
	struct arm_stub f;
	char **notices;
	size_t nr;

	buf_addf(&list, "{\"value\":[%s,%s]}", v2, v1);
	memset(script, 0, sizeof(script));
	script[0] = (struct stub_reply){ .status = 200, .body = list.data };
	script[1] = (struct stub_reply){ .status = 200, .body = v1 };
	script[2] = (struct stub_reply){ .status = 200, .body = v1 };
	script[3] = (struct stub_reply){ .status = 200, .body = v1after };
	script[4] = (struct stub_reply){ .status = 200, .body = v1after };
	arm_stub_start_aml(&f, script, 5, "mlw");
	cr_assert_ok(stage_reconcile(&notices, &nr, &m, &f.aml, "m", STAGE_SERVED_VERSION, "2", &opts));
	cr_assert_eq(nr, 1);
	cr_assert(strstr(notices[0], "m:1 was tagged production but the endpoint serves 2: "
				     "1 production -> surpassed"), "%s", notices[0]);
	cr_assert_eq(stub_count(f.stub), 5);
	cr_assert_str_eq(version_in(&m, STAGE_PRODUCTION), "2");
	cr_assert_eq(stage_model_count(&m, STAGE_PRODUCTION), 1);
	free(notices[0]);
	free(notices);
	stage_model_release(&m);
	arm_stub_stop(&f);
	buf_release(&list);
	free(v1);
	free(v2);
	free(v1after);
}

Test(stage_apply, reconcile_of_a_sound_model_writes_nothing)
{
	char *v1 = body("1", "{\"stage\":\"production\"}");
	struct buf list = BUF_INIT;
	struct stub_reply script[1];
	struct arm_stub f;
	char **notices;
	size_t nr;

	buf_addf(&list, "{\"value\":[%s]}", v1);
	script[0] = (struct stub_reply){ .status = 200, .body = list.data };
	arm_stub_start_aml(&f, script, 1, "mlw");
	cr_assert_ok(stage_reconcile(&notices, &nr, NULL, &f.aml, "m", STAGE_SERVED_VERSION, "1", &opts));
	cr_assert_eq(nr, 0);
	cr_assert_eq(stub_count(f.stub), 1);
	free(notices);
	arm_stub_stop(&f);
	buf_release(&list);
	free(v1);
}
