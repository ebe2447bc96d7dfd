// The API explorer: Swagger UI over the served spec, offline. "Try it out" sends the key the
// user logged in with on the dashboard (kept in sessionStorage for this tab only); a key entered
// through "Authorize" takes precedence.
(function () {
  "use strict";
  var key = sessionStorage.getItem("sextant.key");
  if (key) {
    document.getElementById("docs-auth").textContent =
      "Try it out uses the key you logged in with on the dashboard.";
  }
  window.__sextant = window.__sextant || { errors: [], charts: {} };
  window.__sextant.docs = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger",
    deepLinking: true,
    displayOperationId: true,
    tryItOutEnabled: true,
    persistAuthorization: false,
    // The default posts the spec to validator.swagger.io: off, the page works offline.
    validatorUrl: null,
    requestInterceptor: function (req) {
      var k = sessionStorage.getItem("sextant.key");
      if (k && !req.headers.Authorization) {
        req.headers.Authorization = "Bearer " + k;
      }
      return req;
    },
    onComplete: function () {
      document.body.setAttribute("data-ready", "");
    },
  });
})();
