#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "azure/aml_job.h"
#include "azure/credential.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

/* Blob service version for log reads: >= 2017-11-09 so bearer tokens work
 * too (azure-contract 4). */
#define LOG_BLOB_VERSION "2021-12-02"
#define LOG_READ_DEFAULT (4u << 20)
#define ARTIFACT_DATASTORE "workspaceartifactstore"

static const char *const status_names[] = {
	[AML_JOB_UNKNOWN] = "Unknown",
	[AML_JOB_NOT_STARTED] = "NotStarted",
	[AML_JOB_STARTING] = "Starting",
	[AML_JOB_PROVISIONING] = "Provisioning",
	[AML_JOB_PREPARING] = "Preparing",
	[AML_JOB_QUEUED] = "Queued",
	[AML_JOB_RUNNING] = "Running",
	[AML_JOB_FINALIZING] = "Finalizing",
	[AML_JOB_CANCEL_REQUESTED] = "CancelRequested",
	[AML_JOB_COMPLETED] = "Completed",
	[AML_JOB_FAILED] = "Failed",
	[AML_JOB_CANCELED] = "Canceled",
	[AML_JOB_NOT_RESPONDING] = "NotResponding",
	[AML_JOB_PAUSED] = "Paused",
};

enum aml_job_status aml_job_status_parse(const char *text)
{
	size_t i;

	if (!text)
		return AML_JOB_UNKNOWN;
	for (i = 1; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (!strcasecmp(text, status_names[i]))
			return (enum aml_job_status)i;
	return AML_JOB_UNKNOWN;
}

const char *aml_job_status_name(enum aml_job_status s)
{
	if ((size_t)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "Unknown";
	return status_names[s];
}

int aml_job_status_terminal(enum aml_job_status s)
{
	/* azure-contract 3.5: the terminal JobStatus values are exactly these three. */
	return s == AML_JOB_COMPLETED || s == AML_JOB_FAILED || s == AML_JOB_CANCELED;
}

int aml_job_status_succeeded(enum aml_job_status s)
{
	return s == AML_JOB_COMPLETED;
}

/* ---- the body ---- */

static int add_input(cJSON *inputs, const struct aml_job_input *in)
{
	static const char *const types[] = { "literal", "uri_file", "uri_folder",
					     "custom_model" };
	cJSON *o;
	int ret;

	if (!in->name || (ret = aml_check_name(in->name, "job input name")))
		return in->name ? ret : error_set(ERR_INPUT, "a job input has no name");
	if ((unsigned)in->type > AML_INPUT_CUSTOM_MODEL)
		return error_set(ERR_INPUT, "job input '%s' has an unknown type", in->name);
	o = json_add_object(inputs, in->name);
	json_add_string(o, "jobInputType", types[in->type]);
	if (in->type == AML_INPUT_LITERAL) {
		if (!in->value)
			return error_set(ERR_INPUT, "literal job input '%s' has no value", in->name);
		json_add_string(o, "value", in->value);
		return 0;
	}
	if (!in->uri || !*in->uri)
		return error_set(ERR_INPUT, "job input '%s' has no uri", in->name);
	json_add_string(o, "uri", in->uri);
	if (in->mode)
		json_add_string(o, "mode", in->mode);
	return 0;
}

static int add_output(cJSON *outputs, const struct aml_job_output *o)
{
	cJSON *item;
	int ret;

	if (!o->name)
		return error_set(ERR_INPUT, "a job output has no name");
	if ((ret = aml_check_name(o->name, "job output name")))
		return ret;
	item = json_add_object(outputs, o->name);
	json_add_string(item, "jobOutputType", "uri_folder");
	json_add_string(item, "mode", o->mode ? o->mode : "ReadWriteMount");
	if (o->uri)
		json_add_string(item, "uri", o->uri);
	return 0;
}

/* ---- the compute side: resources, distribution, queue, identity, services ---- */

static int check_count(long n, const char *what)
{
	if (n < 0)
		return error_set(ERR_INPUT, "job %s is %ld, not a positive integer", what, n);
	return 0;
}

static int add_resources(cJSON *props, const struct aml_job_resources *r)
{
	cJSON *o;
	int ret;

	if (!r->instance_count && !r->instance_type && !r->shm_size && !r->docker_args &&
	    !r->properties)
		return 0;
	if ((ret = check_count(r->instance_count, "resources.instanceCount")))
		return ret;
	o = json_add_object(props, "resources");
	if (r->instance_count)
		json_add_number(o, "instanceCount", (double)r->instance_count);
	aml_add_optional(o, "instanceType", r->instance_type);
	aml_add_optional(o, "shmSize", r->shm_size);
	aml_add_optional(o, "dockerArgs", r->docker_args);
	if (r->properties)
		cJSON_AddItemToObject(o, "properties", cJSON_Duplicate(r->properties, 1));
	return 0;
}

static int add_distribution(cJSON *props, const struct aml_job_distribution *d)
{
	static const char *const types[] = {
		[AML_DIST_PYTORCH] = "PyTorch", [AML_DIST_MPI] = "Mpi",
		[AML_DIST_TENSORFLOW] = "TensorFlow",
	};
	cJSON *o;
	int ret;

	if (d->type == AML_DIST_NONE)
		return 0;
	if ((unsigned)d->type > AML_DIST_TENSORFLOW)
		return error_set(ERR_INPUT, "the job's distribution has an unknown type");
	if ((ret = check_count(d->process_count_per_instance, "distribution.processCountPerInstance")) ||
	    (ret = check_count(d->worker_count, "distribution.workerCount")) ||
	    (ret = check_count(d->parameter_server_count, "distribution.parameterServerCount")))
		return ret;
	o = json_add_object(props, "distribution");
	json_add_string(o, "distributionType", types[d->type]);
	if (d->type != AML_DIST_TENSORFLOW) {
		if (d->process_count_per_instance)
			json_add_number(o, "processCountPerInstance",
						(double)d->process_count_per_instance);
		return 0;
	}
	if (d->worker_count)
		json_add_number(o, "workerCount", (double)d->worker_count);
	if (d->parameter_server_count)
		json_add_number(o, "parameterServerCount", (double)d->parameter_server_count);
	return 0;
}

static void add_identity(cJSON *props, const struct aml_job_identity *id)
{
	/* Without one the job runs as the workspace's AML token identity, as
	 * the CLI's default does; the example's identity block. */
	cJSON *o = json_add_object(props, "identity");

	json_add_string(o, "identityType", id->type && *id->type ? id->type : "AMLToken");
	if (!id->type || strcmp(id->type, "Managed"))
		return;
	aml_add_optional(o, "clientId", id->client_id);
	aml_add_optional(o, "objectId", id->object_id);
	aml_add_optional(o, "resourceId", id->resource_id);
}

static int add_services(cJSON *props, const struct aml_job_service *svc, size_t n)
{
	cJSON *map, *o;
	size_t i;
	int ret;

	if (!n)
		return 0;
	map = json_add_object(props, "services");
	for (i = 0; i < n; i++) {
		if (!svc[i].name || !*svc[i].name || !svc[i].type || !*svc[i].type)
			return error_set(ERR_INPUT, "a job service has no name or type");
		if (svc[i].port < 0 || svc[i].port > 65535)
			return error_set(ERR_INPUT, "job service '%s': port %ld is not 1 to 65535",
					 svc[i].name, svc[i].port);
		o = json_add_object(map, svc[i].name);
		json_add_string(o, "jobServiceType", svc[i].type);
		if (svc[i].port)
			json_add_number(o, "port", (double)svc[i].port);
		if (svc[i].all_nodes)
			json_add_string(json_add_object(o, "nodes"), "nodesValueType", "All");
		if (svc[i].properties &&
		    (ret = aml_add_pairs(o, "properties", svc[i].properties, "job service property")))
			return ret;
	}
	return 0;
}

/* Everything of a command job that says where and how it runs. */
static int add_compute_side(cJSON *props, const struct aml_job_spec *spec)
{
	int ret;

	if ((ret = add_resources(props, &spec->resources)) ||
	    (ret = add_distribution(props, &spec->distribution)) ||
	    (ret = add_services(props, spec->services, spec->services_nr)))
		return ret;
	if (spec->job_tier && *spec->job_tier)
		json_add_string(json_add_object(props, "queueSettings"), "jobTier", spec->job_tier);
	add_identity(props, &spec->identity);
	return 0;
}

void aml_duration(struct buf *out, long s)
{
	buf_addstr(out, "PT");
	if (s <= 0) {
		buf_addstr(out, "0S");
		return;
	}
	if (s >= 3600)
		buf_addf(out, "%ldH", s / 3600);
	if (s % 3600 >= 60)
		buf_addf(out, "%ldM", s % 3600 / 60);
	if (s % 60)
		buf_addf(out, "%ldS", s % 60);
}

int aml_job_body(cJSON **out, const struct aml_job_spec *spec)
{
	cJSON *root = json_new_object(), *props, *map;
	size_t i;
	int ret = 0;

	*out = NULL;
	if (!spec->command || !*spec->command) {
		ret = error_set(ERR_INPUT, "the job has no command");
		goto done;
	}
	if (!spec->environment_id || !*spec->environment_id) {
		ret = error_set(ERR_INPUT, "the job has no environment");
		goto done;
	}
	props = json_add_object(root, "properties");
	json_add_string(props, "jobType", "Command");
	json_add_string(props, "command", spec->command);
	json_add_string(props, "environmentId", spec->environment_id);
	aml_add_optional(props, "codeId", spec->code_id);
	aml_add_optional(props, "computeId", spec->compute_id);
	aml_add_optional(props, "displayName", spec->display_name);
	aml_add_optional(props, "experimentName", spec->experiment_name);
	aml_add_optional(props, "description", spec->description);
	if ((ret = aml_add_pairs(props, "tags", spec->tags, "job tag")) ||
	    (ret = aml_add_pairs(props, "properties", spec->properties, "job property")) ||
	    (ret = aml_add_pairs(props, "environmentVariables", spec->environment_variables,
			     "environment variable")))
		goto done;
	map = json_add_object(props, "inputs");
	for (i = 0; i < spec->inputs_nr; i++)
		if ((ret = add_input(map, &spec->inputs[i])))
			goto done;
	map = json_add_object(props, "outputs");
	for (i = 0; i < spec->outputs_nr; i++)
		if ((ret = add_output(map, &spec->outputs[i])))
			goto done;
	if (spec->timeout_s > 0) {
		struct buf d = BUF_INIT;

		map = json_add_object(props, "limits");
		json_add_string(map, "jobLimitsType", "Command");
		aml_duration(&d, spec->timeout_s);
		json_add_string(map, "timeout", d.data);
		buf_release(&d);
	}
	ret = add_compute_side(props, spec);
done:
	if (ret)
		cJSON_Delete(root);
	else
		*out = root;
	return ret;
}

/* ---- parsing ---- */

void aml_job_release(struct aml_job *job)
{
	size_t i;

	if (!job)
		return;
	free(job->name);
	free(job->display_name);
	free(job->experiment_name);
	free(job->status_text);
	free(job->studio_url);
	free(job->tracking_uri);
	free(job->error);
	free(job->created_at);
	free(job->start_time);
	free(job->end_time);
	for (i = 0; i < job->outputs_nr; i++) {
		free(job->outputs[i].name);
		free(job->outputs[i].uri);
		free(job->outputs[i].type);
	}
	free(job->outputs);
	for (i = 0; i < job->inputs_nr; i++) {
		free(job->inputs[i].name);
		free(job->inputs[i].uri);
		free(job->inputs[i].type);
	}
	free(job->inputs);
	cJSON_Delete(job->tags);
	memset(job, 0, sizeof(*job));
}

/* The inputs or outputs map; `type_key` names the field of their type. */
static void parse_paths(struct aml_job_output_path **out, size_t *nr_out, const cJSON *map,
			const char *type_key)
{
	const cJSON *o;
	size_t n = 0;

	cJSON_ArrayForEach(o, map)
		n++;
	if (!n)
		return;
	*out = xcalloc(n, sizeof(**out));
	cJSON_ArrayForEach(o, map) {
		(*out)[*nr_out].name = xstrdup(o->string ? o->string : "");
		(*out)[*nr_out].uri = aml_dup_string(o, "uri");
		(*out)[*nr_out].type = aml_dup_string(o, type_key);
		(*nr_out)++;
	}
}

int aml_job_parse(struct aml_job *out, const cJSON *json)
{
	const cJSON *props = json_find(json, "properties");
	const cJSON *err;

	aml_job_release(out);
	if (!json_string_or(json, "name", NULL) || !cJSON_IsObject(props))
		return error_set(ERR_JSON, "job resource: no name or properties");
	out->name = aml_dup_string(json, "name");
	out->display_name = aml_dup_string(props, "displayName");
	out->experiment_name = aml_dup_string(props, "experimentName");
	out->status_text = aml_dup_string(props, "status");
	out->status = aml_job_status_parse(out->status_text);
	out->studio_url = aml_dup_string(props, "services.Studio.endpoint");
	out->tracking_uri = aml_dup_string(props, "services.Tracking.endpoint");
	out->created_at = aml_dup_string(json, "systemData.createdAt");
	/* Not in the spec; the live service keeps run times in the job's
	 * properties dictionary, as `az ml job show` prints them [obs]. */
	out->start_time = aml_dup_string(props, "properties.StartTimeUtc");
	out->end_time = aml_dup_string(props, "properties.EndTimeUtc");
	err = json_find(props, "error");
	if (cJSON_IsObject(err)) {
		struct buf text = BUF_INIT;

		arm_error_text(&text, err);
		out->error = buf_detach(&text, NULL);
	}
	parse_paths(&out->outputs, &out->outputs_nr, json_find(props, "outputs"), "jobOutputType");
	parse_paths(&out->inputs, &out->inputs_nr, json_find(props, "inputs"), "jobInputType");
	out->tags = aml_dup_object(props, "tags");
	return 0;
}

void aml_job_generate_name(struct buf *out)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	buf_addf(out, "mlops-%s-", stamp);
	random_hex(out, 4);
}

/* ---- calls ---- */

int aml_job_create(struct aml_job *out, struct aml *aml, const char *name,
		   const struct aml_job_spec *spec)
{
	cJSON *body = NULL;
	int ret;

	if (!(ret = aml_job_body(&body, spec)))
		ret = aml_job_put(out, aml, name, body);
	cJSON_Delete(body);
	return ret;
}

int aml_job_put(struct aml_job *out, struct aml *aml, const char *name, const cJSON *body)
{
	struct buf job_name = BUF_INIT, path = BUF_INIT;
	struct arm_response r = ARM_RESPONSE_INIT;
	int ret;

	if (name && *name)
		buf_addstr(&job_name, name);
	else
		aml_job_generate_name(&job_name);
	if ((ret = aml_check_name(job_name.data, "job name")))
		goto done;
	aml_path(&path, aml, "/jobs/%s", job_name.data);
	if ((ret = arm_call(aml->arm, "PUT", path.data, AML_API_VERSION, body, &r)))
		goto done;
	if (out)
		ret = aml_job_parse(out, r.json);
done:
	arm_response_release(&r);
	buf_release(&path);
	buf_release(&job_name);
	return ret;
}

int aml_job_read(struct aml_job *out, long *status_out, struct aml *aml, const char *name)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	int ret;

	*status_out = 0;
	if ((ret = aml_check_name(name, "job name")))
		return ret;
	aml_path(&path, aml, "/jobs/%s", name);
	if (!(ret = arm_call(aml->arm, "GET", path.data, AML_API_VERSION, NULL, &r)))
		ret = aml_job_parse(out, r.json);
	*status_out = r.status ? r.status : r.http.status;
	arm_response_release(&r);
	buf_release(&path);
	return ret;
}

int aml_job_get(struct aml_job *out, struct aml *aml, const char *name)
{
	long status;

	return aml_job_read(out, &status, aml, name);
}

int aml_job_cancel(struct aml *aml, const char *name, long timeout_s)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT, what = BUF_INIT;
	int ret;

	if ((ret = aml_check_name(name, "job name")))
		return ret;
	aml_path(&path, aml, "/jobs/%s/cancel", name);
	buf_addf(&what, "cancel job %s", name);
	if (!(ret = arm_call(aml->arm, "POST", path.data, AML_API_VERSION, NULL, &r)) &&
	    r.status == 202)
		/* azure-contract 3.5: 202 + Location, final state via the location; no
		 * resource path, so a 200 without Location is already final. */
		ret = arm_wait(aml->arm, &r, NULL, AML_API_VERSION, what.data, timeout_s, NULL);
	arm_response_release(&r);
	buf_release(&path);
	buf_release(&what);
	return ret;
}

void aml_job_list_release(struct aml_job_list *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		aml_job_release(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->nr = 0;
}

int aml_job_list(struct aml_job_list *out, struct aml *aml, const char *tag)
{
	return aml_job_list_of(out, aml, "Command", tag);
}

int aml_job_list_of(struct aml_job_list *out, struct aml *aml, const char *job_type,
		    const char *tag)
{
	struct buf path = BUF_INIT;
	cJSON *items = NULL;
	const cJSON *item;
	int ret;

	aml_job_list_release(out);
	aml_path(&path, aml, "/jobs?jobType=");
	url_encode(&path, job_type);
	if (tag && *tag) {
		buf_addstr(&path, "&tag=");
		url_encode(&path, tag);
	}
	if ((ret = arm_list(aml->arm, path.data, AML_API_VERSION, &items)))
		goto done;
	out->items = xcalloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*out->items));
	cJSON_ArrayForEach(item, items) {
		if ((ret = aml_job_parse(&out->items[out->nr], item))) {
			error_prefix("GET %s/jobs", aml->workspace_path);
			break;
		}
		out->nr++;
	}
done:
	if (ret)
		aml_job_list_release(out);
	cJSON_Delete(items);
	buf_release(&path);
	return ret;
}

/* ---- logs ---- */

void aml_job_log_blob(struct buf *out, const char *job_name)
{
	/* Where Azure ML's run history keeps a command job's user log (the
	 * "dcid." prefix is the run id's data container). */
	buf_addf(out, "ExperimentRun/dcid.%s/user_logs/std_log.txt", job_name);
}

void aml_job_log_process_blob(struct buf *out, const char *job_name, int rank)
{
	buf_addf(out, "ExperimentRun/dcid.%s/user_logs/std_log_process_%d.txt", job_name, rank);
}

void aml_job_log_release(struct aml_job_log *log)
{
	free(log->url);
	free(log->process_url);
	free(log->account);
	buf_wipe(&log->key);
	memset(log, 0, sizeof(*log));
	buf_init(&log->key);
}

/* The account key of the artifact datastore, or an empty `key` when it has
 * none (identity-based access). */
static int artifact_key(struct buf *key, struct aml *aml)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT;
	const char *type, *secret;
	int ret;

	aml_path(&path, aml, "/datastores/%s/listSecrets", ARTIFACT_DATASTORE);
	if ((ret = arm_call(aml->arm, "POST", path.data, AML_API_VERSION, NULL, &r)))
		goto done;
	type = json_string_or(r.json, "secretsType", "");
	secret = json_string_or(r.json, "key", NULL);
	if (strcmp(type, "AccountKey") || !secret)
		goto done;
	log_secret(secret); /* before anything could print it */
	if (base64_decode(key, secret, strlen(secret))) {
		ret = error_set(ERR_JSON, "POST %s: the account key is not base64", path.data);
		buf_wipe(key);
	}
done:
	arm_response_release(&r);
	buf_release(&path);
	return ret;
}

int aml_job_log_open(struct aml_job_log *out, struct aml *aml, const char *job_name,
		     struct token_source tokens)
{
	struct arm_response r = ARM_RESPONSE_INIT;
	struct buf path = BUF_INIT, url = BUF_INIT, proc = BUF_INIT;
	const char *account, *container, *suffix;
	int ret;

	aml_job_log_release(out);
	if ((ret = aml_check_name(job_name, "job name")))
		return ret;
	aml_path(&path, aml, "/datastores/%s", ARTIFACT_DATASTORE);
	if ((ret = arm_call(aml->arm, "GET", path.data, AML_API_VERSION, NULL, &r)))
		goto done;
	account = json_string_or(r.json, "properties.accountName", NULL);
	container = json_string_or(r.json, "properties.containerName", NULL);
	suffix = json_string_or(r.json, "properties.endpoint", "core.windows.net");
	if (!account || !container) {
		ret = error_set(ERR_JSON, "GET %s: no accountName or containerName", path.data);
		goto done;
	}
	buf_addf(&url, "https://%s.blob.%s/%s/", account, suffix, container);
	buf_add(&proc, url.data, url.len);
	aml_job_log_blob(&url, job_name);
	aml_job_log_process_blob(&proc, job_name, 0);
	out->account = xstrdup(account);
	if ((ret = artifact_key(&out->key, aml)))
		goto done;
	if (!out->key.len && !token_source_ready(&tokens)) {
		ret = error_set(ERR_AUTH, "job %s log: datastore %s has no account key and no "
				"storage token was given", job_name, ARTIFACT_DATASTORE);
		goto done;
	}
	out->url = buf_detach(&url, NULL);
	out->process_url = buf_detach(&proc, NULL);
	out->tokens = tokens;
done:
	out->http = aml->arm->http;
	if (ret)
		aml_job_log_release(out);
	arm_response_release(&r);
	buf_release(&path);
	buf_release(&url);
	buf_release(&proc);
	return ret;
}

void aml_blob_get_string_to_sign(struct buf *out, const char *account, const char *path,
				 const char *range, const char *date, const char *version)
{
	/* VERB, Content-Encoding, -Language, -Length, -MD5, -Type, Date,
	 * If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range;
	 * then the x-ms- headers sorted; then /account/path. */
	buf_addf(out, "GET\n\n\n\n\n\n\n\n\n\n\n%s\nx-ms-date:%s\nx-ms-version:%s\n/%s%s",
		 range, date, version, account, path);
}

static void http_date(char *out, size_t n)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* The Authorization header line for a GET of `url`, a blob of log->account. */
static int log_auth(struct buf *auth, const struct aml_job_log *log, const char *url,
		    const char *range, const char *date)
{
	const char *token;
	int ret;

	if (log->key.len) {
		struct buf sts = BUF_INIT;
		unsigned char mac[SHA256_LEN];
		const char *path = strchr(url + strlen("https://"), '/');

		aml_blob_get_string_to_sign(&sts, log->account, path, range, date, LOG_BLOB_VERSION);
		hmac_sha256(mac, log->key.data, log->key.len, sts.data, sts.len);
		buf_addf(auth, "Authorization: SharedKey %s:", log->account);
		base64_encode(auth, mac, sizeof(mac));
		buf_release(&sts);
		return 0;
	}
	if ((ret = token_source_get(&log->tokens, AZURE_SCOPE_STORAGE, &token)))
		return error_prefix("GET %s", url);
	buf_addf(auth, "Authorization: Bearer %s", token);
	return 0;
}

/* The bytes of a 200 (range ignored) or 206 answer that lie past `offset`. */
static size_t take_new_bytes(struct buf *out, const struct http_response *res,
			     uint64_t offset, size_t max)
{
	const char *data = res->body.data;
	size_t len = res->body.len;

	if (res->status == 200) {
		if (offset >= len)
			return 0;
		data += offset;
		len -= (size_t)offset;
	}
	if (len > max)
		len = max;
	buf_add(out, data, len);
	return len;
}

/* One ranged GET of `url`; `*missing` says it answered 404 (no blob yet). */
static int log_get(struct buf *out, size_t *read_out, int *missing, struct aml_job_log *log,
		   const char *url, uint64_t offset, size_t max)
{
	struct http_request req = { 0 };
	struct http_response res = HTTP_RESPONSE_INIT;
	struct buf auth = BUF_INIT, range_h = BUF_INIT, date_h = BUF_INIT, ver_h = BUF_INIT;
	char range[64], date[64];
	const char *headers[5];
	size_t got = 0;
	int ret;

	*missing = 0;
	snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)offset,
		 (unsigned long long)(offset + max - 1));
	http_date(date, sizeof(date));
	buf_addf(&range_h, "Range: %s", range);
	buf_addf(&date_h, "x-ms-date: %s", date);
	buf_addf(&ver_h, "x-ms-version: %s", LOG_BLOB_VERSION);
	headers[1] = range_h.data;
	headers[2] = date_h.data;
	headers[3] = ver_h.data;
	headers[4] = NULL;
	req.method = "GET";
	req.url = url;
	req.headers = headers;
	/* A server that ignores Range sends the whole blob: allow for the
	 * bytes before `offset`, within the client's own cap. */
	req.max_response = max + 4096;
	for (int attempt = 0;; attempt++) {
		static const char bearer[] = "Authorization: Bearer ";

		buf_wipe(&auth);
		if ((ret = log_auth(&auth, log, url, range, date)))
			goto done;
		headers[0] = auth.data;
		if ((ret = http_send(log->http, &req, &res)))
			goto done;
		/* A bearer refused as expired: a new token, once (credential.h). */
		if (attempt || strncmp(auth.data, bearer, strlen(bearer)) ||
		    !credential_refused_as_expired(&res))
			break;
		credential_token_refused(auth.data + strlen(bearer));
	}
	/* 404: the job has not written its first line yet; 416: nothing past
	 * `offset` yet. Both are the normal "no news" of a follower. */
	*missing = res.status == 404;
	if (res.status == 404 || res.status == 416)
		goto done;
	if (res.status != 200 && res.status != 206) {
		struct buf code = BUF_INIT;

		http_header(&res, "x-ms-error-code", &code);
		ret = http_status_error(&res, "GET", url, code.len ? code.data : NULL);
		buf_release(&code);
		goto done;
	}
	got = take_new_bytes(out, &res, offset, max);
done:
	if (read_out)
		*read_out = got;
	http_response_release(&res);
	buf_wipe(&auth);
	buf_release(&range_h);
	buf_release(&date_h);
	buf_release(&ver_h);
	return ret;
}

int aml_job_log_read(struct buf *out, size_t *read_out, struct aml_job_log *log,
		     uint64_t offset, size_t max)
{
	size_t got = 0;
	int ret, missing;

	if (!max)
		max = LOG_READ_DEFAULT;
	ret = log_get(out, &got, &missing, log, log->url, offset, max);
	if (!ret && missing && !log->settled && log->process_url) {
		/* No std_log.txt (yet): a distributed job writes per process. */
		ret = log_get(out, &got, &missing, log, log->process_url, offset, max);
		if (!ret && !missing) {
			char *url = log->url;

			log->url = log->process_url;
			log->process_url = url;
		}
	}
	if (!ret && !missing)
		log->settled = 1;
	if (read_out)
		*read_out = got;
	return ret;
}
