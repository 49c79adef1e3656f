// Reads the trace meta tags, as a browser SDK would, and shows them in the page's panel.
(function () {
  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.getAttribute("content") : null;
  }
  function show(id, text) {
    var cell = document.getElementById(id);
    if (cell) cell.textContent = text;
  }
  var sentryTrace = meta("sentry-trace") || "";
  var parts = sentryTrace.split("-");
  show("panel-trace-id", parts[0] ||
    "(no sentry-trace tag: no trace came in and the server has no DSN, so the browser starts the trace)");
  show("panel-span-id", parts[1] || "");
  show("panel-sampled", parts.length > 2 ? (parts[2] === "1" ? "yes" : "no") : "deferred: the browser decides");
  var baggage = meta("baggage");
  show("panel-baggage", baggage === null ? "(no tag)" :
    baggage.split(",").map(function (item) {
      var pair = item.split("=");
      return pair[0] + " = " + decodeURIComponent(pair.slice(1).join("="));
    }).join("\n"));
  show("panel-traceparent", meta("traceparent") || "(W3C output is off)");
})();
