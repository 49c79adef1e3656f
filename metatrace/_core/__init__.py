"""The framework-free core: the wire formats and their names, the settings, the trace context
(a value that renders itself) and the holders of the active one. It imports nothing of
metatrace above it, and no framework."""
