// Starts Swagger UI on /docs. It lives in a file of its own, not in the page, so the page's
// Content-Security-Policy can refuse every inline script. The options come from the page's
// JSON block (a data block, which browsers never execute).
const options = JSON.parse(document.getElementById("swagger-ui-options").textContent);
window.ui = SwaggerUIBundle({
  ...options,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
