// The review queue: a "tick every result of this unit" button per unit, shown only where
// scripts run (the page works without it). A static file: the site's CSP allows no inline
// script.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-tick-unit]").forEach(function (button) {
    var section = document.getElementById(button.getAttribute("data-tick-unit"));
    button.hidden = false;
    button.addEventListener("click", function () {
      var boxes = section.querySelectorAll("input[type=checkbox][name=result]");
      var all = Array.prototype.every.call(boxes, function (box) { return box.checked; });
      boxes.forEach(function (box) { box.checked = !all; });
    });
  });
});
