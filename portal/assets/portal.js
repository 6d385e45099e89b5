// ptu portal: dialogs, confirmations and charts. Everything works with the
// keyboard: a dialog opened with showModal() takes the focus, Escape closes
// it, and closing it gives the focus back to the button that opened it.
(function () {
  "use strict";

  function openDialog(dlg, opener) {
    if (!dlg || dlg.open) return;
    dlg._opener = opener || document.activeElement;
    dlg.showModal();
    var first = dlg.querySelector("[autofocus]") || dlg.querySelector("input:not([type=hidden]):not([readonly]), select, textarea, button");
    if (first) first.focus();
  }

  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-dialog]");
    if (btn) {
      var dlg = document.getElementById(btn.getAttribute("data-dialog"));
      // data-set-<field>="value" presets a field of the dialog's form.
      Array.prototype.forEach.call(btn.attributes, function (a) {
        if (a.name.indexOf("data-set-") !== 0) return;
        var f = dlg.querySelector("[name=" + a.name.slice(9) + "]");
        if (f) f.value = a.value.replace(/,/g, "");
      });
      openDialog(dlg, btn);
      return;
    }
    var close = e.target.closest("[data-close]");
    if (close) {
      var d = close.closest("dialog");
      if (d) d.close();
    }
  });

  document.addEventListener("close", function (e) {
    var dlg = e.target;
    if (dlg.tagName === "DIALOG" && dlg._opener && document.contains(dlg._opener)) dlg._opener.focus();
  }, true);

  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  });

  function openOnLoad(root) {
    var dlg = (root || document).querySelector("dialog[data-open]");
    if (dlg) openDialog(dlg, null);
  }

  // Charts: uPlot over the series the page embeds (#chart-data).
  var palette = ["#0f6cbd", "#c4314b", "#2e7d32", "#8a5a00", "#6b3fa0", "#00838f", "#ad1457", "#455a64"];
  var plots = [];
  var axisFont = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
  var measure = document.createElement("canvas").getContext("2d");

  // An axis label: grouped thousands, large counts shortened (177.4k, not
  // 177400), latency in ms, utilization in %.
  function axisLabel(v, unit) {
    var a = Math.abs(v), s;
    if (a >= 1e6) s = +(v / 1e6).toFixed(1) + "M";
    else if (a >= 1e4) s = +(v / 1e3).toFixed(1) + "k";
    else s = v.toLocaleString("en-US", { maximumFractionDigits: 2 });
    return s + (unit === "Percent" ? " %" : unit === "MilliSeconds" ? " ms" : "");
  }

  // The y axis is as wide as its longest label, so none is clipped.
  function axisWidth(u, values) {
    if (!values || !values.length) return 40;
    measure.font = axisFont;
    var w = 0;
    values.forEach(function (v) { w = Math.max(w, measure.measureText(v).width); });
    return Math.ceil(w) + 22; // tick and gap
  }

  function drawCharts() {
    var el = document.getElementById("chart-data");
    if (!el || typeof uPlot === "undefined") return;
    plots.forEach(function (p) { p.destroy(); });
    plots = [];
    var charts = JSON.parse(el.textContent) || [];
    charts.forEach(function (c) {
      var box = document.querySelector('[data-chart="' + c.id + '"]');
      if (!box) return;
      box.textContent = "";
      if (!c.times || c.times.length === 0 || !c.series || c.series.length === 0) {
        box.innerHTML = '<p class="muted">No data in this time range.</p>';
        box.setAttribute("data-drawn", "0");
        return;
      }
      var data = [c.times].concat(c.series.map(function (s) { return s.values; }));
      var series = [{}].concat(c.series.map(function (s, i) {
        return { label: s.label, stroke: palette[i % palette.length], width: 2, spanGaps: false, points: { show: c.times.length < 40 } };
      }));
      var opts = {
        width: Math.max(280, box.clientWidth || 600), height: 240,
        series: series,
        axes: [{ font: axisFont }, { font: axisFont, size: axisWidth,
          values: function (u, vals) { return vals.map(function (v) { return axisLabel(v, c.unit); }); } }],
        scales: { y: { range: function (u, min, max) { return [0, Math.max(c.unit === "Percent" ? 100 : 1, max * 1.1)]; } } }
      };
      var p = new uPlot(opts, data, box);
      box.setAttribute("data-drawn", String(c.series.length));
      plots.push(p);
    });
  }

  window.addEventListener("resize", function () {
    plots.forEach(function (p) {
      var box = p.root.parentNode;
      p.setSize({ width: Math.max(280, box.clientWidth), height: 240 });
    });
  });

  document.addEventListener("DOMContentLoaded", function () { openOnLoad(); drawCharts(); });
  document.addEventListener("htmx:afterSettle", function (e) {
    openOnLoad(e.target);
    if (document.querySelector("[data-chart]:not([data-drawn])")) drawCharts();
  });
})();
