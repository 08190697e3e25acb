// ddbkit console, explore form: name the chosen index's key attributes (and types) in the key fields.
(function () {
  "use strict";
  var index = document.getElementById("index");
  if (!index) { return; }
  function update() {
    var option = index.options[index.selectedIndex];
    var range = option.getAttribute("data-range");
    document.getElementById("pk").placeholder = option.getAttribute("data-hash");
    document.getElementById("sk").placeholder = range || "no sort key";
    document.getElementById("sk").disabled = !range;
    document.getElementById("sk2").disabled = !range;
    document.getElementById("sk_op").disabled = !range;
  }
  index.addEventListener("change", update);
  update();
})();
