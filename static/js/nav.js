// The main navigation's menu button at narrow widths (site.css shows the button and folds the list
// there; without this script, or without scripts, the list simply stays open). The button says
// whether the list is shown with aria-expanded, which site.css reads. Escape and a click outside close it.
(function () {
  "use strict";
  var button = document.querySelector(".nav-toggle");
  var list = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!list) {
    return;
  }
  var nav = button.parentElement;

  function isOpen() {
    return button.getAttribute("aria-expanded") === "true";
  }

  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  button.addEventListener("click", function () {
    setOpen(!isOpen());
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen()) {
      setOpen(false);
      button.focus();
    }
  });
  document.addEventListener("click", function (event) {
    if (isOpen() && !nav.contains(event.target)) {
      setOpen(false);
    }
  });
  // A page restored from the back-forward cache comes back with the menu closed.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      setOpen(false);
    }
  });
})();
