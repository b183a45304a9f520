// Small progressive enhancements; the app works without this file.
// After htmx swaps in a new step, move focus to its heading so screen readers and keyboard
// users start at the new step.
document.addEventListener("htmx:after:settle", function () {
  var heading = document.getElementById("step-title");
  if (heading) { heading.focus({ preventScroll: false }); }
});
