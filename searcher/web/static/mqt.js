// mqt: progressive enhancement only. Every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    // Changing the sort order applies it at once (without script there is a "Sort" button).
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
    // Empty fields are left out of the URL, so shared links stay short.
    document.querySelectorAll("form[method=get]").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("input[name]").forEach(function (input) {
          if (input.value === "") { input.disabled = true; }
        });
        // Back to this page, the inputs must work again.
        window.setTimeout(function () {
          form.querySelectorAll("input[name]").forEach(function (input) { input.disabled = false; });
        }, 0);
      });
    });
    // "/" moves to the search box, as on many search sites.
    var box = document.getElementById("q");
    document.addEventListener("keydown", function (e) {
      var t = e.target && e.target.tagName;
      if (e.key === "/" && box && t !== "INPUT" && t !== "TEXTAREA" && t !== "SELECT" && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        box.focus();
        box.select();
      }
    });
  });
})();
