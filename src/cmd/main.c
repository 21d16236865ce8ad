/*
 * mlops: one program, one entrypoint per workflow. Like busybox or git's
 * builtins, the workflow comes from the name the program was started by
 * (a link named model-cd) or from its first argument (mlops model-cd).
 */
#include <stdio.h>
#include <string.h>

#include "cmd/workflow.h"
#include "core/banned.h"

#ifndef MLOPS_VERSION
#define MLOPS_VERSION "dev"
#endif

static void usage(FILE *out)
{
	const struct workflow *const *wf;

	fprintf(out, "usage: mlops <workflow> [--INPUT VALUE]...\n"
		     "       mlops <workflow> --help | --action-yml\n"
		     "       mlops --list | --version | --action-yml\n\n"
		     "Azure Machine Learning CI/CD workflows. Each also runs as a link named\n"
		     "after it, and as a GitHub Action or Azure Pipelines container step.\n\n"
		     "Workflows:\n");
	for (wf = workflows; *wf; wf++)
		fprintf(out, "  %-16s %s\n", (*wf)->spec.name, (*wf)->description);
	fprintf(out, "\nRun 'mlops <workflow> --help' for its inputs and outputs.\n");
}

static int print_action(const struct workflow *wf)
{
	struct buf yml = BUF_INIT;

	workflow_action_yml(&yml, wf);
	fputs(yml.data, stdout);
	buf_release(&yml);
	return EXIT_OK;
}

static int dispatch(const struct workflow *wf, int argc, char **argv)
{
	if (argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
		workflow_help(wf, stdout);
		return EXIT_OK;
	}
	if (argc > 0 && !strcmp(argv[0], "--action-yml"))
		return print_action(wf);
	return workflow_run(wf, argc, argv);
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const struct workflow *const *each;
	const struct workflow *wf;
	const char *cmd;

	if ((wf = workflow_find(self)))
		return dispatch(wf, argc - 1, argv + 1);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("mlops %s\n", MLOPS_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "--list")) {
		for (each = workflows; *each; each++)
			printf("%s\n", (*each)->spec.name);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "--action-yml"))
		return print_action(NULL);
	if ((wf = workflow_find(cmd)))
		return dispatch(wf, argc - 2, argv + 2);
	fprintf(stderr, "mlops: '%s' is not a workflow\n\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
