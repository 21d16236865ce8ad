#ifndef MLOPS_PIP_REQ_H
#define MLOPS_PIP_REQ_H

#include <stddef.h>

/*
 * pip requirement lines, as the `pip:` section of a conda file holds them:
 * the requirements file format (pip/_internal/req/req_file.py), one line
 * each. A line is a PEP 508 requirement ("requests[socks]>=2.31;
 * python_version>'3.8'", "numpy (>=1.24, <2)", "name @ https://..." with
 * optional --hash=algorithm:hex options), a bare URL ("git+https://...",
 * optionally with "; marker"), or an option a requirements file accepts
 * ("--extra-index-url URL", "-r file", "--pre"). Environment markers are
 * checked for shape, not evaluated.
 */

/*
 * Checks one line: 0, or ERR_INPUT with "invalid pip requirement '<line>':
 * <why>" (the line as an excerpt; no location: the caller adds it).
 */
int pip_req_check(const char *line);

/*
 * The length of the PEP 440 comparison operator `s` starts with ("===",
 * "==", "!=", ">=", "<=", "~=", ">" or "<"), 0 when none does.
 */
size_t pip_req_operator_len(const char *s);

/* Whether `s` starts with "scheme://", a scheme being letters, digits, '+',
 * '-' and '.' after a letter ("git+https"). */
int pip_req_is_url(const char *s);

#endif
