/* The staff analytics page's charts; the data comes from the page's json_script element. */
(function () {
  "use strict";
  var source = document.getElementById("analytics-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  if (!data.labels) { return; }
  function chart(id, datasets, extra) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    new Chart(canvas, Object.assign({ type: "line", data: { labels: data.labels, datasets: datasets },
      options: { responsive: true, interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true, position: "left" }, y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } } } }, extra || {}));
  }
  var s = data.series;
  chart("chart-gmv", [
    { label: "GMV", data: s.gmv, yAxisID: "y" },
    { label: "Orders", data: s.orders, yAxisID: "y1", type: "bar" }
  ]);
  chart("chart-traffic", [
    { label: "Visitors", data: s.visitors, yAxisID: "y" },
    { label: "Conversion rate", data: s.conversion_rate, yAxisID: "y1" }
  ]);
  chart("chart-revenue", [
    { label: "Platform revenue", data: s.platform_revenue, yAxisID: "y" },
    { label: "Take rate", data: s.take_rate, yAxisID: "y1" }
  ]);
  var sources = document.getElementById("chart-sources");
  if (sources && data.sources.length) {
    new Chart(sources, { type: "doughnut", data: { labels: data.sources.map(function (r) { return r[0]; }),
      datasets: [{ label: "Visitors", data: data.sources.map(function (r) { return r[1]; }) }] } });
  }
})();
