/* The unit quarter page (templates/performance/unit_quarter.html): leaving it with typed values
   not yet saved asks first. Uploading a file goes through htmx and leaves the page (and what is
   typed) as it is; only the save form's own submission clears the question. */
(function () {
  "use strict";
  var form = document.getElementById("unit-form");
  if (!form) {
    return;
  }
  var dirty = false;
  function mark(event) {
    if (event.target && event.target.form === form) {
      dirty = true;
    }
  }
  document.addEventListener("input", mark);
  document.addEventListener("change", mark);
  form.addEventListener("submit", function () {
    dirty = false;
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
