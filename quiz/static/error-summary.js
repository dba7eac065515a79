// The error summary (templates/_error_summary.html), as GOV.UK and the NL Design
// System do it: on a page with errors the focus starts on the summary, so a screen
// reader reads the problems first and the keyboard starts there; a link in it
// focuses its field (a plain #link would only scroll) and keeps the field's
// label or legend in view. Without JavaScript the page still works.
(function () {
  function labelFor(field) {
    var fieldset = field.closest("fieldset");
    if (field.type === "radio" || field.type === "checkbox") {
      if (fieldset && fieldset.querySelector("legend")) return fieldset.querySelector("legend");
    }
    return document.querySelector('label[for="' + CSS.escape(field.id) + '"]');
  }

  function init() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) return;
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest('a[href^="#"]');
      if (!link) return;
      var field = document.getElementById(decodeURIComponent(link.hash.slice(1)));
      if (!field) return;
      event.preventDefault();
      (labelFor(field) || field).scrollIntoView();
      field.focus({ preventScroll: true });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
