// Quick replies: choosing one fills the reply box (the text comes from the option's data attribute).
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select.matches || !select.matches("select[data-fill]")) { return; }
  var option = select.options[select.selectedIndex];
  var box = document.getElementById(select.getAttribute("data-fill"));
  if (box && option && option.getAttribute("data-text") !== null) { box.value = option.getAttribute("data-text"); box.focus(); }
});
