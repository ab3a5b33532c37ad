// Small progressive enhancements; every page works without this file.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.classList && el.classList.contains("autosubmit") && el.form) { el.form.submit(); }
});
document.addEventListener("click", function (event) {
  var el = event.target.closest ? event.target.closest("[data-confirm]") : null;
  if (el && !window.confirm(el.getAttribute("data-confirm"))) { event.preventDefault(); }
});
