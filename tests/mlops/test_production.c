#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/json.h"
#include "mlops/production.h"
#include "support/check.h"

static void version(struct aml_model_version *v, const char *ver, const char *tags,
		    const char *created, int archived)
{
	memset(v, 0, sizeof(*v));
	v->asset.version = xstrdup(ver);
	v->asset.tags = tags ? cJSON_Parse(tags) : NULL;
	v->asset.created_at = created ? xstrdup(created) : NULL;
	v->asset.is_archived = archived;
}

Test(production, picks_the_newest_version_tagged_production)
{
	struct aml_model_version v[6];

	version(&v[0], "9", "{\"stage\":\"production\"}", "2026-01-01T00:00:00Z", 0);
	version(&v[1], "10", "{\"stage\":\"production\"}", "2025-01-01T00:00:00Z", 0);
	version(&v[2], "11", "{\"stage\":\"staging\"}", "2026-06-01T00:00:00Z", 0);
	version(&v[3], "12", "{\"stage\":\"Production\"}", "2026-06-01T00:00:00Z", 0);
	version(&v[4], "13", "{\"stage\":\"production\"}", "2026-06-01T00:00:00Z", 1);
	version(&v[5], "14", NULL, NULL, 0);
	/* 10 beats 9 as a number, whatever the dates; archived and other
	 * stages never count. */
	cr_assert_eq(production_pick(v, 6), 1);
	cr_assert_eq(production_pick(v + 2, 4), -1);
	cr_assert_eq(production_pick(v, 0), -1);
	for (int i = 0; i < 6; i++)
		aml_model_version_release(&v[i]);
}

Test(production, a_version_that_is_no_number_goes_by_creation_time)
{
	struct aml_model_version v[2];

	version(&v[0], "v2", "{\"stage\":\"production\"}", "2026-02-01T00:00:00Z", 0);
	version(&v[1], "1", "{\"stage\":\"production\"}", "2026-01-01T00:00:00Z", 0);
	cr_assert_eq(production_pick(v, 2), 0);
	aml_model_version_release(&v[0]);
	aml_model_version_release(&v[1]);
}

static void metrics(struct mlflow_run *r, const char *const *keys, const double *values, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->metrics = xcalloc(n, sizeof(*r->metrics));
	r->metrics_nr = n;
	for (size_t i = 0; i < n; i++) {
		r->metrics[i].key = xstrdup(keys[i]);
		r->metrics[i].value = values[i];
	}
}

Test(production, compares_each_metric_with_production)
{
	static const char *const mine_k[] = { "accuracy", "loss", "odd", "new" };
	static const double mine_v[] = { 0.9, 0.25, NAN, 3 };
	static const char *const prod_k[] = { "loss", "accuracy", "odd", "gone" };
	static const double prod_v[] = { 0.5, 0.875, 1, 7 };
	struct production_model p = PRODUCTION_MODEL_INIT;
	struct production_comparison c;
	struct mlflow_run run;

	metrics(&run, mine_k, mine_v, 4);
	metrics(&p.run, prod_k, prod_v, 4);
	p.found = p.have_run = 1;
	production_compare(&c, &run, &p);
	cr_assert_eq(c.nr, 5);
	cr_assert_str_eq(c.rows[0].key, "accuracy");
	cr_assert_str_eq(c.rows[0].value, "0.9");
	cr_assert_str_eq(c.rows[0].production, "0.875");
	cr_assert_str_eq(c.rows[0].difference, "+0.025");
	cr_assert_str_eq(c.rows[1].difference, "-0.25");
	cr_assert_str_eq(c.rows[2].value, "NaN");
	cr_assert_str_eq(c.rows[2].difference, "NaN");
	cr_assert_str_eq(c.rows[3].key, "new");
	cr_assert_null(c.rows[3].production);
	cr_assert_null(c.rows[3].difference);
	cr_assert_str_eq(c.rows[4].key, "gone");
	cr_assert_null(c.rows[4].value);
	cr_assert_str_eq(c.rows[4].production, "7");
	production_comparison_release(&c);

	/* Nothing in production: the run's values alone. */
	production_compare(&c, &run, NULL);
	cr_assert_eq(c.nr, 4);
	cr_assert_null(c.rows[1].production);
	production_comparison_release(&c);
	mlflow_run_release(&run);
	production_model_release(&p);
}

Test(production, no_model_name_is_nothing_in_production)
{
	struct production_model p;

	cr_assert_ok(production_model_find(&p, NULL, NULL, (struct token_source){ 0 }, ""));
	cr_assert_not(p.found);
	cr_assert_ok(production_model_find(&p, NULL, NULL, (struct token_source){ 0 }, NULL));
	cr_assert_not(p.found);
	production_model_release(&p);
}
