// The job page's progress: reads the job's JSON status every 1.5 s and updates the <progress>
// bar and its text; when the job ends, reloads the page, which then shows the download link,
// the reason it failed, or that it was cancelled. A static file: no inline script (CSP).
(function () {
  "use strict";
  var box = document.querySelector(".job[data-status-url]");
  if (!box || box.getAttribute("data-active") !== "1") { return; }
  var auto = box.querySelector("[data-auto-update]");
  if (auto) { auto.hidden = false; }
  var url = box.getAttribute("data-status-url");
  var bar = box.querySelector("progress");
  var count = box.querySelector(".job-count");
  var step = box.querySelector(".job-step");
  var state = box.querySelector(".job-state");

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          // An error comes as {"error", "request_id"}: signed out, or no longer this user's
          // to see, asking again will not change (shown, polling stops); a server error or
          // the database away (5xx) may pass, so it is asked again later.
          if (response.ok) { return body; }
          if (response.status >= 500) { throw new Error(body.error); }
          state.textContent = body.error;
          return null;
        });
      })
      .then(function (status) {
        if (status === null) { return; }
        if (status.finished) { window.location.reload(); return; }
        if (status.total) { bar.max = status.total; }
        bar.value = status.done;
        bar.textContent = status.percent + "%";
        count.textContent = status.done + " / " + status.total;
        step.textContent = status.step || "";
        state.textContent = status.state_label;
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1500);
})();
