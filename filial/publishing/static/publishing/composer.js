// Composer: tell the live previews how many new photos are chosen (the files themselves are not sent
// with a preview request). Runs in the capture phase, before htmx reacts to the same "change" event.
// The composer works without this file: the "Preview" button counts the uploaded files instead.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (!el || el.name !== "photos" || !el.form || !el.files) { return; }
  var hint = el.form.querySelector("input[name=photos_selected]");
  if (hint) { hint.value = String(el.files.length); }
}, true);
