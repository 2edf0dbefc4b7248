"""OpenTelemetry: traces across the gateway, NATS request-reply, the outbox and JetStream.

W3C trace context travels in NATS headers (`traceparent` only: inbound baggage is never
propagated, so nothing about a person can ride along).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
_configured = False


def setup_tracing(service: str, otlp_endpoint: str | None) -> None:
    """Install a tracer provider once per process; export over OTLP only when configured."""
    global _configured
    if _configured or not otlp_endpoint:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    trace.set_tracer_provider(provider)
    _configured = True


def shutdown_tracing() -> None:
    """Export every span still buffered; called when a process stops."""
    provider = trace.get_tracer_provider()
    if _configured and isinstance(provider, TracerProvider):
        provider.shutdown()


@functools.cache
def tracer() -> trace.Tracer:
    """Suara's tracer, asked once: before a provider is installed it is a proxy that follows
    the provider installed later. (`get_tracer` looked the provider up in the environment on
    every call, two in a hundred of intake's samples under load.)"""
    return trace.get_tracer("suara")


def inject(headers: dict[str, str]) -> dict[str, str]:
    """Add the current span's `traceparent` to NATS headers."""
    _PROPAGATOR.inject(headers)
    return headers


def current_traceparent() -> str | None:
    """The `traceparent` of the current span, to keep with an outbox row."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def extract(headers: Mapping[str, str] | None) -> otel_context.Context:
    """The remote parent context carried by NATS headers (empty if none)."""
    carrier = {"traceparent": headers["traceparent"]} if headers and "traceparent" in headers else {}
    return _PROPAGATOR.extract(carrier)


def _attrs(operation: str, subject: str, message_id: str | None, group: str | None) -> dict:
    attrs = {
        "messaging.system": "nats",
        "messaging.destination.name": subject,
        "messaging.operation.type": operation,
    }
    if message_id:
        attrs["messaging.message.id"] = message_id
    if group:
        attrs["messaging.consumer.group.name"] = group
    return attrs


@contextmanager
def producer_span(subject: str, message_id: str | None = None,
                  parent: otel_context.Context | None = None) -> Iterator[Span]:
    """A PRODUCER span for a publish or request; inject headers inside it."""
    with tracer().start_as_current_span(
        f"send {subject}", context=parent, kind=SpanKind.PRODUCER,
        attributes=_attrs("send", subject, message_id, None),
    ) as span:
        yield span


@contextmanager
def consumer_span(subject: str, headers: Mapping[str, str] | None,
                  message_id: str | None = None, group: str | None = None,
                  kind: SpanKind = SpanKind.CONSUMER) -> Iterator[Span]:
    """A CONSUMER (or SERVER) span, child of the context in the message headers."""
    with tracer().start_as_current_span(
        f"process {subject}", context=extract(headers), kind=kind,
        attributes=_attrs("process", subject, message_id, group),
    ) as span:
        yield span
