/* Show only the chosen strategy's parameters; the others are not submitted. */
(function () {
  "use strict";
  const select = document.getElementById("strategy-select");
  if (!select) return;
  function sync() {
    document.querySelectorAll(".strategy-params").forEach((fs) => {
      const on = fs.dataset.strategy === select.value;
      fs.hidden = !on;
      fs.querySelectorAll("input, select").forEach((el) => { el.disabled = !on; });
    });
  }
  select.addEventListener("change", sync);
  sync();
})();
