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

  // After htmx swaps a form back with errors, move focus to the first invalid field.
  document.addEventListener("htmx:after:swap", function (event) {
    var target = event.target;
    if (!target || !target.querySelector) return;
    var invalid = target.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
  });
})();
