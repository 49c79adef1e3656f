"""The setups real sites run, each served by a real server for tests/test_setups.py: sentry-sdk
as the tracer (Django, Flask, Starlette), OpenTelemetry's Django instrumentation, no key,
Django's cache middleware in each order, and heads of real size. Each app module is one site;
environment variables pick its variant, since each runs in a server process of its own.
"""
