#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/kv.h"
#include "core/banned.h"

void kv_list_init(struct kv_list *l)
{
	struct kv_list fresh = KV_LIST_INIT;

	*l = fresh;
}

void kv_list_release(struct kv_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < 2 * l->nr; i++)
		free(l->pairs[i]);
	free(l->pairs);
	kv_list_init(l);
}

void kv_list_add(struct kv_list *l, const char *key, const char *value)
{
	/* Room for this pair and the NULL after it. */
	if (l->alloc < 2 * l->nr + 3) {
		while (l->alloc < 2 * l->nr + 3)
			l->alloc = l->alloc ? 2 * l->alloc : 8;
		l->pairs = xrealloc(l->pairs, l->alloc * sizeof(*l->pairs));
	}
	l->pairs[2 * l->nr] = xstrdup(key);
	l->pairs[2 * l->nr + 1] = xstrdup(value);
	l->pairs[2 * l->nr + 2] = NULL;
	l->nr++;
}

const char *kv_list_find(const struct kv_list *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		if (!strcmp(l->pairs[2 * i], key))
			return l->pairs[2 * i + 1];
	return NULL;
}

static int pair_cmp(const void *a, const void *b)
{
	char *const *x = a, *const *y = b;
	int c = strcmp(x[0], y[0]);

	return c ? c : strcmp(x[1], y[1]);
}

void kv_list_sort(struct kv_list *l)
{
	/* A pair is two adjacent pointers: sort them as one element. */
	if (l->nr > 1)
		qsort(l->pairs, l->nr, 2 * sizeof(*l->pairs), pair_cmp);
}

const char *const *kv_list_pairs(const struct kv_list *l)
{
	static const char *const empty[] = { NULL };

	return l->pairs ? (const char *const *)l->pairs : empty;
}
