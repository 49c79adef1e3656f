// Browser bundle for the metatrace sample site.
//
// Reads <script id="browser-config" type="application/json">, starts the Sentry browser SDK
// (which continues the server's trace from <meta name="sentry-trace"> / <meta name="baggage">)
// and, when config.otel is true, OpenTelemetry's document-load instrumentation (which reads
// <meta name="traceparent">).
//
// Nothing here ever does network I/O: Sentry envelopes and OTel spans are kept in the page on
// window.__metatraceSample so that tests (and humans, in devtools) can inspect them.
//
// Built by `npm run build` into sample_site/static/sample/browser.js (generated, not committed).

import * as Sentry from '@sentry/browser';
import { parseEnvelope, spanIsSampled } from '@sentry/core';
import { WebTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-web';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';

const CONFIG_ELEMENT_ID = 'browser-config';

const state = {
  ready: false, // true once Sentry.init (and OTel, if asked for) ran without throwing
  config: null,
  errors: [], // strings; anything that went wrong while setting up
  envelopes: [], // [{header, items: [{header, payload}]}], in the order the SDK sent them
  otelSpans: [], // [{name, traceId, spanId, parentSpanId, sampled}]
  pageload: null, // {traceId, spanId, parentSpanId, sampled} of the pageload span Sentry started
  transactions() {
    const out = [];
    for (const envelope of state.envelopes) {
      for (const item of envelope.items) {
        if (item.header && item.header.type === 'transaction') {
          // The envelope header's `trace` is the dynamic sampling context (DSC) sent with it.
          out.push({ ...item.payload, envelopeTrace: envelope.header.trace });
        }
      }
    }
    return out;
  },
  flush,
};
window.__metatraceSample = state;

function recordError(where, error) {
  const message = `${where}: ${error && error.message ? error.message : String(error)}`;
  state.errors.push(message);
  // eslint-disable-next-line no-console
  console.error('[metatrace sample]', message);
}

function readConfig() {
  const element = document.getElementById(CONFIG_ELEMENT_ID);
  if (!element) {
    throw new Error(`no <script id="${CONFIG_ELEMENT_ID}" type="application/json"> on the page`);
  }
  const raw = JSON.parse(element.textContent || 'null');
  if (!raw || typeof raw !== 'object') {
    throw new Error(`#${CONFIG_ELEMENT_ID} does not hold a JSON object`);
  }
  return {
    dsn: typeof raw.dsn === 'string' && raw.dsn ? raw.dsn : undefined,
    tracesSampleRate: typeof raw.tracesSampleRate === 'number' ? raw.tracesSampleRate : 1.0,
    otel: raw.otel === true,
  };
}

// ---------------------------------------------------------------------------------------------
// Sentry: in-page transport
// ---------------------------------------------------------------------------------------------

function bodyToEnvelope(body) {
  const [header, items] = parseEnvelope(body);
  return {
    header,
    items: items.map(([itemHeader, payload]) => ({ header: itemHeader, payload })),
  };
}

function makeInPageTransport(options) {
  return Sentry.createTransport(options, (request) => {
    try {
      const envelope = bodyToEnvelope(request.body);
      state.envelopes.push(envelope);
      for (const item of envelope.items) {
        if (item.header && item.header.type === 'transaction') {
          onTransactionCaptured(item.payload);
        }
      }
    } catch (error) {
      recordError('in-page transport', error);
    }
    return Promise.resolve({ statusCode: 200 });
  });
}

function whenReady(callback) {
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', callback, { once: true });
  } else {
    callback();
  }
}

// The panel's line about the browser's pageload, in words: whether it continues the page's
// trace (same trace id, the server's span as its parent) or started a trace of its own.
function showPageload({ traceId, parentSpanId, sampled }, sent) {
  whenReady(() => {
    const element = document.getElementById('browser-trace');
    if (!element) {
      return;
    }
    const tag = document.querySelector('meta[name="sentry-trace"]');
    const [pageTraceId, pageSpanId] = (tag ? tag.getAttribute('content') : '').split('-');
    const continues = traceId === pageTraceId && parentSpanId === pageSpanId;
    const words = continues
      ? `The browser continues this page's trace: its pageload is in trace ${traceId}, a child of the server's span ${parentSpanId}.`
      : `The browser started a trace of its own (${traceId}): ${tag ? 'it did not continue the sentry-trace tag' : 'the page has no sentry-trace tag to continue'}.`;
    const outcome = !sampled
      ? 'Not sampled: no transaction is sent.'
      : sent
        ? 'Its pageload transaction went to the in-page transport; nothing leaves the machine.'
        : 'Its pageload transaction goes out when the page is idle.';
    element.textContent = `${words} ${outcome}`;
    element.dataset.continues = String(continues);
  });
}

function onTransactionCaptured(event) {
  const traceContext = (event.contexts && event.contexts.trace) || {};
  if (event.contexts && event.contexts.trace && traceContext.op === 'pageload') {
    document.documentElement.dataset.browserTraceId = traceContext.trace_id;
    showPageload(
      { traceId: traceContext.trace_id, parentSpanId: traceContext.parent_span_id, sampled: true },
      true,
    );
  }
}

// The pageload span is the active idle span right after init; keep a handle on it so flush() can
// end it even after the scope moved on.
let pageloadSpan;

/**
 * End the pageload (idle) span now, if it is still running, and wait until every envelope is in
 * `envelopes`. Resolves to the number of transactions captured so far.
 */
async function flush(timeout = 5000) {
  try {
    const span = pageloadSpan;
    const json = span ? Sentry.spanToJSON(span) : undefined;
    if (span && !json.end_timestamp && !json.timestamp) {
      span.end();
    }
    await Sentry.flush(timeout);
  } catch (error) {
    recordError('flush', error);
  }
  return state.transactions().length;
}

function initSentry(config) {
  Sentry.init({
    dsn: config.dsn,
    tracesSampleRate: config.tracesSampleRate,
    // @sentry/browser v11 streams spans ("span" envelope items) by default; 'static' keeps the
    // classic pageload `transaction` event, whose envelope header carries the DSC.
    traceLifecycle: 'static',
    integrations: [Sentry.browserTracingIntegration()],
    transport: makeInPageTransport,
    // No outgoing request of this sample page should carry trace headers anywhere.
    tracePropagationTargets: [],
    sendClientReports: false,
  });
  const active = Sentry.getActiveSpan();
  pageloadSpan = active ? Sentry.getRootSpan(active) : undefined;
  if (pageloadSpan) {
    const { traceId, spanId } = pageloadSpan.spanContext();
    const json = Sentry.spanToJSON(pageloadSpan);
    state.pageload = {
      traceId,
      spanId,
      parentSpanId: json.parent_span_id,
      sampled: spanIsSampled(pageloadSpan),
    };
    showPageload(state.pageload, false);
  }
}

// ---------------------------------------------------------------------------------------------
// OpenTelemetry: in-page exporter + document-load instrumentation
// ---------------------------------------------------------------------------------------------

class InPageSpanExporter {
  export(spans, resultCallback) {
    for (const span of spans) {
      const spanContext = span.spanContext();
      // OTel JS 2.x: ReadableSpan.parentSpanContext (1.x had parentSpanId)
      const parent = span.parentSpanContext || undefined;
      state.otelSpans.push({
        name: span.name,
        traceId: spanContext.traceId,
        spanId: spanContext.spanId,
        parentSpanId: parent ? parent.spanId : span.parentSpanId,
        sampled: (spanContext.traceFlags & 1) === 1,
      });
    }
    resultCallback({ code: 0 }); // ExportResultCode.SUCCESS
  }

  shutdown() {
    return Promise.resolve();
  }

  forceFlush() {
    return Promise.resolve();
  }
}

function initOtel() {
  const provider = new WebTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(new InPageSpanExporter())],
  });
  // Registers the W3C trace-context propagator (used by the document-load instrumentation to
  // extract <meta name="traceparent">) and the StackContextManager. Sentry's browser SDK keeps
  // its own scopes and does not use the OTel API globals, so the two do not interfere.
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [new DocumentLoadInstrumentation()],
  });
  state.otelProvider = provider;
}

// ---------------------------------------------------------------------------------------------

function main() {
  let config;
  try {
    config = readConfig();
    state.config = config;
  } catch (error) {
    recordError('config', error);
    return;
  }
  try {
    initSentry(config);
  } catch (error) {
    recordError('Sentry.init', error);
    return;
  }
  if (config.otel) {
    try {
      initOtel();
    } catch (error) {
      recordError('OpenTelemetry', error);
      return;
    }
  }
  state.ready = true;
  document.documentElement.dataset.metatraceSample = 'ready';
}

main();
