/*
 * Each committed action.yml must be exactly what the program generates from
 * its input tables: the tables are the single source of truth, and this
 * test catches an edit to one without the other (`make actions` mends it).
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cmd/workflow.h"
#include "core/fs.h"
#include "support/check.h"

static void check_file(const char *path, const struct workflow *wf)
{
	struct buf want = BUF_INIT, have = BUF_INIT;

	workflow_action_yml(&want, wf);
	cr_assert_ok(fs_read_file(&have, path, 1 << 20));
	cr_assert_str_eq(have.data, want.data,
			 "%s differs from the program's input table: run `make actions`", path);
	buf_release(&want);
	buf_release(&have);
}

Test(actions, top_level_action_matches_the_tables)
{
	check_file("action.yml", NULL);
}

Test(actions, each_workflow_action_matches_its_table)
{
	const struct workflow *const *wf;
	char path[128];

	for (wf = workflows; *wf; wf++) {
		snprintf(path, sizeof(path), "%s/action.yml", (*wf)->spec.name);
		check_file(path, *wf);
	}
}

Test(actions, input_names_are_portable_and_unique)
{
	const struct workflow *const *wf;
	const struct input_spec *in, *other;

	for (wf = workflows; *wf; wf++)
		for (in = (*wf)->spec.inputs; in->name; in++) {
			/* act maps anything outside [A-Z0-9-] to '_' (contract 1.3). */
			cr_assert_eq(strspn(in->name, "abcdefghijklmnopqrstuvwxyz0123456789-"),
				     strlen(in->name), "%s: input '%s'", (*wf)->spec.name, in->name);
			cr_assert(strcmp(in->name, "workflow"), "'workflow' is the top-level selector");
			for (other = in + 1; other->name; other++)
				cr_assert_str_neq(in->name, other->name);
			cr_assert(!(in->flags & INPUT_REQUIRED) || !in->default_value,
				  "%s: required input '%s' has a default", (*wf)->spec.name, in->name);
		}
}
