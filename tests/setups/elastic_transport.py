"""A TRANSPORT_CLASS for Elastic's APM agent that records each transaction (see tracers.py)
instead of sending it: nothing leaves the machine."""

from __future__ import annotations

from typing import Any

from elasticapm.transport.base import Transport

from .tracers import _record


class ElasticRecorder(Transport):  # type: ignore[misc]
    def queue(self, event_type: str, data: dict[str, Any], flush: bool = False) -> None:
        if event_type == "transaction":
            _record(
                {
                    "name": data.get("name"),
                    "trace_id": data["trace_id"],
                    "span_id": data["id"],
                    "parent_span_id": data.get("parent_id"),
                    "sampled": data.get("sampled"),
                }
            )

    # No thread sends anything.
    def start_thread(self, pid: int | None = None) -> None:
        pass

    def stop_thread(self) -> None:
        pass

    def close(self) -> None:
        pass

    def flush(self) -> None:
        pass
