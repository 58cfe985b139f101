// The theme's colour mode button (light, dark, system settings) cycles through the modes on every click; its
// accessible name says which mode is on, as its icon does ("Color mode: dark"). Loaded on every page (book_ext).
(function () {
  function label() {
    var mode = document.documentElement.dataset.mode || "auto";
    var name = "Color mode: " + (mode === "auto" ? "system settings" : mode);
    document.querySelectorAll(".theme-switch-button").forEach(function (button) {
      if (button.getAttribute("aria-label") !== name) button.setAttribute("aria-label", name);
    });
  }
  new MutationObserver(label).observe(document.documentElement, {
    attributes: true,
    attributeFilter: ["data-mode"],
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", label);
  else label();
})();
