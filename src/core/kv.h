#ifndef CORE_KV_H
#define CORE_KV_H

#include <stddef.h>

/*
 * An ordered list of string key/value pairs (tags, environment variables,
 * properties) that owns copies of its strings. The pairs are kept flat,
 * "key", "value", ..., NULL, which is the form the Azure request builders
 * take (`const char *const *`, see kv_list_pairs), so a list is handed to
 * them without a copy. A zeroed struct is an empty list, as KV_LIST_INIT.
 */
struct kv_list {
	char **pairs;   /* 2 * nr strings, then NULL; NULL while nothing was added */
	size_t nr;      /* pairs */
	size_t alloc;   /* pointers allocated in `pairs` */
};
#define KV_LIST_INIT { NULL, 0, 0 }

void kv_list_init(struct kv_list *l);
/* Frees the contents; `l` is KV_LIST_INIT afterwards. NULL is fine. */
void kv_list_release(struct kv_list *l);

/* Appends copies of `key` and `value`, after any pair with the same key. */
void kv_list_add(struct kv_list *l, const char *key, const char *value);

/* The value of the first pair with `key`, borrowed from `l`; NULL when none. */
const char *kv_list_find(const struct kv_list *l, const char *key);

/* Sorts the pairs by key, then value, byte by byte (strcmp); the order
 * of canonical strings such as Azure Storage's Shared Key. */
void kv_list_sort(struct kv_list *l);

/*
 * The pairs as a NULL-terminated "key", "value", ... array, borrowed from
 * `l` and valid until it changes; never NULL (an empty list gives an
 * array holding only the NULL).
 */
const char *const *kv_list_pairs(const struct kv_list *l);

#endif
