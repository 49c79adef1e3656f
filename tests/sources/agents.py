"""A program that runs Elastic's real agent in a fresh interpreter.

Its global state stays out of the test process. For tests/sources/test_elastic.py and
tests/pages/test_responses.py."""

from __future__ import annotations

ELASTIC = """
import json, elasticapm, jinja2
from elasticapm.utils.disttracing import TraceParent
import metatrace
metatrace.configure(source={source!r}, public_key="abc", w3c=True)
client = elasticapm.Client(service_name="t", server_url="http://127.0.0.1:9",
    central_config=False, cloud_provider="none", metrics_interval="0ms",
    transport_class="tests.setups.elastic_transport.ElasticRecorder",
    transaction_sample_rate={rate})
out = {{"none": str(metatrace.elastic_page_load())}}
transaction = client.begin_transaction("request", trace_parent={parent})
out["html"] = str(metatrace.trace_meta()) + str(metatrace.elastic_page_load())
jinja = jinja2.Environment(extensions=["metatrace.jinja.TraceMetaExtension"], autoescape=True)
out["jinja"] = jinja.from_string(
    "{{{{ elastic_page_load }}}}|{{{{ elastic_page_load() }}}}").render()
plain = jinja2.Environment(extensions=["metatrace.jinja.TraceMetaExtension"])  # str(), no escape
out["jinja"] += "|" + plain.from_string("{{{{ elastic_page_load }}}}").render()
out["ids"] = [transaction.trace_parent.trace_id, transaction.id, transaction.trace_parent.span_id]
client.end_transaction("GET /")
client.close()
print(json.dumps(out))
"""
