"""Azure Monitor metrics of online endpoints: record() fed directly, then the
metrics API through the proxy with real scoring requests."""
import email.message
import time
import unittest
import urllib.parse

from azsandbox import monitor as mon
from azsandbox.httpcore import Request

from .helpers import SandboxTest, call, control, wait_for, ws_url

EP = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints/ep"
T0 = 1_700_000_040.0            # a whole minute


class FakeApp:
    location = "eastus"

    def __init__(self, grain=60):
        self.settings = {"metrics_grain_seconds": grain}


def request(**query):
    target = "/x?" + urllib.parse.urlencode(query)
    return Request("GET", "management.azure.com", target, email.message.Message())


def span(start, end):
    return "%s/%s" % (mon._iso(start), mon._iso(end))


class RecordTests(unittest.TestCase):
    def setUp(self):
        self.m = mon.Monitor(FakeApp())

    def query(self, uri=EP, deployment=None, **q):
        q.setdefault("timespan", span(T0, T0 + 180))
        return self.m.query(request(**q), uri, EP, deployment, now=T0 + 180)

    def feed(self):
        for i in range(10):
            self.m.record(EP, "blue", 200, 10 + i, T0 + 1)
        for _ in range(3):
            self.m.record(EP, "green", 503, 500, T0 + 2)
        self.m.record(EP, "green", 404, 5, T0 + 61)
        self.m.record(EP.upper(), "green", 200, 20, T0 + 62)     # ARM ids are case-insensitive

    def test_answer_shape(self):
        self.feed()
        out = self.query(metricnames="RequestsPerMinute", aggregation="Total", interval="PT1M")
        self.assertEqual(out["timespan"], span(T0, T0 + 180))
        self.assertEqual((out["interval"], out["namespace"], out["resourceregion"]),
                         ("PT1M", "microsoft.machinelearningservices/workspaces/onlineendpoints", "eastus"))
        self.assertIn("cost", out)
        metric = out["value"][0]
        self.assertEqual((metric["name"]["value"], metric["unit"], metric["type"], metric["errorCode"]),
                         ("RequestsPerMinute", "Count", "Microsoft.Insights/metrics", "Success"))
        self.assertTrue(metric["id"].endswith("/onlineEndpoints/ep/providers/Microsoft.Insights/metrics/RequestsPerMinute"))
        [series] = metric["timeseries"]
        self.assertEqual(series["metadatavalues"], [])
        self.assertEqual([p["timeStamp"] for p in series["data"]], [mon._iso(T0 + 60 * i) for i in range(3)])
        self.assertEqual([p.get("total") for p in series["data"]], [13, 2, None])   # no data: the value is absent
        self.assertEqual(series["data"][2], {"timeStamp": mon._iso(T0 + 120)})

    def test_filter_splits_and_restricts(self):
        self.feed()
        out = self.query(metricnames="RequestsPerMinute", aggregation="Total",
                         **{"$filter": "deployment eq '*' and StatusCodeClass eq '5xx'", "interval": "PT3M"})
        [series] = out["value"][0]["timeseries"]
        self.assertEqual(series["metadatavalues"], [
            {"name": {"value": "deployment", "localizedValue": "deployment"}, "value": "green"},
            {"name": {"value": "statuscodeclass", "localizedValue": "statusCodeClass"}, "value": "5xx"}])
        self.assertEqual(series["data"][0]["total"], 3)
        out = self.query(metricnames="RequestsPerMinute", aggregation="Total,Count",
                         **{"$filter": "statusCode eq '404' or statusCode eq '200'", "interval": "PT3M"})
        got = {s["metadatavalues"][0]["value"]: s["data"][0]["total"] for s in out["value"][0]["timeseries"]}
        self.assertEqual(got, {"200": 11, "404": 1})
        out = self.query(metricnames="RequestsPerMinute", aggregation="Total", **{"$filter": "deployment eq 'red'"})
        self.assertEqual(out["value"][0]["timeseries"], [])

    def test_latency_and_percentiles(self):
        self.feed()
        out = self.query(metricnames="RequestLatency,RequestLatency_P90", aggregation="Average,Maximum",
                         interval="PT1M", **{"$filter": "deployment eq 'blue'"})
        lat, p90 = out["value"]
        self.assertEqual(lat["unit"], "Milliseconds")
        self.assertEqual(lat["timeseries"][0]["data"][0], {"timeStamp": mon._iso(T0), "average": 14.5, "maximum": 19})
        self.assertEqual(p90["timeseries"][0]["data"][0]["maximum"], 18)     # nearest rank of 10..19
        self.assertEqual(mon.percentile([1, 2, 3, 4], 50), 2)
        self.assertIsNone(mon.percentile([], 90))

    def test_deployment_resource(self):
        self.feed()
        out = self.m.query(request(metricnames="RequestsPerMinute", aggregation="Total", interval="PT3M",
                                   timespan=span(T0, T0 + 180), **{"$filter": "envoy_response_code eq '*'"}),
                           EP + "/deployments/green", EP, "green", now=T0 + 180)
        self.assertEqual(out["namespace"], "microsoft.machinelearningservices/workspaces/onlineendpoints/deployments")
        got = {s["metadatavalues"][0]["value"]: s["data"][0]["total"] for s in out["value"][0]["timeseries"]}
        self.assertEqual(got, {"503": 3, "404": 1, "200": 1})

    def test_short_grain_makes_a_minute_seconds_long(self):
        self.m = mon.Monitor(FakeApp(grain=2))
        self.m.record(EP, "blue", 200, 1, T0 + 0.5)
        self.m.record(EP, "blue", 200, 1, T0 + 2.5)
        self.m.record(EP, "blue", 200, 1, T0 + 3.0)
        out = self.query(metricnames="RequestsPerMinute", aggregation="Total", interval="PT1M", timespan=span(T0, T0 + 6))
        self.assertEqual([p.get("total") for p in out["value"][0]["timeseries"][0]["data"]], [1, 2, None])
        out = self.query(metricnames="RequestsPerMinute", aggregation="Total", interval="FULL", timespan=span(T0, T0 + 6))
        self.assertEqual(out["value"][0]["timeseries"][0]["data"][0]["total"], 3)

    def test_bad_queries(self):
        cases = [({"metricnames": "Nope"}, "Failed to find metric configuration for provider: Microsoft.MachineLearningServices, "
                  "resource Type: workspaces/onlineEndpoints, metric: Nope, Valid metrics: "),
                 ({"$filter": "color eq 'red'"}, "does not support requested dimension"),
                 ({"$filter": "deployment eq 'a' or statusCode eq '200'"}, "cannot separate two different metadata names"),
                 ({"$filter": "deployment eq"}, "Invalid $filter"),
                 ({"$filter": "deployment ne 'a'"}, "Invalid $filter"),
                 ({"interval": "PT30S"}, "Invalid interval"),
                 ({"aggregation": "median"}, "Invalid aggregation"),
                 ({"top": "many"}, "Invalid top"),
                 ({"timespan": "yesterday"}, "Invalid timespan"),
                 ({"timespan": span(T0 + 10, T0)}, "Invalid timespan"),
                 ({"timespan": span(T0, T0 + 86400 * 30)}, "points per time series"),
                 ({"metricnamespace": "Microsoft.Compute/virtualMachines"}, "Metric namespace")]
        for query, message in cases:
            with self.subTest(query=query):
                with self.assertRaises(mon.BadQuery) as ctx:
                    self.query(**query)
                self.assertIn(message, str(ctx.exception))

    def test_top_keeps_the_biggest_series(self):
        for code in range(200, 215):
            for _ in range(code - 199):
                self.m.record(EP, "blue", code, 1, T0 + 1)
        out = self.query(metricnames="RequestsPerMinute", aggregation="Total", **{"$filter": "statusCode eq '*'"})
        self.assertEqual(len(out["value"][0]["timeseries"]), 10)
        out = self.query(metricnames="RequestsPerMinute", aggregation="Total", top="2", **{"$filter": "statusCode eq '*'"})
        self.assertEqual([s["metadatavalues"][0]["value"] for s in out["value"][0]["timeseries"]], ["214", "213"])

    def test_metadata_only(self):
        self.feed()
        out = self.query(metricnames="RequestsPerMinute", resultType="Metadata", **{"$filter": "deployment eq '*'"})
        self.assertNotIn("interval", out)
        self.assertEqual(sorted(s["metadatavalues"][0]["value"] for s in out["value"][0]["timeseries"]), ["blue", "green"])
        self.assertTrue(all(s["data"] == [] for s in out["value"][0]["timeseries"]))

    def test_filter_grammar(self):
        self.assertEqual(mon.parse_filter("A eq 'a1' and B eq 'b1' or B eq 'b2' and C eq '*'"),
                         {"a": {"a1"}, "b": {"b1", "b2"}, "c": None})
        self.assertEqual(mon.parse_filter("deployment eq 'it''s'"), {"deployment": {"it's"}})
        self.assertEqual(mon.parse_filter(""), {})

    def test_time_formats(self):
        self.assertEqual(mon.parse_time("2021-04-20T09:00:00Z"), 1618909200)
        self.assertEqual(mon.parse_time("2021-04-20T09:00:00.1234567Z"), 1618909200.123456)
        self.assertEqual(mon.parse_timespan("2021-04-20T09:00:00Z/PT1H", 0), (1618909200, 1618912800))
        self.assertEqual(mon.parse_timespan("PT1H", 7200), (3600, 7200))
        self.assertEqual(mon.parse_duration("P1DT1M"), 86460)
        # As the Azure CLI sends it: quoted twice, naive times in UTC.
        self.assertEqual(mon.parse_timespan("2021-04-20T09%3A00%3A00.000000%2F2021-04-20T10%3A00%3A00", 0),
                         (1618909200, 1618912800))

    def test_memory_is_bounded(self):
        for i in range(mon.MAX_BUCKETS + 50):
            self.m.record(EP, "blue", 200, 1, T0 + 60 * i)
        self.assertLessEqual(len(self.m.buckets), mon.MAX_BUCKETS)
        for _ in range(mon.MAX_SAMPLES * 3):
            self.m.record(EP, "blue", 200, 1, T0 - 600)
        agg = self.m.buckets[(EP.lower(), "blue", 200, T0 - 600)]
        self.assertEqual((agg.n, len(agg.samples)), (mon.MAX_SAMPLES * 3, mon.MAX_SAMPLES))


def metrics_url(resource, **q):
    q.setdefault("api-version", "2023-10-01")
    return "https://management.azure.com%s/providers/Microsoft.Insights/metrics?%s" % (resource, urllib.parse.urlencode(q))


class MetricsApiTests(SandboxTest):
    def walk(self, r):
        url = r.header("Azure-AsyncOperation")
        wait_for(lambda: call("GET", url, token=self.tok).json()["status"] != "InProgress", 15, 0.1)

    def endpoint_with_blue(self):
        self.walk(call("PUT", ws_url("/onlineEndpoints/mon1"), token=self.tok, body={
            "location": "eastus", "identity": {"type": "SystemAssigned"}, "properties": {"authMode": "Key", "traffic": {}}}))
        call("PUT", ws_url("/models/m/versions/1"), token=self.tok, body={"properties": {
            "modelUri": "azureml://jobs/j1/outputs/artifacts/paths/model/", "modelType": "custom_model"}})
        model = ws_url("/models/m/versions/1").split("?")[0].replace("https://management.azure.com", "")
        self.walk(call("PUT", ws_url("/onlineEndpoints/mon1/deployments/blue"), token=self.tok, body={
            "location": "eastus", "sku": {"name": "Default", "capacity": 1},
            "properties": {"endpointComputeType": "Managed", "model": model, "instanceType": "Standard_DS3_v2"}}))
        self.walk(call("PUT", ws_url("/onlineEndpoints/mon1"), token=self.tok, body={
            "location": "eastus", "identity": {"type": "SystemAssigned"}, "properties": {"authMode": "Key", "traffic": {"blue": 100}}}))
        return call("POST", ws_url("/onlineEndpoints/mon1/listKeys"), token=self.tok).json()["primaryKey"]

    def test_scoring_requests_are_counted(self):
        control("POST", "/config", {"metrics_grain_seconds": 2})
        key = self.endpoint_with_blue()
        start = time.time() - 5
        for _ in range(4):
            self.assertEqual(call("POST", "https://mon1.eastus.inference.ml.azure.com/score", body={"data": [1]}, token=key).status, 200)
        self.assertEqual(call("POST", "https://mon1.eastus.inference.ml.azure.com/score", body={"data": [1]}, token="bad").status, 401)
        resource = ws_url("/onlineEndpoints/mon1").split("?")[0].replace("https://management.azure.com", "")
        ts = "%s/%s" % (mon._iso(start), mon._iso(time.time() + 5))
        r = call("GET", metrics_url(resource, metricnames="RequestsPerMinute", timespan=ts, interval="PT1M", aggregation="Total",
                                    **{"$filter": "deployment eq '*' and statusCodeClass eq '*'"}), token=self.tok)
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.header("x-ms-request-id"))
        [reqs] = r.json()["value"]
        got = {tuple(m["value"] for m in s["metadatavalues"]): sum(p.get("total", 0) for p in s["data"]) for s in reqs["timeseries"]}
        self.assertEqual(got, {("blue", "2xx"): 4, ("", "4xx"): 1})
        r = call("GET", metrics_url(resource, metricnames="RequestLatency_P90", timespan=ts, interval="PT1M", aggregation="Maximum",
                                    **{"$filter": "deployment eq 'blue'"}), token=self.tok)
        [p90] = r.json()["value"]
        self.assertTrue(any("maximum" in p for s in p90["timeseries"] for p in s["data"]), r.body)

    def test_errors_of_the_api(self):
        self.endpoint_with_blue()
        resource = ws_url("/onlineEndpoints/mon1").split("?")[0].replace("https://management.azure.com", "")
        self.assertEqual(call("GET", metrics_url(resource, metricnames="RequestsPerMinute")).status, 401)
        r = call("GET", metrics_url(resource, metricnames="Bogus"), token=self.tok)
        self.assertEqual((r.status, r.json()["code"]), (400, "BadRequest"))
        self.assertIn("Valid metrics: ", r.json()["message"])
        r = call("GET", metrics_url(resource.replace("mon1", "nope")), token=self.tok)
        self.assertEqual((r.status, r.json()["error"]["code"]), (404, "ResourceNotFound"))
        r = call("GET", metrics_url(resource + "/deployments/blue", metricnames="RequestsPerMinute"), token=self.tok)
        self.assertEqual(r.status, 200, r.body)
        r = call("GET", metrics_url(resource, **{"api-version": "1999-01-01"}), token=self.tok)
        self.assertEqual(r.status, 400)
