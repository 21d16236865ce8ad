#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/kv.h"

TestSuite(kv);

Test(kv, an_empty_list_has_an_empty_pairs_array)
{
	struct kv_list l = KV_LIST_INIT;

	cr_assert_not_null(kv_list_pairs(&l));
	cr_assert_null(kv_list_pairs(&l)[0]);
	cr_assert_null(kv_list_find(&l, "a"));
	kv_list_release(&l);
	kv_list_release(&l); /* released twice is fine */
	kv_list_release(NULL);
}

Test(kv, pairs_keep_their_order_as_flat_null_terminated_copies)
{
	struct kv_list l = KV_LIST_INIT;
	char key[] = "team", value[] = "ml";
	const char *const *p;
	char name[16];
	size_t i;

	kv_list_add(&l, key, value);
	key[0] = value[0] = 'X'; /* the list holds copies */
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "k%zu", i);
		kv_list_add(&l, name, "v");
	}
	cr_assert_eq(l.nr, 21);
	p = kv_list_pairs(&l);
	cr_assert_str_eq(p[0], "team");
	cr_assert_str_eq(p[1], "ml");
	cr_assert_str_eq(p[40], "k19");
	cr_assert_str_eq(p[41], "v");
	cr_assert_null(p[42]);
	kv_list_release(&l);
	cr_assert_eq(l.nr, 0);
	cr_assert_null(kv_list_pairs(&l)[0]);
}

Test(kv, find_returns_the_first_value_of_a_key)
{
	struct kv_list l = KV_LIST_INIT;

	kv_list_add(&l, "a", "1");
	kv_list_add(&l, "b", "");
	kv_list_add(&l, "a", "2");
	cr_assert_str_eq(kv_list_find(&l, "a"), "1");
	cr_assert_str_eq(kv_list_find(&l, "b"), "");
	cr_assert_null(kv_list_find(&l, "A"));
	kv_list_release(&l);
}

Test(kv, sort_orders_by_key_then_value_bytewise)
{
	struct kv_list l = KV_LIST_INIT;
	const char *const *p;

	kv_list_sort(&l);
	kv_list_add(&l, "b", "2");
	kv_list_add(&l, "a", "z");
	kv_list_add(&l, "b", "1");
	kv_list_add(&l, "B", "0");
	kv_list_add(&l, "a", "y");
	kv_list_sort(&l);
	p = kv_list_pairs(&l);
	cr_assert_str_eq(p[0], "B");
	cr_assert_str_eq(p[2], "a");
	cr_assert_str_eq(p[3], "y");
	cr_assert_str_eq(p[5], "z");
	cr_assert_str_eq(p[6], "b");
	cr_assert_str_eq(p[7], "1");
	cr_assert_str_eq(p[9], "2");
	cr_assert_null(p[10]);
	kv_list_release(&l);
}
