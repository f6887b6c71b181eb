// Book Commerce: the little JavaScript the pages need (no inline scripts anywhere).
(function () {
  "use strict";
  var pending = 0;
  function setLoading(delta) {
    pending = Math.max(0, pending + delta);
    document.documentElement.classList.toggle("is-loading", pending > 0);
  }
  document.addEventListener("htmx:before:request", function () { setLoading(1); });
  document.addEventListener("htmx:finally:request", function () { setLoading(-1); });

  // Server responses send HX-Trigger: {"toast": {"message": "...", "level": "success"}}.
  document.addEventListener("toast", function (event) {
    var detail = event.detail || {};
    var box = document.getElementById("toasts");
    if (!box || !detail.message) return;
    var toast = document.createElement("p");
    toast.className = "toast toast-" + (detail.level || "success");
    toast.textContent = detail.message;
    box.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 5000);
  });

  // Phones show tables as stacked rows; label each cell with its column's heading unless the
  // template gave one (data-label). Without JavaScript the rows still read, just unlabelled.
  function labelTableCells(root) {
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll("table").forEach(function (table) {
      var headings = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      if (!headings.length) return;
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, index) {
          if (cell.tagName === "TD" && !cell.hasAttribute("data-label") && headings[index]) {
            cell.setAttribute("data-label", headings[index]);
          }
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { labelTableCells(document); });
  document.addEventListener("htmx:after:swap", function (event) { labelTableCells(event.target); });

  // After htmx swaps a form back with errors, move focus to the first invalid field.
  document.addEventListener("htmx:after:swap", function (event) {
    var target = event.target;
    if (!target || !target.querySelector) return;
    var invalid = target.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
  });
})();
