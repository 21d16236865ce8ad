#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/json.h"
#include "mlops/rollout.h"
#include "support/check.h"

TestSuite(rollout);

/* ---- steps and mirror ---- */

Test(rollout, steps_parse_default_and_spaces)
{
	struct rollout_steps s;

	cr_assert_ok(rollout_steps_parse(&s, NULL));
	cr_assert_eq(s.nr, 3);
	cr_assert_eq(s.percent[0], 10);
	cr_assert_eq(s.percent[1], 50);
	cr_assert_eq(s.percent[2], 100);
	cr_assert_ok(rollout_steps_parse(&s, " 1 ,2,\t99 , 100 "));
	cr_assert_eq(s.nr, 4);
	cr_assert_eq(s.percent[2], 99);
	cr_assert_ok(rollout_steps_parse(&s, "100"));
	cr_assert_eq(s.nr, 1);
	cr_assert_eq(s.percent[0], 100);
}

Test(rollout, steps_parse_refuses_bad_lists_naming_the_input)
{
	static const char *const bad[] = {
		"10,50", "0,100", "50,10,100", "10,10,100", "10,,100", "10,50,100,", "x",
		"-10,100", "10;100", "10,50,101", "1e1,100", "10.5,100", "100,100", ",100",
		"99999999999999999999,100",
	};
	struct rollout_steps s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		cr_assert_eq(rollout_steps_parse(&s, bad[i]), ERR_INPUT, "'%s' was taken", bad[i]);
		cr_assert(strstr(error_message(), "traffic-steps") != NULL, "%s", error_message());
	}
}

Test(rollout, steps_parse_caps_the_number_of_steps)
{
	struct buf text = BUF_INIT;
	struct rollout_steps s;
	int i;

	for (i = 1; i <= ROLLOUT_MAX_STEPS; i++)
		buf_addf(&text, "%d,", i);
	buf_addstr(&text, "100");
	cr_assert_fails(rollout_steps_parse(&s, text.data), ERR_INPUT, "more than");
	buf_release(&text);
}

Test(rollout, mirror_percent_is_0_to_50)
{
	int p;

	for (p = -1; p <= 101; p++)
		cr_assert_eq(rollout_mirror_check(p), p >= 0 && p <= 50 ? 0 : ERR_INPUT, "%d", p);
	cr_assert_fails(rollout_mirror_check(51), ERR_INPUT, "mirror-percent");
}

/* ---- traffic maps ---- */

static void map_set(struct rollout_map *m, const char *const *names, const int *shares, size_t nr)
{
	size_t i;

	rollout_map_release(m);
	m->items = calloc(nr + 1, sizeof(*m->items));
	for (i = 0; i < nr; i++) {
		m->items[i].deployment = strdup(names[i]);
		m->items[i].percent = shares[i];
	}
	m->nr = nr;
}

static int has(const struct rollout_map *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nr; i++)
		if (!strcmp(m->items[i].deployment, name))
			return 1;
	return 0;
}

/* Every property rollout_traffic_at promises, for one map and step. */
static void check_at(const struct rollout_map *before, const char *dep, int p)
{
	struct rollout_map at = ROLLOUT_MAP_INIT;
	long old = 0, sum = 0;
	size_t i, j, k = 0;
	int want;

	for (i = 0; i < before->nr; i++)
		if (strcmp(before->items[i].deployment, dep))
			old += before->items[i].percent;
	want = old ? p : 100;
	rollout_traffic_at(&at, before, dep, p);
	cr_assert_eq(at.nr, before->nr + !has(before, dep));
	for (i = 0; i < at.nr; i++) {
		sum += at.items[i].percent;
		if (!strcmp(at.items[i].deployment, dep)) {
			cr_assert_eq(at.items[i].percent, want);
			continue;
		}
		/* Same order as before. */
		while (strcmp(before->items[k].deployment, at.items[i].deployment))
			k++;
		if (!before->items[k].percent)
			cr_assert_eq(at.items[i].percent, 0, "a 0 share grew at %d%%", p);
		/* Within one unit of the exact proportion. */
		if (old) {
			long exact = (long)before->items[k].percent * (100 - want);

			cr_assert(at.items[i].percent * old <= exact + old &&
				  at.items[i].percent * old >= exact - old);
		}
		for (j = 0; j < at.nr; j++) {
			int a = rollout_map_percent(before, at.items[i].deployment);
			int b = rollout_map_percent(before, at.items[j].deployment);

			if (strcmp(at.items[j].deployment, dep) && a > b)
				cr_assert_geq(at.items[i].percent, at.items[j].percent,
					      "order lost at %d%%", p);
		}
	}
	cr_assert_eq(sum, 100, "sum %ld at %d%%", sum, p);
	if (!has(before, dep))
		cr_assert_str_eq(at.items[at.nr - 1].deployment, dep);
	rollout_map_release(&at);
}

Test(rollout, traffic_at_two_deployments_exhaustive)
{
	static const char *const names[] = { "blue", "idle" };
	struct rollout_map before = ROLLOUT_MAP_INIT;
	int shares[2] = { 100, 0 }, p;

	map_set(&before, names, shares, 2);
	for (p = 1; p <= 100; p++)
		check_at(&before, "green", p);
	rollout_map_release(&before);
}

Test(rollout, traffic_at_three_old_shares_exhaustive)
{
	static const char *const names[] = { "a", "b", "zero", "c" };
	struct rollout_map before = ROLLOUT_MAP_INIT;
	int shares[4], a, b, p;

	for (a = 0; a <= 100; a++)
		for (b = 0; a + b <= 100; b++) {
			shares[0] = a;
			shares[1] = b;
			shares[2] = 0;
			shares[3] = 100 - a - b;
			map_set(&before, names, shares, 4);
			for (p = 1; p <= 100; p += (a % 7) + 1)
				check_at(&before, "new", p);
			check_at(&before, "new", 100);
		}
	rollout_map_release(&before);
}

Test(rollout, traffic_at_new_already_in_the_map)
{
	static const char *const names[] = { "old", "new", "other" };
	struct rollout_map before = ROLLOUT_MAP_INIT, at = ROLLOUT_MAP_INIT;
	int shares[3] = { 60, 10, 30 }, p;

	map_set(&before, names, shares, 3);
	for (p = 1; p <= 100; p++)
		check_at(&before, "new", p);
	/* Its own old share is not counted: old and other share 50 as 60:30. */
	rollout_traffic_at(&at, &before, "new", 50);
	cr_assert_eq(at.nr, 3);
	cr_assert_str_eq(at.items[1].deployment, "new");
	cr_assert_eq(rollout_map_percent(&at, "old"), 33);
	cr_assert_eq(rollout_map_percent(&at, "other"), 17);
	cr_assert_eq(rollout_map_percent(&at, "new"), 50);
	rollout_map_release(&at);
	rollout_map_release(&before);
}

Test(rollout, traffic_at_known_values_and_ties)
{
	static const char *const names[] = { "x", "y", "z" };
	struct rollout_map before = ROLLOUT_MAP_INIT, at = ROLLOUT_MAP_INIT;
	int thirds[3] = { 34, 33, 33 }, halves[2] = { 50, 50 };

	map_set(&before, names, thirds, 3);
	rollout_traffic_at(&at, &before, "n", 50);
	/* 50 * 34/100 = 17, 50 * 33/100 = 16.5 twice: 17 + 16 + 16 = 49, the
	 * unit left to the largest remainder, y before z of equals. */
	cr_assert_eq(rollout_map_percent(&at, "x"), 17);
	cr_assert_eq(rollout_map_percent(&at, "y"), 17);
	cr_assert_eq(rollout_map_percent(&at, "z"), 16);
	map_set(&before, names, halves, 2);
	rollout_traffic_at(&at, &before, "n", 51);
	cr_assert_eq(rollout_map_percent(&at, "x"), 25);
	cr_assert_eq(rollout_map_percent(&at, "y"), 24);
	rollout_map_release(&at);
	rollout_map_release(&before);
}

Test(rollout, traffic_at_first_deployment_gets_everything)
{
	static const char *const names[] = { "idle" };
	struct rollout_map before = ROLLOUT_MAP_INIT, at = ROLLOUT_MAP_INIT;
	int zero[1] = { 0 };

	rollout_traffic_at(&at, &before, "first", 10);
	cr_assert_eq(at.nr, 1);
	cr_assert_str_eq(at.items[0].deployment, "first");
	cr_assert_eq(at.items[0].percent, 100);
	map_set(&before, names, zero, 1);
	rollout_traffic_at(&at, &before, "first", 10);
	cr_assert_eq(at.nr, 2);
	cr_assert_eq(rollout_map_percent(&at, "idle"), 0);
	cr_assert_eq(rollout_map_percent(&at, "first"), 100);
	rollout_map_release(&at);
	rollout_map_release(&before);
}

/* ---- judge ---- */

Test(rollout, judge_uses_5xx_rate_and_p90)
{
	struct rollout_request req = { .max_error_rate = 0.01, .max_latency_ms = 200 };
	struct rollout_health ok = { 1000, 500, 10, 150 };
	struct rollout_health errors = { 1000, 0, 11, 150 };
	struct rollout_health slow = { 1000, 0, 0, 201 };
	struct rollout_health quiet = { 0, 0, 0, -1 };
	struct buf why = BUF_INIT;

	cr_assert_eq(rollout_judge(&ok, &req, &why), 0, "%s", why.data);
	cr_assert_eq(rollout_judge(&quiet, &req, &why), 0, "%s", why.data);
	cr_assert_eq(rollout_judge(&errors, &req, &why), 1);
	cr_assert(strstr(why.data, "max-error-rate") != NULL, "%s", why.data);
	buf_reset(&why);
	cr_assert_eq(rollout_judge(&slow, &req, &why), 1);
	cr_assert(strstr(why.data, "P90 latency 201 ms") != NULL, "%s", why.data);
	req.max_error_rate = -1;
	req.max_latency_ms = 0;
	buf_reset(&why);
	cr_assert_eq(rollout_judge(&errors, &req, &why), 0);
	cr_assert_eq(rollout_judge(&slow, &req, &why), 0);
	buf_release(&why);
}

/* ---- rollback choice ---- */

static void dep(struct aml_deployment *d, const char *name, const char *state, const char *served)
{
	memset(d, 0, sizeof(*d));
	d->name = strdup(name);
	d->provisioning_state = strdup(state);
	if (served) {
		d->tags = json_new_object();
		json_add_string(d->tags, ROLLOUT_SERVED_TAG, served);
	}
}

Test(rollout, pick_restore_newest_served_at_zero)
{
	static const char *const names[] = { "live", "old", "older", "never" };
	struct rollout_map traffic = ROLLOUT_MAP_INIT;
	struct aml_deployment d[6];
	int shares[4] = { 100, 0, 0, 0 };
	size_t i;

	map_set(&traffic, names, shares, 4);
	dep(&d[0], "live", "Succeeded", "2026-12-04T10:00:00Z");
	dep(&d[1], "older", "Succeeded", "2026-11-01T10:00:00Z");
	dep(&d[2], "old", "Succeeded", "2026-12-01T10:00:00Z");
	dep(&d[3], "never", "Succeeded", NULL);
	dep(&d[4], "broken", "Failed", "2026-12-03T10:00:00Z");
	dep(&d[5], "gone", "Succeeded", "2026-12-02T10:00:00Z");
	/* "gone" is not in the map at all: 0%, served, newer than "old". */
	cr_assert_eq(rollout_pick_restore(d, 6, &traffic), 5);
	cr_assert_eq(rollout_pick_restore(d, 5, &traffic), 2);
	cr_assert_eq(rollout_pick_restore(d, 2, &traffic), 1);
	cr_assert_eq(rollout_pick_restore(d, 1, &traffic), -1);
	cr_assert_eq(rollout_pick_restore(&d[3], 2, &traffic), -1);
	for (i = 0; i < 6; i++)
		aml_deployment_release(&d[i]);
	rollout_map_release(&traffic);
}
