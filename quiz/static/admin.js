// Small improvements on top of pages that work without JavaScript.
// Ask before leaving the question editor with unsaved changes.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form.question-editor");
  if (!form) return;
  var changed = false;
  form.addEventListener("input", function () { changed = true; });
  form.addEventListener("submit", function () { changed = false; });
  window.addEventListener("beforeunload", function (event) {
    if (changed) { event.preventDefault(); event.returnValue = ""; }
  });
});
