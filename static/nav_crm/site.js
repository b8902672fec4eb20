// List pages: row selection for bulk actions, "select all matching", auto-submitting selects.
(function () {
  "use strict";

  function setupBulkForm(form) {
    var matchingInput = form.querySelector("[data-select-all-matching-input]");
    var banner = form.querySelector("[data-select-all-matching-banner]");
    var headerBox = form.querySelector("[data-select-all]");
    var rowBoxes = function () { return form.querySelectorAll("[data-select-row]"); };

    function setAllMatching(on) {
      matchingInput.value = on ? "1" : "0";
      if (!banner) { return; }
      banner.querySelector("[data-page-selected-text]").classList.toggle("d-none", on);
      banner.querySelector("[data-select-all-matching]").classList.toggle("d-none", on);
      banner.querySelector("[data-all-matching-text]").classList.toggle("d-none", !on);
    }

    function refresh() {
      var boxes = rowBoxes();
      var checked = Array.prototype.filter.call(boxes, function (box) { return box.checked; }).length;
      var all = boxes.length > 0 && checked === boxes.length;
      if (headerBox) {
        headerBox.checked = all;
        headerBox.indeterminate = checked > 0 && !all;
      }
      if (banner) { banner.classList.toggle("d-none", !all); }
      if (!all) { setAllMatching(false); }
    }

    if (headerBox) {
      headerBox.addEventListener("change", function () {
        rowBoxes().forEach(function (box) { box.checked = headerBox.checked; });
        refresh();
      });
    }
    rowBoxes().forEach(function (box) { box.addEventListener("change", refresh); });
    var selectMatching = form.querySelector("[data-select-all-matching]");
    if (selectMatching) {
      selectMatching.addEventListener("click", function () { setAllMatching(true); });
    }
  }

  function setup() {
    document.querySelectorAll("[data-bulk-form]").forEach(setupBulkForm);
    document.querySelectorAll("[data-autosubmit]").forEach(function (element) {
      element.addEventListener("change", function () {
        if (element.form) { element.form.requestSubmit(); }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
