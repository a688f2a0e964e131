// Complaint desk: local times, live countdowns, queue refresh without reload. No build, no dependencies.
(function () {
  "use strict";
  var root = document.documentElement;
  var lang = root.lang || "zh-CN";
  // Countdown words come from the page's catalogue (base.html), so the browser says what the server says.
  var units = (root.getAttribute("data-units") || "d|h|min|s").split("|");
  var leftText = root.getAttribute("data-countdown-left") || "{span} left";
  var overdueText = root.getAttribute("data-countdown-overdue") || "{span} overdue";

  function localize(root) {
    var fmt = new Intl.DateTimeFormat(lang, {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
    });
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) { el.textContent = fmt.format(d); el.title = d.toString(); }
    });
  }

  // A duration, never like a clock: "4 分 05 秒" / "4 min 05 s", "1 小时 05 分", "2 天 3 小时" (as ui/i18n.py).
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
      m = Math.floor((s % 3600) / 60), sec = s % 60;
    function p(n) { return (n < 10 ? "0" : "") + n; }
    if (d > 0) return d + " " + units[0] + " " + h + " " + units[1];
    if (h > 0) return h + " " + units[1] + " " + p(m) + " " + units[2];
    if (m > 0) return m + " " + units[2] + " " + p(sec) + " " + units[3];
    return sec + " " + units[3];
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      var left = due - now;
      var warnAt = Date.parse(el.getAttribute("data-warn") || "");
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && ((!isNaN(warnAt) && now >= warnAt) || left < 15 * 60 * 1000));
      el.textContent = (left < 0 ? overdueText : leftText).replace("{span}", span(left));
    });
  }

  function poll(el) {
    var url = el.getAttribute("data-poll-url"), every = parseInt(el.getAttribute("data-poll-ms") || "5000", 10);
    setInterval(function () {
      if (document.hidden) return;
      if (el.querySelector("input[type=checkbox]:checked")) return;  // a bulk selection must survive
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) return;
          el.innerHTML = html;
          localize(el); tick();
          var stamp = document.getElementById("refreshed-at");
          if (stamp) stamp.textContent = new Date().toLocaleTimeString(lang);
        })
        .catch(function () {});
    }, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
    tick();
    setInterval(tick, 1000);
    document.querySelectorAll("[data-poll-url]").forEach(poll);
    // The conversation's system steps are hidden until asked for.
    document.querySelectorAll("[data-toggle-system]").forEach(function (box) {
      box.addEventListener("change", function () {
        var c = box.closest("section"); if (c) c.classList.toggle("show-system", box.checked);
      });
    });
    // A canned reply fills the reply box (placeholders already filled in); the person edits it before sending.
    document.querySelectorAll("[data-canned-into]").forEach(function (picker) {
      picker.addEventListener("change", function () {
        var box = document.getElementById(picker.getAttribute("data-canned-into"));
        if (box && picker.value) { box.value = picker.value; box.focus(); }
      });
    });
    // The complaint page: offer a reload (never force one: a half-filled form must survive) when it changed.
    // The baseline is read a few seconds after load, so the ledger write of one's own action is not news.
    var changed = document.getElementById("changed");
    if (changed) {
      var baseline = null;
      var check = function () {
        if (document.hidden || !changed.hidden) return;
        fetch(changed.getAttribute("data-version-url"), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (v) {
            if (!v) return;
            if (baseline === null) baseline = v; else if (v !== baseline) changed.hidden = false;
          })
          .catch(function () {});
      };
      setTimeout(check, 3000);
      setInterval(check, 10000);
    }
    // The browser's zone, remembered so server-rendered CSV and pages can use it.
    try {
      var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (tz) document.cookie = "desk_tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax";
    } catch (e) {}
  });
})();
