// @sentry/core as a reader, for tests/test_differential.py: one process per test session.
//
// Usage: node sentry_core_reader.mjs FRONTEND_DIR   (the folder whose node_modules has @sentry/core)
// Reads one JSON object per line on stdin: {"sentry_trace": string|null, "baggage": string|null}.
// Writes one JSON object per line on stdout, in the same order:
//   {"context": what propagationContextFromHeaders makes of both (traceId, parentSpanId, sampled,
//               dsc, sampleRand), "continued": whether it continues the sentry-trace (it does
//               when extractTraceparentData finds a trace id), "dsc":
//               baggageHeaderToDynamicSamplingContext(baggage)}
// Absent values (undefined) are written as null.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const require = createRequire(join(resolve(process.argv[2]), 'package.json'));
const core = require('@sentry/core');

function read({ sentry_trace: sentryTrace, baggage }) {
  const context = core.propagationContextFromHeaders(sentryTrace ?? undefined, baggage ?? undefined);
  return {
    context: {
      traceId: context.traceId,
      parentSpanId: context.parentSpanId ?? null,
      sampled: context.sampled ?? null,
      dsc: context.dsc ?? null,
      sampleRand: context.sampleRand,
    },
    continued: Boolean(core.extractTraceparentData(sentryTrace ?? undefined)?.traceId),
    dsc: core.baggageHeaderToDynamicSamplingContext(baggage ?? undefined) ?? null,
  };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  let answer;
  try {
    answer = read(JSON.parse(line));
  } catch (error) {
    answer = { error: String(error && error.stack ? error.stack : error) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
