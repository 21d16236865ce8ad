#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/json.h"
#include "mlops/champion.h"
#include "support/check.h"
#include "support/json_check.h"

/* ---- the policy ---- */

static void policy(struct champion_policy *p, const char *direction, const char *min_delta,
		   const char *max_p)
{
	*p = (struct champion_policy)CHAMPION_POLICY_INIT;
	cr_assert_ok(champion_policy_parse(p, "auc", direction, min_delta, max_p));
}

Test(champion_policy, reads_each_input)
{
	struct champion_policy p = CHAMPION_POLICY_INIT;

	cr_assert_ok(champion_policy_parse(&p, " val loss ", " minimize ", " 2.5 % ", "0.05"));
	cr_assert_str_eq(p.metric, "val loss");
	cr_assert_eq(p.direction, CHAMPION_MINIMIZE);
	cr_assert(p.relative);
	cr_assert_float_eq(p.min_delta, 2.5, 1e-12);
	cr_assert_str_eq(p.min_delta_text, "2.5 %");
	cr_assert(p.have_max_p);
	cr_assert_float_eq(p.max_p_value, 0.05, 1e-12);
	cr_assert_str_eq(p.max_p_value_text, "0.05");

	cr_assert_ok(champion_policy_parse(&p, "auc", NULL, "", NULL));
	cr_assert_eq(p.direction, CHAMPION_MAXIMIZE);
	cr_assert_not(p.relative);
	cr_assert_eq(p.min_delta, 0);
	cr_assert_str_eq(p.min_delta_text, "0");
	cr_assert_not(p.have_max_p);
	cr_assert_null(p.max_p_value_text);

	cr_assert_ok(champion_policy_parse(&p, "auc", "maximize", "-1e-3", ""));
	cr_assert_float_eq(p.min_delta, -1e-3, 1e-15);
	champion_policy_release(&p);
}

Test(champion_policy, refuses_bad_inputs_naming_them)
{
	struct champion_policy p = CHAMPION_POLICY_INIT;

	cr_assert_fails(champion_policy_parse(&p, "  ", NULL, NULL, NULL), ERR_INPUT,
			"Input required and not supplied: metric");
	cr_assert_fails(champion_policy_parse(&p, "a\nb", NULL, NULL, NULL), ERR_INPUT,
			"Input metric: 'a\\nb' holds a control character");
	cr_assert_fails(champion_policy_parse(&p, "auc", "Maximize", NULL, NULL), ERR_INPUT,
			"Input direction: 'Maximize' is not maximize or minimize");
	cr_assert_fails(champion_policy_parse(&p, "auc", NULL, "5%x", NULL), ERR_INPUT,
			"Input min-delta: '5%x' is not a number or a percentage");
	cr_assert_fails(champion_policy_parse(&p, "auc", NULL, "%", NULL), ERR_INPUT,
			"Input min-delta: '%'");
	cr_assert_fails(champion_policy_parse(&p, "auc", NULL, "nan", NULL), ERR_INPUT,
			"min-delta");
	cr_assert_fails(champion_policy_parse(&p, "auc", NULL, "1e999", NULL), ERR_INPUT,
			"min-delta");
	cr_assert_fails(champion_policy_parse(&p, "auc", NULL, "0x10", NULL), ERR_INPUT,
			"min-delta");
	cr_assert_fails(champion_policy_parse(&p, "auc", NULL, NULL, "1.5"), ERR_INPUT,
			"Input max-p-value: '1.5' is not a number between 0 and 1");
	cr_assert_fails(champion_policy_parse(&p, "auc", NULL, NULL, "-0.1"), ERR_INPUT,
			"max-p-value");
	cr_assert_null(p.metric);
	champion_policy_release(&p);
}

Test(champion_policy, a_long_metric_is_refused_and_quoted_short)
{
	struct champion_policy p = CHAMPION_POLICY_INIT;
	char key[300];

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = 0;
	cr_assert_fails(champion_policy_parse(&p, key, NULL, NULL, NULL), ERR_INPUT,
			"...' is longer than 250 characters");
	key[250] = 0;
	cr_assert_ok(champion_policy_parse(&p, key, NULL, NULL, NULL));
	champion_policy_release(&p);
}

Test(champion_policy, describes_itself_in_words)
{
	struct champion_policy p;
	struct buf b = BUF_INIT;

	policy(&p, "maximize", "0.01", NULL);
	champion_policy_describe(&b, &p);
	cr_assert_str_eq(b.data, "the higher auc wins; the challenger must beat the champion by "
			 "at least 0.01");
	buf_reset(&b);
	champion_policy_release(&p);
	policy(&p, "minimize", "1%", "0.05");
	champion_policy_describe(&b, &p);
	cr_assert_str_eq(b.data, "the lower auc wins; the challenger must beat the champion by "
			 "at least 1% of the champion's value, and its p-value must be at most 0.05");
	buf_release(&b);
	champion_policy_release(&p);
}

/* ---- the decision ---- */

static const struct champion_candidate *cand(struct champion_candidate *c, const char *version,
					     const char *value)
{
	*c = (struct champion_candidate){ version, value, NULL, NULL };
	return c;
}

/* Decides with policy (direction, min_delta) on champion (NULL version:
 * none) and challenger values. */
static void decide(struct champion_decision *d, const char *direction, const char *min_delta,
		   const char *champ_version, const char *champ_value, const char *chall_version,
		   const char *chall_value)
{
	struct champion_policy p;
	struct champion_candidate a, b;

	policy(&p, direction, min_delta, NULL);
	*d = (struct champion_decision)CHAMPION_DECISION_INIT;
	champion_decide(d, &p, champ_version ? cand(&a, champ_version, champ_value) : NULL,
			cand(&b, chall_version, chall_value), 0, NULL);
	champion_policy_release(&p);
}

Test(champion_decide, a_challenger_beating_by_min_delta_wins)
{
	struct champion_decision d;

	decide(&d, "maximize", "0.01", "5", "0.797", "7", "0.812");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHALLENGER);
	cr_assert(d.deploy);
	cr_assert(d.have_delta);
	cr_assert_float_eq(d.delta, 0.015, 1e-12);
	cr_assert_str_eq(d.reason, "challenger 7 auc 0.812 beats champion 5 auc 0.797 by 0.015 "
			 ">= min-delta 0.01");
	champion_decision_release(&d);
}

Test(champion_decide, a_challenger_short_of_min_delta_loses)
{
	struct champion_decision d;

	decide(&d, "maximize", "0.01", "5", "0.797", "7", "0.8");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHAMPION);
	cr_assert_not(d.deploy);
	cr_assert_str_eq(d.reason, "challenger 7 auc 0.8 does not beat champion 5 auc 0.797 by "
			 "enough: 0.003 < min-delta 0.01: champion 5 stays");
	champion_decision_release(&d);

	decide(&d, "maximize", "0", "5", "0.797", "7", "0.79");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHAMPION);
	cr_assert_float_eq(d.delta, -0.007, 1e-12);
	cr_assert_str_eq(d.reason, "challenger 7 auc 0.79 is worse than champion 5 auc 0.797 by "
			 "0.007 (delta -0.007) < min-delta 0: champion 5 stays");
	champion_decision_release(&d);
}

Test(champion_decide, minimizing_lower_is_better)
{
	struct champion_decision d;

	decide(&d, "minimize", "0.01", "5", "0.25", "7", "0.2");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHALLENGER);
	cr_assert_float_eq(d.delta, 0.05, 1e-12);
	cr_assert_str_eq(d.reason, "challenger 7 auc 0.2 beats champion 5 auc 0.25 by 0.05 "
			 ">= min-delta 0.01");
	champion_decision_release(&d);

	decide(&d, "minimize", "0.01", "5", "0.2", "7", "0.25");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHAMPION);
	cr_assert_float_eq(d.delta, -0.05, 1e-12);
	champion_decision_release(&d);
}

Test(champion_decide, exactly_at_min_delta_wins)
{
	struct champion_decision d;

	/* 0.3 - 0.2 is 0.09999999999999998 in doubles. */
	decide(&d, "maximize", "0.1", "5", "0.2", "7", "0.3");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHALLENGER, "%s", d.reason);
	champion_decision_release(&d);
	decide(&d, "minimize", "0.1", "5", "0.3", "7", "0.2");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHALLENGER, "%s", d.reason);
	champion_decision_release(&d);
	/* Just under it, in the numbers as written, loses. */
	decide(&d, "maximize", "0.1", "5", "0.2", "7", "0.2999999");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHAMPION, "%s", d.reason);
	champion_decision_release(&d);
	/* min-delta 0: a tie goes to the challenger. */
	decide(&d, "maximize", "0", "5", "0.8", "7", "0.8");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHALLENGER, "%s", d.reason);
	champion_decision_release(&d);
}

Test(champion_decide, relative_min_delta_is_a_share_of_the_champion)
{
	struct champion_decision d;

	/* 2% of |0.5| is 0.01. */
	decide(&d, "maximize", "2%", "5", "0.5", "7", "0.51");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHALLENGER, "%s", d.reason);
	cr_assert_float_eq(d.required, 0.01, 1e-12);
	cr_assert_str_eq(d.reason, "challenger 7 auc 0.51 beats champion 5 auc 0.5 by 0.01 "
			 ">= min-delta 2% of 0.5 (0.01)");
	champion_decision_release(&d);
	decide(&d, "maximize", "2%", "5", "0.5", "7", "0.509");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHAMPION, "%s", d.reason);
	champion_decision_release(&d);
	/* Of the absolute value: a negative champion still needs a gain. */
	decide(&d, "minimize", "10%", "5", "-2", "7", "-2.1");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHAMPION, "%s", d.reason);
	champion_decision_release(&d);
	decide(&d, "minimize", "10%", "5", "-2", "7", "-2.3");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHALLENGER, "%s", d.reason);
	cr_assert_float_eq(d.required, 0.2, 1e-12);
	champion_decision_release(&d);
}

Test(champion_decide, no_champion_is_a_first_deployment)
{
	struct champion_decision d;

	decide(&d, "maximize", "0.01", NULL, NULL, "1", "0.7");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHALLENGER);
	cr_assert(d.deploy);
	cr_assert_not(d.have_delta);
	cr_assert_not(d.have_champion);
	cr_assert_str_eq(d.reason, "no version of the model is in production: challenger 1 auc "
			 "0.7 wins by default (first deployment)");
	champion_decision_release(&d);
}

Test(champion_decide, a_challenger_without_a_value_loses)
{
	struct champion_decision d;
	struct champion_policy p;
	struct champion_candidate a, b = { "7", NULL, "version 7 names no training job", NULL };

	decide(&d, "maximize", "0.01", "5", "0.797", "7", NULL);
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHAMPION);
	cr_assert_not(d.deploy);
	cr_assert_str_eq(d.reason, "challenger 7 has no auc value (not logged): it cannot win; "
			 "champion 5 stays");
	champion_decision_release(&d);

	policy(&p, NULL, NULL, NULL);
	champion_decide(&d, &p, cand(&a, "5", "0.797"), &b, 0, NULL);
	cr_assert_str_eq(d.reason, "challenger 7 has no auc value (version 7 names no training "
			 "job): it cannot win; champion 5 stays");
	champion_decision_release(&d);
	champion_policy_release(&p);

	/* Nothing in production either: no one wins. */
	decide(&d, "maximize", "0.01", NULL, NULL, "7", NULL);
	cr_assert_eq(d.winner, CHAMPION_WINNER_NONE);
	cr_assert_not(d.deploy);
	cr_assert_str_eq(d.reason, "challenger 7 has no auc value (not logged): it cannot win, "
			 "and no version is in production: nothing to deploy");
	champion_decision_release(&d);
}

Test(champion_decide, a_non_finite_challenger_never_wins)
{
	static const char *const values[] = { "NaN", "Infinity", "-Infinity" };
	struct champion_decision d;

	for (size_t i = 0; i < 3; i++) {
		/* Infinity would "beat" anything when maximizing, -Infinity when minimizing. */
		decide(&d, "maximize", "0", "5", "0.5", "7", values[i]);
		cr_assert_eq(d.winner, CHAMPION_WINNER_CHAMPION, "%s", values[i]);
		cr_assert_not(d.deploy);
		cr_assert(strstr(d.reason, "not a finite number: it cannot win"), "%s", d.reason);
		champion_decision_release(&d);
		decide(&d, "minimize", "0", "5", "0.5", "7", values[i]);
		cr_assert_eq(d.winner, CHAMPION_WINNER_CHAMPION, "%s", values[i]);
		champion_decision_release(&d);
	}
	decide(&d, "maximize", "0", "5", "0.5", "7", "NaN");
	cr_assert_str_eq(d.reason, "challenger 7 auc is NaN, not a finite number: it cannot win; "
			 "champion 5 stays");
	champion_decision_release(&d);
	decide(&d, "maximize", "0", "5", "0.5", "7", "nan");
	cr_assert_str_eq(d.reason, "challenger 7 auc is 'nan', not a number: it cannot win; "
			 "champion 5 stays");
	champion_decision_release(&d);
	decide(&d, "maximize", "0", NULL, NULL, "7", "Infinity");
	cr_assert_eq(d.winner, CHAMPION_WINNER_NONE);
	champion_decision_release(&d);
}

Test(champion_decide, a_champion_without_a_value_is_beaten)
{
	struct champion_decision d;

	decide(&d, "maximize", "0.01", "5", NULL, "7", "0.7");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHALLENGER);
	cr_assert(d.deploy);
	cr_assert_not(d.have_delta);
	cr_assert_str_eq(d.reason, "champion 5 has no auc value (not logged): challenger 7 auc 0.7 "
			 "wins, with no champion value to beat");
	champion_decision_release(&d);
	decide(&d, "minimize", "0.01", "5", "-Infinity", "7", "0.7");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHALLENGER);
	cr_assert_str_eq(d.reason, "champion 5 auc is -Infinity, not a finite number: challenger 7 "
			 "auc 0.7 wins, with no champion value to beat");
	champion_decision_release(&d);
}

Test(champion_decide, the_version_in_production_is_not_deployed_again)
{
	struct champion_decision d;

	decide(&d, "maximize", "0", "5", "0.797", "5", "0.797");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHAMPION);
	cr_assert_not(d.deploy);
	cr_assert(d.same_version);
	cr_assert_str_eq(d.reason, "challenger 5 is the version already in production: nothing "
			 "to deploy");
	champion_decision_release(&d);
}

Test(champion_decide, force_promotes_a_losing_challenger_and_says_who)
{
	struct champion_policy p;
	struct champion_candidate a, b;
	struct champion_decision d = CHAMPION_DECISION_INIT;

	policy(&p, "maximize", "0.01", NULL);
	champion_decide(&d, &p, cand(&a, "5", "0.797"), cand(&b, "7", "0.6"), 1, "octocat");
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHALLENGER);
	cr_assert_eq(d.policy_winner, CHAMPION_WINNER_CHAMPION);
	cr_assert(d.deploy);
	cr_assert(d.forced);
	cr_assert_str_eq(d.actor, "octocat");
	cr_assert_str_eq(d.reason, "forced by octocat: challenger 7 auc 0.6 is worse than champion "
			 "5 auc 0.797 by 0.197 (delta -0.197) < min-delta 0.01: champion 5 stays; "
			 "challenger 7 is promoted anyway");

	champion_decide(&d, &p, cand(&a, "5", "0.797"), cand(&b, "5", "0.797"), 1, "");
	cr_assert(d.deploy);
	cr_assert_str_eq(d.actor, "unknown");
	cr_assert_str_eq(d.reason, "forced by unknown: challenger 5 is the version already in "
			 "production: nothing to deploy; challenger 5 is redeployed anyway");

	/* Forcing a challenger the policy promotes says so and changes nothing else. */
	champion_decide(&d, &p, cand(&a, "5", "0.797"), cand(&b, "7", "0.9"), 1, "octocat");
	cr_assert_eq(d.policy_winner, CHAMPION_WINNER_CHALLENGER);
	cr_assert(strstr(d.reason, "forced by octocat: challenger 7 auc 0.9 beats"));
	cr_assert_null(strstr(d.reason, "anyway"));
	champion_decision_release(&d);
	champion_policy_release(&p);
}

Test(champion_decide, max_p_value_must_hold_too)
{
	struct champion_policy p;
	struct champion_candidate a, b;
	struct champion_decision d = CHAMPION_DECISION_INIT;

	policy(&p, "maximize", "0.01", "0.05");
	b = (struct champion_candidate){ "7", "0.812", NULL, "0.03" };
	champion_decide(&d, &p, cand(&a, "5", "0.797"), &b, 0, NULL);
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHALLENGER, "%s", d.reason);
	cr_assert_str_eq(d.reason, "challenger 7 auc 0.812 beats champion 5 auc 0.797 by 0.015 "
			 ">= min-delta 0.01; p-value 0.03 <= max-p-value 0.05");
	b.p_value = "0.2";
	champion_decide(&d, &p, cand(&a, "5", "0.797"), &b, 0, NULL);
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHAMPION);
	cr_assert(strstr(d.reason, ", but its p-value 0.2 > max-p-value 0.05: not significant: "
			 "champion 5 stays"), "%s", d.reason);
	b.p_value = NULL;
	champion_decide(&d, &p, cand(&a, "5", "0.797"), &b, 0, NULL);
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHAMPION);
	cr_assert(strstr(d.reason, "no p-value (max-p-value 0.05 needs one)"), "%s", d.reason);
	b.p_value = "NaN";
	champion_decide(&d, &p, cand(&a, "5", "0.797"), &b, 0, NULL);
	cr_assert_eq(d.winner, CHAMPION_WINNER_CHAMPION);
	champion_decision_release(&d);
	champion_policy_release(&p);
}

/* ---- the record ---- */

Test(champion_json, holds_exactly_the_issue_keys)
{
	struct champion_policy p;
	struct champion_candidate a, b;
	struct champion_decision d = CHAMPION_DECISION_INIT;
	cJSON *j;

	policy(&p, "maximize", "1%", "0.05");
	b = (struct champion_candidate){ "7", "0.812", NULL, "0.01" };
	champion_decide(&d, &p, cand(&a, "5", "0.797"), &b, 0, NULL);
	j = champion_decision_json(&d, &p);
	cr_assert_not_null(cJSON_GetObjectItem(j, "delta"));
	cr_assert_float_eq(cJSON_GetObjectItem(j, "delta")->valuedouble, 0.015, 1e-12);
	cJSON_DeleteItemFromObject(j, "delta");
	json_check_text(j, "{\"champion\":{\"version\":\"5\",\"value\":0.797},"
			"\"challenger\":{\"version\":\"7\",\"value\":0.812},"
			"\"policy\":{\"metric\":\"auc\",\"direction\":\"maximize\","
			"\"min_delta\":\"1%\",\"max_p_value\":0.05},"
			"\"winner\":\"challenger\",\"forced\":false,"
			"\"reason\":\"challenger 7 auc 0.812 beats champion 5 auc 0.797 by 0.015 >= "
			"min-delta 1% of 0.797 (0.00797); p-value 0.01 <= max-p-value 0.05\"}");
	cJSON_Delete(j);
	champion_decision_release(&d);
	champion_policy_release(&p);
}

Test(champion_json, no_champion_missing_values_and_force)
{
	struct champion_policy p;
	struct champion_candidate b;
	struct champion_decision d = CHAMPION_DECISION_INIT;
	cJSON *j;

	policy(&p, "minimize", NULL, NULL);
	champion_decide(&d, &p, NULL, cand(&b, "1", "NaN"), 1, "octocat");
	j = champion_decision_json(&d, &p);
	json_check_text(j, "{\"champion\":null,\"challenger\":{\"version\":\"1\",\"value\":\"NaN\"},"
			"\"delta\":null,\"policy\":{\"metric\":\"auc\",\"direction\":\"minimize\","
			"\"min_delta\":\"0\",\"max_p_value\":null},"
			"\"winner\":\"challenger\",\"forced\":true,\"actor\":\"octocat\","
			"\"reason\":\"forced by octocat: challenger 1 auc is NaN, not a finite number: "
			"it cannot win, and no version is in production: nothing to deploy; "
			"challenger 1 is promoted anyway\"}");
	cJSON_Delete(j);

	champion_decide(&d, &p, NULL, cand(&b, "1", NULL), 0, NULL);
	j = champion_decision_json(&d, &p);
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "winner")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "challenger"), "value")));
	cr_assert_null(cJSON_GetObjectItem(j, "actor"));
	cJSON_Delete(j);
	champion_decision_release(&d);
	champion_policy_release(&p);
}

Test(champion, value_text_is_the_shortest_that_reads_back)
{
	static const double values[] = { 0.797, 0.1 + 0.2, 1e-300, -12345678.9, 0, 1.0 / 3 };
	struct buf b = BUF_INIT;

	champion_value_text(&b, 0.797);
	cr_assert_str_eq(b.data, "0.797");
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		buf_reset(&b);
		champion_value_text(&b, values[i]);
		cr_assert_eq(strtod(b.data, NULL), values[i], "%s", b.data);
	}
	buf_reset(&b);
	champion_value_text(&b, 0.1 + 0.2);
	cr_assert_str_eq(b.data, "0.30000000000000004");
	buf_reset(&b);
	champion_value_text(&b, NAN);
	cr_assert_str_eq(b.data, "NaN");
	buf_reset(&b);
	champion_value_text(&b, -INFINITY);
	cr_assert_str_eq(b.data, "-Infinity");
	buf_release(&b);
}

/* ---- gathering, against the stub ---- */

#include "support/arm_stub.h"

#define VERSION(v, job)                                                                   \
	"{\"name\":\"" v "\",\"properties\":{\"tags\":{\"stage\":\"production\"}" job "}}"
#define WORKSPACE "{\"name\":\"ws1\",\"location\":\"westeurope\",\"properties\":{}}"

Test(champion_gather, a_run_that_cannot_be_read_leaves_each_value_missing_saying_why)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"name\":\"7\",\"properties\":{\"jobName\":\"j7\"}}" },
		{ .status = 200, .body = WORKSPACE }, /* no tracking URI: no run */
		{ .status = 200, .body = "{\"value\":[" VERSION("5", ",\"jobName\":\"j5\"") "]}" },
		{ .status = 200, .body = WORKSPACE },
	};
	struct champion_gathered g = CHAMPION_GATHERED_INIT;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 4, "ws1");
	cr_assert_ok(champion_gather(&g, &f.aml, f.http, (struct token_source){ 0 }, "m", "7", "auc"));
	cr_assert(strstr(stub_head(f.stub, 0), "/models/m/versions/7?"), "%s", stub_head(f.stub, 0));
	cr_assert_str_eq(g.challenger.version, "7");
	cr_assert_str_eq(g.challenger_job, "j7");
	cr_assert_null(g.challenger.value);
	cr_assert(strstr(g.challenger.missing, "its training run j7 was not read: workspace ws1 "
			 "has no MLflow tracking URI"), "%s", g.challenger.missing);
	cr_assert(g.have_champion);
	cr_assert_str_eq(g.champion.version, "5");
	cr_assert_null(g.champion.value);
	cr_assert_str_eq(g.champion.missing, "its training run j5 was not read");
	champion_gathered_release(&g);
	arm_stub_stop(&f);
}

Test(champion_gather, the_latest_version_without_a_job_and_nothing_in_production)
{
	struct stub_reply script[] = {
		{ .status = 200, .body = "{\"name\":\"m\",\"properties\":{\"latestVersion\":\"9\"}}" },
		{ .status = 200, .body = "{\"name\":\"9\",\"properties\":{}}" },
		{ .status = 200, .body = "{\"value\":[]}" },
	};
	struct champion_gathered g = CHAMPION_GATHERED_INIT;
	struct champion_policy p;
	struct champion_decision d = CHAMPION_DECISION_INIT;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 3, "ws1");
	cr_assert_ok(champion_gather(&g, &f.aml, f.http, (struct token_source){ 0 }, "m", NULL, "auc"));
	cr_assert_eq(stub_count(f.stub), 3);
	cr_assert(strstr(stub_head(f.stub, 1), "/models/m/versions/9?"), "%s", stub_head(f.stub, 1));
	cr_assert_str_eq(g.challenger.version, "9");
	cr_assert_null(g.challenger_job);
	cr_assert_str_eq(g.challenger.missing, "version 9 names no training job");
	cr_assert_not(g.have_champion);
	policy(&p, NULL, NULL, NULL);
	champion_decide(&d, &p, g.have_champion ? &g.champion : NULL, &g.challenger, 0, NULL);
	cr_assert_str_eq(d.reason, "challenger 9 has no auc value (version 9 names no training "
			 "job): it cannot win, and no version is in production: nothing to deploy");
	champion_decision_release(&d);
	champion_policy_release(&p);
	champion_gathered_release(&g);
	arm_stub_stop(&f);
}

Test(champion_gather, a_challenger_that_does_not_exist_is_not_found)
{
	struct stub_reply script[] = {
		{ .status = 404, .body = "{\"error\":{\"code\":\"UserError\",\"message\":\"no such\"}}" },
	};
	struct champion_gathered g = CHAMPION_GATHERED_INIT;
	struct arm_stub f;

	arm_stub_start_aml(&f, script, 1, "ws1");
	cr_assert_fails(champion_gather(&g, &f.aml, f.http, (struct token_source){ 0 }, "m", "42",
					"auc"), ERR_NOT_FOUND, "model m version 42");
	cr_assert_null(g.challenger_version);
	cr_assert_eq(stub_count(f.stub), 1, "production not looked for");
	champion_gathered_release(&g);
	arm_stub_stop(&f);
}
