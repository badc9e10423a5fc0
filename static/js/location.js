// Location settings: fill the latitude and longitude fields from the browser's geolocation.
//
// Progressive enhancement only: the button stays hidden without JavaScript or geolocation, and
// typing the two numbers works the same. Nothing is sent until the person presses "Share"; the
// server rounds the position to about a kilometre. Loaded with <script defer>; no inline script
// (the site's CSP forbids it).
(function () {
  "use strict";

  var latitude = document.getElementById("id_latitude");
  var longitude = document.getElementById("id_longitude");

  var button = document.querySelector("[data-locate]");
  if (!button || !latitude || !longitude || !("geolocation" in navigator)) {
    return;
  }
  var status = document.querySelector("[data-locate-status]");
  button.closest("[hidden]").hidden = false;

  function say(text) {
    status.textContent = text;
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    say("Asking your browser where you are\u2026");
    navigator.geolocation.getCurrentPosition(
      function (position) {
        // Two decimals is what the server keeps anyway (~1 km).
        latitude.value = position.coords.latitude.toFixed(2);
        longitude.value = position.coords.longitude.toFixed(2);
        button.disabled = false;
        say("Filled in: save it with the button below.");
      },
      function (error) {
        button.disabled = false;
        say(error.code === error.PERMISSION_DENIED
          ? "Your browser did not allow it. You can type the numbers instead."
          : "Your browser could not find your position. You can type the numbers instead.");
      },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 }
    );
  });
})();
