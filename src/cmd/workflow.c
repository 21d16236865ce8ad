#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ci/summary.h"
#include "cmd/workflow.h"
#include "core/log.h"
#include "core/banned.h"

const struct workflow *const workflows[] = {
	&workflow_workspace_cd, &workflow_environment_ci, &workflow_environment_cd,
	&workflow_model_ci, &workflow_model_ct, &workflow_model_cd, NULL,
};

const struct workflow *workflow_find(const char *name)
{
	const struct workflow *const *wf;

	for (wf = workflows; *wf; wf++)
		if (!strcmp((*wf)->spec.name, name))
			return *wf;
	return NULL;
}

/* ---- what the run did ---- */

static int changed;

void workflow_changing(void)
{
	changed = 1;
}

int workflow_changed(void)
{
	return changed;
}

int workflow_outputs_written(int ret, int out, struct error_saved *saved)
{
	if (ret) {
		if (out)
			log_warning("outputs not written: %s", error_message());
		error_restore(saved);
	}
	error_saved_release(saved);
	return ret ? ret : out;
}

static int exit_code_for(int err)
{
	switch (err) {
	case 0:
		return EXIT_OK;
	case ERR_INPUT:
	case ERR_YAML:
		/* Exit 2 says nothing was changed: never after a change. */
		return changed ? EXIT_FAILED : EXIT_USAGE;
	default:
		return EXIT_FAILED;
	}
}

/*
 * The annotation and the summary line of a failed run. Its title names the
 * kind of error ("model-ci: http error"), or the outcome when the work
 * itself failed or was cancelled ("model-ci: failed", "model-ci:
 * cancelled"): the error is not in the HTTP or in the files then.
 */
static void report_failure(struct ci *ci, struct summary *summary, const struct workflow *wf,
			   int ret)
{
	int outcome = ret == ERR_REMOTE_FAILED || ret == ERR_CANCELLED;
	struct buf line = BUF_INIT;
	struct buf title = BUF_INIT;

	buf_addf(&title, "%s: %s%s", wf->spec.name, error_name(ret), outcome ? "" : " error");
	ci_annotate(ci, LOG_ERROR, error_where(), title.data, error_message());
	if (ret == ERR_CANCELLED) {
		buf_addstr(&line, "**Cancelled**: ");
	} else if (outcome) {
		buf_addstr(&line, "**Failed**: ");
	} else {
		buf_addstr(&line, "**Failed** (");
		summary_escape(&line, error_name(ret));
		buf_addstr(&line, " error): ");
	}
	summary_escape(&line, error_message());
	summary_markdown(summary, line.data);
	buf_release(&line);
	buf_release(&title);
}

/* ---- signals ---- */

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t graceful;

const char *workflow_signal_name(int sig)
{
	return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "a signal";
}

/* Only async-signal-safe calls below: write, alarm, _exit. */
static void say(const char *text, size_t len)
{
	ssize_t n = write(STDERR_FILENO, text, len);

	(void)n;
}

static void on_stop_signal(int sig)
{
	static const char again[] = "mlops: stopping at once\n";
	static const char asked[] = "mlops: asked to stop: finishing what can be written\n";

	if (!graceful || stop_signal) {
		say(again, sizeof(again) - 1);
		_exit(EXIT_SIGNAL + sig);
	}
	stop_signal = sig;
	say(asked, sizeof(asked) - 1);
	alarm(WORKFLOW_STOP_GRACE_S);
}

/* The watchdog: the stop took longer than the grace (a hung connection). */
static void on_alarm(int sig)
{
	static const char late[] = "mlops: not stopped within the grace period: exiting now\n";

	(void)sig;
	if (!stop_signal)
		return;
	say(late, sizeof(late) - 1);
	_exit(EXIT_SIGNAL + stop_signal);
}

struct saved_signals {
	struct sigaction intr, term, alrm;
};

static void install_signals(struct saved_signals *saved, int stops_gracefully)
{
	struct sigaction sa;

	stop_signal = 0;
	graceful = stops_gracefully;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking wait returns early and looks at the flag. */
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, &saved->intr);
	sigaction(SIGTERM, &sa, &saved->term);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, &saved->alrm);
}

static void restore_signals(const struct saved_signals *saved)
{
	alarm(0);
	sigaction(SIGINT, &saved->intr, NULL);
	sigaction(SIGTERM, &saved->term, NULL);
	sigaction(SIGALRM, &saved->alrm, NULL);
}

int workflow_stopping(void)
{
	return stop_signal;
}

const volatile sig_atomic_t *workflow_stop_flag(void)
{
	return &stop_signal;
}

int workflow_run(const struct workflow *wf, int argc, char **argv)
{
	struct saved_signals saved;
	struct summary *summary;
	struct ci *ci;
	int ret, code;

	changed = 0;
	install_signals(&saved, wf->stops_gracefully);
	ret = ci_open(&ci, &wf->spec, argc, argv);
	summary = ci_summary(ci);
	summary_heading(summary, 2, wf->title);
	if (!ret)
		ret = wf->run(ci);
	code = exit_code_for(ret);
	if (ret)
		report_failure(ci, summary, wf, ret);
	if (ci_close(ci) && !code)
		code = EXIT_FAILED;
	restore_signals(&saved);
	return code;
}

void workflow_help(const struct workflow *wf, FILE *out)
{
	const struct input_spec *in;
	const struct output_spec *o;

	fprintf(out, "usage: mlops %s [--INPUT VALUE]... [--summary FILE] [--artifacts DIR]\n\n",
		wf->spec.name);
	fprintf(out, "%s\n\n", wf->description);
	fprintf(out, "Inputs (flags on a terminal; INPUT_<NAME> variables under GitHub Actions\n"
		     "and Azure Pipelines):\n");
	for (in = wf->spec.inputs; in->name; in++) {
		fprintf(out, "  --%s", in->name);
		if (in->flags & INPUT_REQUIRED)
			fputs(" (required)", out);
		if (in->default_value)
			fprintf(out, " [default: %s]", in->default_value);
		if (in->flags & INPUT_SECRET)
			fputs(" (secret)", out);
		fprintf(out, "\n      %s\n", in->description);
	}
	fputs("\nOutputs:\n", out);
	for (o = wf->spec.outputs; o->name; o++)
		fprintf(out, "  %s\n      %s\n", o->name, o->description);
}

/* ---- action.yml ---- */

/* A YAML double-quoted scalar: safe for any text. */
static void yaml_quoted(struct buf *out, const char *s)
{
	buf_addch(out, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addch(out, '\\');
		if (*s == '\n')
			buf_addstr(out, "\\n");
		else
			buf_addch(out, *s);
	}
	buf_addch(out, '"');
}

static void yaml_input(struct buf *out, const struct input_spec *in, const char *desc,
		       int required, int with_default)
{
	buf_addf(out, "  %s:\n    description: ", in->name);
	yaml_quoted(out, desc);
	buf_addf(out, "\n    required: %s\n", required ? "true" : "false");
	if (with_default && in->default_value) {
		buf_addstr(out, "    default: ");
		yaml_quoted(out, in->default_value);
		buf_addch(out, '\n');
	}
}

static void yaml_output(struct buf *out, const struct output_spec *o)
{
	buf_addf(out, "  %s:\n    description: ", o->name);
	yaml_quoted(out, o->description);
	buf_addch(out, '\n');
}

static void header(struct buf *out, const char *regenerate)
{
	buf_addf(out, "# Generated by `mlops %s` from the program's input tables (src/cmd/);\n"
		      "# edit those, then run `make actions`. A test checks the two agree.\n",
		 regenerate);
}

static void one_action(struct buf *out, const struct workflow *wf)
{
	const struct input_spec *in;
	const struct output_spec *o;
	struct buf cmd = BUF_INIT;

	buf_addf(&cmd, "%s --action-yml", wf->spec.name);
	header(out, cmd.data);
	buf_addf(out, "name: \"Azure ML %s\"\ndescription: ", wf->title);
	yaml_quoted(out, wf->description);
	buf_addstr(out, "\nbranding:\n  icon: cloud\n  color: blue\ninputs:\n");
	for (in = wf->spec.inputs; in->name; in++)
		yaml_input(out, in, in->description, in->flags & INPUT_REQUIRED, 1);
	buf_addstr(out, "outputs:\n");
	for (o = wf->spec.outputs; o->name; o++)
		yaml_output(out, o);
	buf_addf(out, "runs:\n  using: docker\n  image: ../Dockerfile\n"
		      "  entrypoint: /usr/bin/%s\n", wf->spec.name);
	buf_release(&cmd);
}

static int seen_input(const struct workflow *const *upto, const char *name)
{
	const struct workflow *const *wf;
	const struct input_spec *in;

	for (wf = workflows; wf != upto; wf++)
		for (in = (*wf)->spec.inputs; in->name; in++)
			if (!strcmp(in->name, name))
				return 1;
	return 0;
}

static int seen_output(const struct workflow *const *upto, const char *name)
{
	const struct workflow *const *wf;
	const struct output_spec *o;

	for (wf = workflows; wf != upto; wf++)
		for (o = (*wf)->spec.outputs; o->name; o++)
			if (!strcmp(o->name, name))
				return 1;
	return 0;
}

/* " (model-ci, model-ct: required; default: 120)" or " (all workflows)". */
static void describe_users(struct buf *desc, const char *name)
{
	const struct workflow *const *wf;
	const struct input_spec *in;
	int users = 0, all = 1;
	size_t mark;

	buf_addstr(desc, " (");
	mark = desc->len;
	for (wf = workflows; *wf; wf++) {
		for (in = (*wf)->spec.inputs; in->name && strcmp(in->name, name); in++)
			;
		if (!in->name) {
			all = 0;
			continue;
		}
		buf_addf(desc, "%s%s", users++ ? "; " : "", (*wf)->spec.name);
		if (in->flags & INPUT_REQUIRED)
			buf_addstr(desc, ": required");
		if (in->default_value)
			buf_addf(desc, ": default %s", in->default_value);
	}
	if (all) {
		int same = 1;
		const char *def = NULL;
		unsigned flags = 0;

		/* When every workflow takes it alike, say so briefly. */
		for (wf = workflows; *wf; wf++) {
			for (in = (*wf)->spec.inputs; strcmp(in->name, name); in++)
				;
			if (wf == workflows) {
				def = in->default_value;
				flags = in->flags & INPUT_REQUIRED;
			} else if ((in->flags & INPUT_REQUIRED) != flags ||
				   (def != in->default_value && (!def || !in->default_value ||
								 strcmp(def, in->default_value)))) {
				same = 0;
			}
		}
		if (same) {
			buf_setlen(desc, mark);
			buf_addstr(desc, "all workflows");
			if (flags)
				buf_addstr(desc, ": required");
			if (def)
				buf_addf(desc, ": default %s", def);
		}
	}
	buf_addch(desc, ')');
}

/* The top-level action: any workflow, chosen by the `workflow` input. */
static void all_actions(struct buf *out)
{
	const struct workflow *const *wf;
	const struct input_spec *in;
	const struct output_spec *o;
	struct buf desc = BUF_INIT;

	header(out, "--action-yml");
	buf_addstr(out, "name: \"Azure ML MLOps\"\ndescription: \"CI/CD workflows for Azure "
			"Machine Learning: workspace, environments, training, registration and "
			"deployment.\"\nbranding:\n  icon: cloud\n  color: blue\ninputs:\n");
	buf_addstr(out, "  workflow:\n    description: \"The workflow to run:");
	for (wf = workflows; *wf; wf++)
		buf_addf(out, "%s %s", wf == workflows ? "" : ",", (*wf)->spec.name);
	buf_addstr(out, ".\"\n    required: true\n");
	/*
	 * Each input once, with the workflows that take it. No defaults here:
	 * they differ between workflows, and the runner would pass the first
	 * one to all; the program applies each workflow's own default.
	 */
	for (wf = workflows; *wf; wf++)
		for (in = (*wf)->spec.inputs; in->name; in++) {
			if (seen_input(wf, in->name))
				continue;
			buf_reset(&desc);
			buf_addstr(&desc, in->description);
			describe_users(&desc, in->name);
			yaml_input(out, in, desc.data, 0, 0);
		}
	buf_addstr(out, "outputs:\n");
	for (wf = workflows; *wf; wf++)
		for (o = (*wf)->spec.outputs; o->name; o++)
			if (!seen_output(wf, o->name))
				yaml_output(out, o);
	buf_addstr(out, "runs:\n  using: docker\n  image: Dockerfile\n"
			"  entrypoint: /usr/bin/mlops\n  args:\n    - ${{ inputs.workflow }}\n");
	buf_release(&desc);
}

void workflow_action_yml(struct buf *out, const struct workflow *wf)
{
	if (wf)
		one_action(out, wf);
	else
		all_actions(out);
}
