/* The Harbour Ledger: a stand-in for an analytics tag. It measures nothing and sends
   nothing; it only shows that it was allowed to run. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.dataset.analytics = "loaded";

  function mark() {
    var status = document.getElementById("analytics-status");
    if (status) {
      status.textContent = "Analytics: active";
      status.classList.add("is-active");
    }
    if (window.demoAnalyticsInline === true) {
      root.dataset.analyticsInline = "ran";
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mark);
  } else {
    mark();
  }
})();
