// Loaded first (classic script): collects every error the page raises so a test can assert none.
(function () {
  'use strict';
  var s = (window.__sextant = window.__sextant || { errors: [], charts: {} });
  s.errors = s.errors || [];
  s.charts = s.charts || {};
  function str(x) {
    if (x instanceof Error) return x.name + ': ' + x.message;
    if (typeof x === 'string') return x;
    try { return JSON.stringify(x); } catch (e) { return String(x); }
  }
  function push(msg) { s.errors.push(String(msg)); }
  // Capture phase: sees resource load failures (which do not bubble) as well as script errors.
  window.addEventListener('error', function (ev) {
    var t = ev.target;
    if (t && t !== window && t.tagName && /^(SCRIPT|LINK|IMG)$/.test(t.tagName)) {
      push('failed to load ' + t.tagName.toLowerCase() + ': ' + (t.src || t.href || ''));
    } else {
      push('error: ' + (ev.message || str(ev.error)) + (ev.filename ? ' at ' + ev.filename + ':' + ev.lineno : ''));
    }
  }, true);
  window.addEventListener('unhandledrejection', function (ev) {
    push('unhandled rejection: ' + str(ev.reason));
  });
  var orig = console.error;
  console.error = function () {
    var parts = [];
    for (var i = 0; i < arguments.length; i++) parts.push(str(arguments[i]));
    push('console.error: ' + parts.join(' '));
    return orig.apply(console, arguments);
  };
})();
