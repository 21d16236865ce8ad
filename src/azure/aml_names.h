#ifndef AZURE_AML_NAMES_H
#define AZURE_AML_NAMES_H

/*
 * The rules Azure Machine Learning applies to names, as pure checks that
 * need no client: the domain checks files with them before anything is
 * sent (implemented in aml.c). Each returns 0 or ERR_INPUT with a message
 * naming `what` and the rule.
 */

/* Asset, job and endpoint names: ^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$.
 * `what` names the thing in the message ("model name"). */
int aml_check_name(const char *name, const char *what);
/* Asset versions: 1-50 of letters, digits, '-', '_' and '.', starting with
 * a letter or digit. */
int aml_check_version(const char *version, const char *what);
/* Resource group: 1-90 of letters, digits, '-', '_', '.', '(' and ')',
 * not ending in '.'. */
int aml_check_resource_group(const char *name);
/* Workspace: 3-33 of letters, digits, '-' and '_', starting with a letter or digit. */
int aml_check_workspace(const char *name);

#endif
