// The two names that ../src/browser.js takes from @opentelemetry/sdk-trace-web 2, made from
// OpenTelemetry JS 3, which the document-load instrumentation needs from 0.69 on: there,
// TracerProvider has no register(), SimpleSpanProcessor takes {exporter}, and no web tracer
// provider has been published yet (sdk-trace-web 2.12 accepts only @opentelemetry/api < 1.10).
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { SimpleSpanProcessor as SpanProcessor3, TracerProvider } from '@opentelemetry/sdk-trace';

// What register() installed in 2: a context manager that keeps the context active for the
// length of a synchronous call (the document-load span's parent is the <meta> traceparent).
class StackContextManager {
  constructor() {
    this.stack = [];
  }
  active() {
    return this.stack[this.stack.length - 1] || context.ROOT_CONTEXT || rootContext();
  }
  with(ctx, fn, thisArg, ...args) {
    this.stack.push(ctx);
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.stack.pop();
    }
  }
  bind(ctx, target) {
    return typeof target === 'function' ? (...args) => this.with(ctx, () => target(...args)) : target;
  }
  enable() {
    return this;
  }
  disable() {
    this.stack = [];
    return this;
  }
}

function rootContext() {
  return trace.deleteSpan(context.active());
}

export class WebTracerProvider extends TracerProvider {
  register() {
    trace.setGlobalTracerProvider(this);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    context.setGlobalContextManager(new StackContextManager());
  }
}

// 2 takes the exporter itself; 3 takes {exporter}.
export class SimpleSpanProcessor extends SpanProcessor3 {
  constructor(exporter) {
    super({ exporter });
  }
}
