// Progressive enhancements; every page works without this file.
(function () {
  "use strict";

  function stepTitle() { return document.getElementById("step-title"); }

  // After htmx swaps in a new step, move focus to its heading so screen-reader and keyboard
  // users start at the new step.
  // A form shown again with errors puts its error summary first.
  function focusStart() {
    var target = document.querySelector(".error-summary") || stepTitle();
    if (target) { target.focus(); }
  }
  document.addEventListener("htmx:after:settle", function () {
    focusStart();
    reveal();
  });

  // Things that only work with JavaScript are hidden in the HTML and shown here.
  function reveal() {
    document.querySelectorAll(".keys, .print-button, .copy-link").forEach(function (el) {
      el.hidden = false;
    });
  }

  // In an intranet frame: tell the host page our height, only at the origins allowed to frame
  // us (WORKUP_FRAME_ANCESTORS); postMessage delivers nothing to any other origin.
  var origins = (document.body.getAttribute("data-parent-origins") || "").split(/\s+/)
    .filter(function (o) { return /^https?:\/\//.test(o); });
  var lastHeight = 0;
  function postHeight() {
    if (window.parent === window || !origins.length) { return; }
    var height = Math.ceil(document.documentElement.scrollHeight);
    if (height === lastHeight) { return; }
    lastHeight = height;
    origins.forEach(function (origin) {
      window.parent.postMessage({ type: "hypocalcemia-workup:height", height: height }, origin);
    });
  }
  if (window.ResizeObserver) { new ResizeObserver(postHeight).observe(document.body); }
  document.addEventListener("htmx:after:settle", postHeight);

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".print-button");
    if (button) { window.print(); }
    var copy = event.target.closest && event.target.closest(".copy-link");
    if (copy) {
      var url = new URL(copy.getAttribute("data-url"), window.location.href).href;
      var status = copy.parentNode.querySelector(".copy-status");
      var done = function (text) { if (status) { status.textContent = text; } };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(url).then(
          function () { done("Link copied."); },
          function () { done("Copy this link: " + url); });
      } else {
        done("Copy this link: " + url);
      }
    }
  });

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select") { return true; }
    if (tag === "input") {
      var type = (target.getAttribute("type") || "text").toLowerCase();
      return ["radio", "checkbox", "submit", "button", "hidden"].indexOf(type) === -1;
    }
    return target.isContentEditable;
  }

  var GROUPS = "fieldset.field-choice, fieldset.field-checklist, .field-ack";

  function activeGroup(form) {
    var groups = Array.prototype.slice.call(form.querySelectorAll(GROUPS));
    if (!groups.length) { return null; }
    var focused = document.activeElement && document.activeElement.closest &&
      document.activeElement.closest(GROUPS);
    if (focused && groups.indexOf(focused) !== -1) { return focused; }
    for (var i = 0; i < groups.length; i++) {
      if (!groups[i].querySelector("input:checked")) { return groups[i]; }
    }
    return groups[0];
  }

  function follow(selector) {
    var link = document.querySelector(selector);
    if (link) { link.click(); }
  }

  var restartArmed = 0;

  // The shortcut a key stands for, whatever the keyboard's script: a Latin letter or digit as
  // typed (so Dvorak or AZERTY users press the letter they see), otherwise the key's place on
  // the keyboard (`event.code`), so that on an Arabic or Cyrillic layout the key where B sits
  // still goes back and the digit row still chooses; digits of other scripts read as 0-9.
  function shortcut(event) {
    var key = event.key || "";
    if (key.length !== 1 || /^[0-9A-Za-z ]$/.test(key)) { return key; }
    var code = /^(?:Digit|Numpad)([0-9])$|^Key([A-Z])$/.exec(event.code || "");
    if (code) { return code[1] || code[2].toLowerCase(); }
    var digit = Math.max("٠١٢٣٤٥٦٧٨٩".indexOf(key), "۰۱۲۳۴۵۶۷۸۹".indexOf(key));
    return digit >= 0 ? String(digit) : key;
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var form = document.querySelector("#step form.step-form");
    var key = shortcut(event);
    // Enter on a unit choice submits the step, as it does in the number beside it.
    if (key === "Enter" && event.target.tagName === "SELECT" && event.target.form) {
      event.preventDefault();
      event.target.form.requestSubmit();
      return;
    }
    if (typing(event.target)) { return; }
    if (form && /^[0-9]$/.test(key)) {
      var group = activeGroup(form);
      if (!group) { return; }
      var inputs = group.querySelectorAll("input[type=radio], input[type=checkbox]");
      if (key === "0") {  // "None of these": focus its button; Enter presses it
        var none = form.querySelector("button.none-of-these");
        if (none) { event.preventDefault(); none.focus(); }
        return;
      }
      var input = inputs[Number(key) - 1];
      if (input) {
        event.preventDefault();
        input.checked = input.type === "checkbox" ? !input.checked : true;
        input.dispatchEvent(new Event("change", { bubbles: true }));
        if (group.classList.contains("field-checklist")) {
          input.focus();  // a list takes several ticks: stay in it
        } else {
          var groups = Array.prototype.slice.call(form.querySelectorAll(GROUPS));
          var next = groups[groups.indexOf(group) + 1];
          var target = next ? next.querySelector("input") : input;
          target.focus();
        }
      }
      return;
    }
    if (key === "Enter" && form && form.contains(event.target) && event.target.tagName !== "BUTTON" &&
        event.target.tagName !== "A") {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    // Teaching cases: 1-9 the class's prediction, Space reveals, N next.
    if (!form && document.querySelector(".teach")) {
      if (/^[1-9]$/.test(key)) {
        var guess = document.querySelector('a.guess-link[data-n="' + key + '"]');
        if (guess) { event.preventDefault(); guess.click(); }
        return;
      }
      if (key === " " && document.querySelector("a.reveal-link")) {
        event.preventDefault();
        follow("a.reveal-link");
        return;
      }
      if (key === "n" || key === "N") { follow("a.next-link"); return; }
    }
    if (key === "b" || key === "B") { follow("a.back-link"); }
    else if (key === "r" || key === "R") {
      // Starting again drops every answer: ask first (R again within 4 s confirms).
      var note = document.querySelector(".restart-confirm");
      if (Date.now() - restartArmed < 4000) {
        restartArmed = 0;
        follow("a.restart-link");
      } else if (note) {
        restartArmed = Date.now();
        note.hidden = false;
        note.textContent = "Start again and clear every answer? Press R again to confirm.";
        window.setTimeout(function () { note.hidden = true; }, 4000);
      }
    }
    else if (key === "m" || key === "M") { follow("a.map-open"); }
  });

  // The flowchart opens on "you are here".
  function centreFlowchart() {
    var here = document.querySelector(".flowchart .node.current");
    if (here && here.scrollIntoView) { here.scrollIntoView({ block: "center", inline: "center" }); }
  }

  // The FHIR import: a chosen file is read into the text box (the form posts text).
  var file = document.getElementById("fhir-file");
  if (file && window.FileReader) {
    file.hidden = false;
    file.addEventListener("change", function () {
      if (!file.files || !file.files[0]) { return; }
      var reader = new FileReader();
      reader.onload = function () { document.getElementById("fhir-bundle").value = reader.result; };
      reader.readAsText(file.files[0]);
    });
  }

  function loaded() {
    reveal();
    centreFlowchart();
    if (document.querySelector(".error-summary")) { focusStart(); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", loaded);
  } else {
    loaded();
  }
})();
