// The status page's only script, served from /status/static/status.js (the CSP allows no inline
// script). Values come from data- attributes and are used as text, never as code or markup.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-replay-id")) return;
  if (!window.confirm("Replay " + form.getAttribute("data-replay-id") + "?")) event.preventDefault();
});
