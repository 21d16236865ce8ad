#ifndef TESTS_TMPDIR_H
#define TESTS_TMPDIR_H

/*
 * Scratch folders for tests that read files: a suite keeps one
 * `static char root[] = "/tmp/<suite>-XXXXXX";`, makes it in .init and
 * removes it in .fini (Criterion runs each test in a fresh process, so
 * every test gets a folder of its own). Each helper fails the test on error.
 */

/* mkdtemp(`template`), which it rewrites to the folder's name. */
void tmpdir_make(char *template);
/* rm -rf `root`. */
void tmpdir_remove(const char *root);
/* Writes `text` to <root>/<rel>, making the folders on the way. */
void tmpdir_write(const char *root, const char *rel, const char *text);

#endif
