"""What only the Django app needs, beside the modules Django looks for by name (apps, checks,
conf, middleware, context_processors, templatetags): its cache middleware rehearsed, and
OpenTelemetry's propagators for a site without OpenTelemetry's Django instrumentation."""
